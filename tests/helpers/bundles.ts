import type { Db } from '@/db/client';
import { exportOnnx } from '@/server/ml/onnx/export';
import { trainModel } from '@/server/ml/train';
import type { CellValue } from '@/server/ml/types';
import type { Actor } from '@/server/services/context';
import { registerModelVersion } from '@/server/services/models/register-version';
import { auditMetaOf } from '@/server/services/context';
import { ctxFor } from './api';

/**
 * A trained version of `model` (features x: number, kind: category; label y yes/no) with real
 * holdout metrics; `C` changes the fit, so different values give different artifacts.
 */
export async function registerTinyVersion(db: Db, actor: Actor, projectId: string, model: string, C = 1) {
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
  const spec = { algorithm: 'logistic_regression', target: 'y', positiveClass: 'yes', categorical: { minFrequency: 1 }, params: { C } } as const;
  const result = await trainModel(
    { columns: { x, kind, y }, schema: [{ name: 'x', type: 'numeric' }, { name: 'kind', type: 'categorical' }, { name: 'y', type: 'categorical' }] },
    spec,
  );
  const exported = exportOnnx(result.model);
  const ctx = ctxFor(db, actor);
  return ctx.db.transaction((tx) =>
    registerModelVersion(
      tx,
      auditMetaOf(ctx),
      {
        projectId,
        modelName: model,
        source: 'trained',
        bytes: exported.bytes,
        algorithm: 'logistic_regression',
        spec: spec as unknown as Record<string, unknown>,
        featureSchema: exported.schema,
        metrics: { evaluation: result.evaluation, training: result.training },
        trainingData: null,
      },
      { action: 'model.train', details: {} },
    ),
  );
}

export const endpointCell = (id: string, name: string, model: string, description = '') => ({
  id,
  kind: 'endpoint' as const,
  source: `name: ${name}\nmodel: ${model}\n${description ? `description: ${description}\n` : ''}`,
});
export const records = [
  { x: 1.5, kind: 'a' },
  { x: 8, kind: 'b' },
];
