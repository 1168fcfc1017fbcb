import { parentPort, workerData } from 'node:worker_threads';
import { openTsCell, TsCellError, type TsCellInstance, type TsCellLimits } from './ts-cell-sandbox';

/**
 * The worker-thread side of ts-cell-thread.ts: one cell per thread, opened from `workerData`, then
 * one request at a time from the parent. Nothing else runs here, so when the parent terminates the
 * thread (time limit, cancel) nothing of Stagebook is lost with it.
 */
export type TsCellWorkerData = { cellId: string; source: string; limits: TsCellLimits };
export type TsCellRequest = { op: 'transform'; input: string; rows: string } | { op: 'finish' } | { op: 'fixColumns'; columns: string[] };
export type TsCellReply =
  | { ok: true; value: string }
  | { ok: false; cellError: { cellId: string; reason: TsCellError['reason']; detail: string } }
  | { ok: false; error: string };

const port = parentPort;
if (!port) throw new Error('ts-cell-worker runs only as a worker thread');
const { cellId, source, limits } = workerData as TsCellWorkerData;

const failed = (err: unknown): TsCellReply =>
  err instanceof TsCellError ? { ok: false, cellError: { cellId: err.cellId, reason: err.reason, detail: err.detail } } : { ok: false, error: err instanceof Error ? err.message : String(err) };

let cell: TsCellInstance | null = null;
try {
  cell = await openTsCell(cellId, source, limits);
  port.postMessage({ ok: true, value: 'open' } satisfies TsCellReply);
} catch (err) {
  port.postMessage(failed(err));
}

port.on('message', (req: TsCellRequest) => {
  if (!cell) return;
  let reply: TsCellReply;
  try {
    if (req.op === 'transform') reply = { ok: true, value: cell.transform(req.input, req.rows) };
    else if (req.op === 'finish') reply = { ok: true, value: cell.finish() };
    else {
      cell.fixColumns(req.columns);
      reply = { ok: true, value: '' };
    }
  } catch (err) {
    reply = failed(err);
  }
  port.postMessage(reply);
});
