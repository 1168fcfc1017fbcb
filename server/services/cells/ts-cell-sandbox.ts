import { getQuickJS, shouldInterruptAfterDeadline, type QuickJSContext, type QuickJSHandle, type QuickJSRuntime } from 'quickjs-emscripten';

/**
 * Runs a `ts` cell's code in QuickJS (WASM): a separate JavaScript engine with its own heap, so the
 * cell sees nothing of Node. It has no `require`, no module loader (every `import` fails), no
 * `process`, `fetch`, timers, file system or network: none of those exist in QuickJS unless the host
 * exposes them, and we expose nothing but JSON in and JSON out. Limits: a memory limit on the
 * runtime's heap, a stack limit, and a deadline per call into the cell (an interrupt handler checked
 * while the interpreter runs), so an endless loop or a huge allocation ends that cell with an error.
 *
 * The cell's API (see server/pipeline/README.md):
 *
 *   export default function (rows, emit, { input }) { for (const r of rows) emit({ ... }) }
 *   export function finish(emit) { ... }   // optional, after the last batch
 *
 * `transform` may be a named export instead of the default. Module-level variables persist across
 * batches, so a cell can aggregate or join a small input read first.
 */
export type TsCellLimits = {
  /** Heap limit of the cell's runtime. */
  memoryBytes: number;
  /** Longest a single call into the cell (one batch, `finish`, or the module's top level) may run. */
  callTimeMs: number;
  stackBytes: number;
  /**
   * Longest a whole ts step may run, every batch included (enforced by the thread host in
   * ts-cell-thread.ts, which ends the cell's thread). Without it, a cell just under the per-call
   * limit on every batch could hold a build for hours.
   */
  stepTimeMs?: number;
};

export const DEFAULT_TS_CELL_LIMITS: TsCellLimits = { memoryBytes: 128 * 1024 * 1024, callTimeMs: 10_000, stackBytes: 1024 * 1024, stepTimeMs: 60 * 60_000 };

export type TsCellFailure = 'syntax' | 'import' | 'time-limit' | 'memory-limit' | 'recursion' | 'runtime' | 'api';

/** A cell's failure: its message names the cell and, when known, the line in the cell. */
export class TsCellError extends Error {
  constructor(
    readonly cellId: string,
    readonly reason: TsCellFailure,
    readonly detail: string,
  ) {
    super(`ts cell ${cellId}: ${detail}`);
    this.name = 'TsCellError';
  }
}

export type TsCellInstance = {
  /** Runs the cell on one batch of rows (a JSON array) from `input`; returns the emitted rows as a JSON array. */
  transform(input: string, rowsJson: string): string;
  /** Calls the cell's `finish(emit)`, if it has one; returns what it emitted. */
  finish(): string;
  /** Fixes the output columns: from now on a row with another key is an error. */
  fixColumns(columns: string[]): void;
  dispose(): void;
};

const RUNNER = `
const m = globalThis.__sbCell;
delete globalThis.__sbCell;
const transform = typeof m.transform === 'function' ? m.transform : typeof m.default === 'function' ? m.default : null;
if (!transform) throw new __SbApiError('export the transform: \`export default function (rows, emit, { input }) { ... }\` (or \`export function transform\`)');
const finish = typeof m.finish === 'function' ? m.finish : null;
let columns = null;
let out = [];
const emit = (row) => {
  if (row === null || typeof row !== 'object' || Array.isArray(row)) throw new __SbApiError('emit(row) takes one object of column values');
  if (columns !== null) {
    for (const k in row) if (!columns.has(k)) throw new __SbApiError('emitted column "' + k + '", which the first emitted rows did not have (' + [...columns].join(', ') + ')');
  }
  out.push(row);
};
const take = () => { const s = JSON.stringify(out); out = []; return s; };
globalThis.__sbRunner = {
  transform(input, json) { out = []; settle(transform(JSON.parse(json), emit, { input })); return take(); },
  finish() { out = []; if (finish) settle(finish(emit)); return take(); },
  fixColumns(json) { columns = new Set(JSON.parse(json)); },
};
function settle(v) {
  if (v && typeof v.then === 'function') throw new __SbApiError('transform and finish must be synchronous (the sandbox has no timers or I/O to wait for)');
}
`;

const API_ERROR = `globalThis.__SbApiError = class __SbApiError extends Error { constructor(m) { super(m); this.name = '__SbApiError'; } };`;

let quickjs: ReturnType<typeof getQuickJS> | undefined;

/** Compiles and loads a cell; the caller must `dispose()` it. */
export async function openTsCell(cellId: string, source: string, limits: TsCellLimits = DEFAULT_TS_CELL_LIMITS): Promise<TsCellInstance> {
  const compiled = await transpile(cellId, source);
  quickjs ??= getQuickJS();
  const runtime = (await quickjs).newRuntime();
  runtime.setMemoryLimit(limits.memoryBytes);
  runtime.setMaxStackSize(limits.stackBytes);
  let context: QuickJSContext | undefined;
  try {
    context = runtime.newContext();
    const ctx = context;
    const call = <T>(what: string, fn: () => T): T => {
      runtime.setInterruptHandler(shouldInterruptAfterDeadline(Date.now() + limits.callTimeMs));
      try {
        return fn();
      } catch (err) {
        throw hostFailure(cellId, what, err);
      } finally {
        runtime.removeInterruptHandler();
      }
    };
    const unwrap = (what: string, r: ReturnType<QuickJSContext['evalCode']>): QuickJSHandle => {
      if (r.error) {
        const err = dumpError(ctx, r.error);
        r.error.dispose();
        throw describeFailure(cellId, what, err, limits, compiled.lineOf);
      }
      return r.value;
    };
    call('setup', () => unwrap('setup', ctx.evalCode(API_ERROR, 'stagebook-setup.js')).dispose());
    const ns = call('loading the module', () => unwrap('loading the module', ctx.evalCode(compiled.code, `cell-${cellId}.js`, { type: 'module' })));
    ctx.setProp(ctx.global, '__sbCell', ns);
    ns.dispose();
    call('setup', () => unwrap('setup', ctx.evalCode(RUNNER, 'stagebook-runner.js')).dispose());
    const runner = ctx.getProp(ctx.global, '__sbRunner');
    const method = (name: string) => ctx.getProp(runner, name);
    const fns = { transform: method('transform'), finish: method('finish'), fixColumns: method('fixColumns') };
    const invoke = (what: string, fn: QuickJSHandle, args: string[]): string =>
      call(what, () => {
        const handles = args.map((a) => ctx.newString(a));
        try {
          const r = ctx.callFunction(fn, runner, ...handles);
          const value = unwrap(what, r);
          try {
            return ctx.typeof(value) === 'string' ? ctx.getString(value) : '';
          } finally {
            value.dispose();
          }
        } finally {
          for (const h of handles) h.dispose();
        }
      });
    let disposed = false;
    return {
      transform: (input, rowsJson) => invoke(`transform (input ${input})`, fns.transform, [input, rowsJson]),
      finish: () => invoke('finish', fns.finish, []),
      fixColumns: (columns) => void invoke('fixColumns', fns.fixColumns, [JSON.stringify(columns)]),
      dispose() {
        if (disposed) return;
        disposed = true;
        for (const h of [...Object.values(fns), runner]) h.dispose();
        disposeAll(ctx, runtime);
      },
    };
  } catch (err) {
    disposeAll(context, runtime);
    throw err;
  }
}

/**
 * Errors that come from the host rather than from QuickJS: recursion deep enough to exhaust the
 * host's own stack before QuickJS's stack limit trips (QuickJS frames are WASM frames on the host
 * stack), or the WASM module aborting. Either way the cell is at fault and a retry would do the same.
 */
function hostFailure(cellId: string, what: string, err: unknown): unknown {
  if (err instanceof TsCellError) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof RangeError && /call stack/i.test(message)) {
    return new TsCellError(cellId, 'recursion', `${what}: maximum call stack / recursion depth exceeded`);
  }
  if (err instanceof WebAssembly.RuntimeError || /^Aborted\(/.test(message)) {
    return new TsCellError(cellId, 'runtime', `${what} stopped the sandbox (${message.slice(0, 200)}); deep recursion or a runaway allocation can do this`);
  }
  return err;
}

function disposeAll(context: QuickJSContext | undefined, runtime: QuickJSRuntime): void {
  try {
    context?.dispose();
    runtime.dispose();
  } catch {
    // A runtime that hit its memory limit can fail its own teardown assertions; it is garbage anyway.
  }
}

type Dumped = { name?: string; message?: string; stack?: string };

function dumpError(ctx: QuickJSContext, handle: QuickJSHandle): Dumped {
  const v: unknown = ctx.dump(handle);
  if (v && typeof v === 'object') return v as Dumped;
  return { message: String(v) };
}

function describeFailure(cellId: string, what: string, err: Dumped, limits: TsCellLimits, lineOf: (generatedLine: number) => number | null): TsCellError {
  const message = err.message ?? 'unknown error';
  if (err.name === 'InternalError' && message === 'interrupted') {
    return new TsCellError(cellId, 'time-limit', `${what} ran longer than the time limit of ${limits.callTimeMs} ms per call and was stopped`);
  }
  if (message === 'out of memory' || /out of memory/i.test(message)) {
    return new TsCellError(cellId, 'memory-limit', `${what} ran out of memory (limit ${Math.round(limits.memoryBytes / 1024 / 1024)} MB)`);
  }
  if (/could not load module/.test(message)) {
    return new TsCellError(cellId, 'import', `imports are not available in ts cells (${message}): the sandbox has no modules, file system, network, environment or process`);
  }
  if (err.name === '__SbApiError') return new TsCellError(cellId, 'api', message);
  const at = /cell-[^:]*\.js:(\d+)(?::(\d+))?/.exec(err.stack ?? '');
  const line = at ? lineOf(Number(at[1])) : null;
  const where = line ? ` at line ${line}` : '';
  // QuickJS reports its own stack limit as `InternalError: stack overflow`.
  if (/stack overflow|maximum call stack/i.test(message) && (err.name === 'InternalError' || err.name === 'RangeError')) {
    return new TsCellError(cellId, 'recursion', `${what}: maximum call stack / recursion depth exceeded${where}`);
  }
  return new TsCellError(cellId, 'runtime', `${what} threw ${err.name ?? 'Error'}${where}: ${message}`);
}

/** TypeScript to plain ES module JavaScript (types stripped), with a line map back to the cell. */
async function transpile(cellId: string, source: string): Promise<{ code: string; lineOf: (generatedLine: number) => number | null }> {
  // Loaded on first use: esbuild is not needed to start the server.
  const { transform: esbuildTransform } = await import('esbuild');
  try {
    const out = await esbuildTransform(source, { loader: 'ts', format: 'esm', target: 'es2020', sourcemap: 'external', sourcefile: `cell-${cellId}.ts` });
    const lines = generatedToSourceLines(JSON.parse(out.map) as { mappings: string });
    return { code: out.code, lineOf: (l) => lines[l - 1] ?? null };
  } catch (err) {
    const first = (err as { errors?: { text: string; location?: { line: number; column: number } | null }[] }).errors?.[0];
    if (!first) throw err;
    const at = first.location ? ` at line ${first.location.line}, column ${first.location.column + 1}` : '';
    throw new TsCellError(cellId, 'syntax', `syntax error${at}: ${first.text}`);
  }
}

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** For each generated line (0-based index), the 1-based source line of its first mapping. */
function generatedToSourceLines(map: { mappings: string }): (number | null)[] {
  const out: (number | null)[] = [];
  let sourceLine = 0;
  for (const line of map.mappings.split(';')) {
    let first: number | null = null;
    for (const segment of line.split(',')) {
      if (!segment) continue;
      const fields = decodeVlq(segment);
      if (fields.length >= 4) {
        sourceLine += fields[2]!;
        first ??= sourceLine + 1;
      }
    }
    out.push(first);
  }
  return out;
}

function decodeVlq(segment: string): number[] {
  const values: number[] = [];
  let value = 0;
  let shift = 0;
  for (const ch of segment) {
    const digit = BASE64.indexOf(ch);
    value += (digit & 31) << shift;
    if (digit & 32) {
      shift += 5;
      continue;
    }
    values.push(value & 1 ? -(value >>> 1) : value >>> 1);
    value = 0;
    shift = 0;
  }
  return values;
}
