// Entry of a ts cell's worker thread (see ts-cell-thread.ts). Plain JavaScript because a worker
// thread starts without the parent's TypeScript loader; this registers tsx, then loads the worker.
import { register } from 'tsx/esm/api';

register();
await import('./ts-cell-worker.ts');
