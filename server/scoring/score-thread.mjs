// Entry of a scoring pool thread (see worker-pool.ts). Plain JavaScript: a worker thread starts
// without the parent's TypeScript loader, and this needs nothing but onnxruntime. The parent sends
// model bytes it has already checked (sha256, self-contained ONNX), then runs on them; each run
// answers with its outputs or the error's message.
import { parentPort, workerData } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';

/** Sessions by artifact sha256; the parent decides what is loaded and dropped. */
const sessions = new Map();

async function handle(m) {
  switch (m.kind) {
    case 'load':
      sessions.set(m.sha, await ort.InferenceSession.create(m.bytes, workerData.sessionOptions));
      return {};
    case 'drop':
      sessions.delete(m.sha);
      return null;
    case 'run': {
      const session = sessions.get(m.sha);
      if (!session) throw new Error(`model ${m.sha} is not loaded in this scoring thread`);
      const feeds = {};
      for (const c of m.columns) feeds[c.input] = new ort.Tensor(c.type, c.data, c.dims);
      const out = await session.run(feeds, m.outputs);
      const outputs = {};
      for (const name of m.outputs) outputs[name] = { data: out[name].data, dims: out[name].dims, type: out[name].type };
      return { outputs };
    }
    default:
      throw new Error(`unknown message ${String(m.kind)}`);
  }
}

parentPort.on('message', (m) => {
  handle(m).then(
    (reply) => reply && parentPort.postMessage({ id: m.id, ok: true, ...reply }),
    (err) => parentPort.postMessage({ id: m.id, ok: false, error: err instanceof Error ? err.message : String(err) }),
  );
});
