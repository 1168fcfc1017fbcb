/**
 * What the scoring benches share: one credit record, autocannon run as a child process (its own
 * event loop, so the server measured is not slowed by the load generator), and the baseline's
 * scoring (the model file's session fed straight from the records, as a bare route would).
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import type { FeatureSchema } from '../server/ml/onnx/feature-schema';

/** One applicant of the shared credit data, as a client sends it. */
export const CREDIT_RECORD = {
  seniority: 9,
  home: 'rent',
  time: 60,
  age: 30,
  marital: 'married',
  records: false,
  job: 'freelance',
  expenses: 73,
  income: 129,
  assets: 0,
  debt: 0,
  amount: 800,
  price: 846,
};

const autocannonBin = path.join(import.meta.dirname, '../node_modules/.bin/autocannon');

/** `requests`: how many were answered (2xx or not) in the run. */
export type CannonResult = { rps: number; p50: number; p99: number; non2xx: number; errors: number; requests: number };

/** POSTs `body` to `url` over `connections` connections for `seconds` seconds. */
export function cannon(url: string, body: string, headers: Record<string, string>, seconds: number, connections: number): Promise<CannonResult> {
  const args = ['-j', '-c', String(connections), '-d', String(seconds), '-m', 'POST', '-b', body, '-H', 'content-type=application/json'];
  for (const [k, v] of Object.entries(headers)) args.push('-H', `${k}=${v}`);
  args.push(url);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [autocannonBin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`autocannon exited with ${code}: ${err}`));
      const r = JSON.parse(out) as { requests: { average: number; total: number }; latency: { p50: number; p99: number }; non2xx: number; errors: number };
      resolve({ rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, non2xx: r.non2xx, errors: r.errors, requests: r.requests.total });
    });
  });
}

/** The baseline's scoring: the records straight into the session's tensors, its probabilities back. */
export async function bareScore(session: ort.InferenceSession, schema: FeatureSchema, records: Record<string, unknown>[]) {
  const feeds: Record<string, ort.Tensor> = {};
  for (const f of schema.inputs) {
    const values = records.map((r) => r[f.name]);
    feeds[f.input] =
      f.tensor === 'string'
        ? new ort.Tensor(
            'string',
            values.map((v) => (v == null ? '' : String(v))),
            [records.length, 1],
          )
        : new ort.Tensor(
            'float32',
            Float32Array.from(values, (v) => (v == null ? NaN : Number(v))),
            [records.length, 1],
          );
  }
  const out = await session.run(feeds);
  const p = out[schema.outputs.probabilities]!.data as Float32Array;
  return { predictions: records.map((_, i) => ({ probabilities: { [schema.classes[0]]: p[2 * i], [schema.classes[1]]: p[2 * i + 1] } })) };
}
