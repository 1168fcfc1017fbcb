import { createReadStream } from 'node:fs';
import type { Db } from '@/db/client';
import { exportOnnx } from '@/server/ml/onnx/export';
import { trainModel } from '@/server/ml/train';
import type { CellValue } from '@/server/ml/types';
import type { Actor } from '@/server/services/context';
import { uploadDataset } from '@/server/services/datasets/upload-dataset';
import { createEndpoint } from '@/server/services/endpoints/create-endpoint';
import { importOnnxModel } from '@/server/services/models/import-onnx-model';
import { ctxFor } from './api';
import { creditDataCsv } from './datasets';

/** credit_data.csv as the design dataset `credit` of a project, through the real upload service. */
export async function uploadCredit(db: Db, actor: Actor, projectId: string, name = 'credit') {
  return uploadDataset({ ctx: ctxFor(db, actor), input: { projectId, name, environment: 'design' }, csv: createReadStream(creditDataCsv) });
}

/** A small logistic regression on synthetic data (features x: number, kind: category), as ONNX bytes. */
export async function tinyOnnxModel(): Promise<Uint8Array> {
  const n = 200;
  const x: CellValue[] = [];
  const kind: CellValue[] = [];
  const y: CellValue[] = [];
  for (let i = 0; i < n; i++) {
    const v = ((i * 37) % 100) / 10;
    x.push(v);
    kind.push(i % 3 === 0 ? 'a' : 'b');
    y.push(v + (i % 3 === 0 ? 2 : 0) + ((i * 13) % 7) / 2 > 7 ? 'yes' : 'no');
  }
  const result = await trainModel(
    { columns: { x, kind, y }, schema: [{ name: 'x', type: 'numeric' }, { name: 'kind', type: 'categorical' }, { name: 'y', type: 'categorical' }] },
    { algorithm: 'logistic_regression', target: 'y', positiveClass: 'yes', categorical: { minFrequency: 1 } },
  );
  return exportOnnx(result.model).bytes;
}

/** A model `name` (imported tiny model) and an endpoint serving it. */
export async function tinyEndpoint(db: Db, actor: Actor, projectId: string, endpoint: string, model = `${endpoint}-model`) {
  const ctx = ctxFor(db, actor);
  const registered = await importOnnxModel({ ctx, input: { projectId, name: model }, body: await tinyOnnxModel() });
  const created = await createEndpoint({ ctx, input: { projectId, name: endpoint, model, description: '' } });
  return { registered, endpoint: created };
}

/** AUC by ranks (Mann-Whitney, ties counted half): independent of server/ml's implementation. */
export function rankAuc(y: number[], p: number[]): number {
  const order = p.map((_, i) => i).sort((a, b) => p[a]! - p[b]!);
  const ranks = new Array<number>(p.length);
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && p[order[j + 1]!] === p[order[i]!]) j++;
    for (let k = i; k <= j; k++) ranks[order[k]!] = (i + j) / 2 + 1;
    i = j + 1;
  }
  const positives = y.filter((v) => v === 1).length;
  const sum = ranks.reduce((a, r, i) => a + (y[i] === 1 ? r : 0), 0);
  return (sum - (positives * (positives + 1)) / 2) / (positives * (y.length - positives));
}
