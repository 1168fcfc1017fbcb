import { type WasmFunction, wasmModule } from './wasm-assembler';

/**
 * The grower's inner loops in WebAssembly: histogram building (~1.2 ns per bin update against
 * ~3-4 ns for the same loop in V8's JavaScript, which bounds-checks every typed-array access and
 * cannot add a (gradient, hessian) pair in one SIMD instruction) and row partitioning. Each
 * sums in the same order as the loop it replaces (rows in partition order, float64), so the
 * histograms are the same to the bit.
 *
 * The data the loops read lives in one WebAssembly memory per fit, laid out once (it never grows:
 * growing would detach every view): the binned columns, the (gradient, hessian) pairs, the row
 * partition and the buffers the loops work in.
 */

/** Bytes of one histogram slot: (gradient, hessian, count) as float64, as Histograms lays them out. */
const SLOT_BYTES = 24;
/** Slots per feature at most: 255 bins and the missing one. */
const MAX_SLOTS = 256;

/**
 * One row's bin of one feature: (gradient, hessian) as a float32 pair in, float64 sums out (one
 * SIMD add for both), then the count.
 */
const slotUpdate = (column: string, hist: string) => `
  local.get ${column} local.get $row i32.add i32.load8_u
  i32.const ${SLOT_BYTES} i32.mul local.get ${hist} i32.add local.tee $slot
  local.get $slot v128.load local.get $gh f64x2.add v128.store
  local.get $slot local.get $slot f64.load offset=16 f64.const 1 f64.add f64.store offset=16
`;

/**
 * Loops over `count` rows of the partition from $rows; $pairs holds their pairs in the same order
 * (gathered, or the rows' own when they are in order), so both advance by one row each step.
 */
const overRows = (body: string) => `
  block
    local.get $count i32.eqz br_if 0
    local.get $rows local.get $count i32.const 4 i32.mul i32.add local.set $end
    loop
      local.get $rows i32.load local.set $row
      local.get $pairs v128.load64_zero f64x2.promote_low_f32x4 local.set $gh
      ${body}
      local.get $pairs i32.const 8 i32.add local.set $pairs
      local.get $rows i32.const 4 i32.add local.tee $rows local.get $end i32.lt_u br_if 0
    end
  end
`;

const loopLocals = { end: 'i32', row: 'i32', slot: 'i32', gh: 'v128' } as const;

const KERNELS: WasmFunction[] = [
  {
    // Four features in one pass over the rows: the row and its pair are loaded once for four bins.
    name: 'addFour',
    params: ['c0', 'c1', 'c2', 'c3', 'h0', 'h1', 'h2', 'h3', 'rows', 'pairs', 'count'],
    locals: loopLocals,
    code: overRows(['0', '1', '2', '3'].map((j) => slotUpdate(`$c${j}`, `$h${j}`)).join('')),
  },
  { name: 'addOne', params: ['c0', 'h0', 'rows', 'pairs', 'count'], locals: loopLocals, code: overRows(slotUpdate('$c0', '$h0')) },
  {
    // out[k] = pairs of rows[k] (8 bytes: float32 gradient and hessian).
    name: 'gather',
    params: ['rows', 'perRow', 'count', 'out'],
    locals: { end: 'i32' },
    code: `
      block
        local.get $count i32.eqz br_if 0
        local.get $rows local.get $count i32.const 4 i32.mul i32.add local.set $end
        loop
          local.get $out local.get $perRow local.get $rows i32.load i32.const 8 i32.mul i32.add i64.load i64.store
          local.get $out i32.const 8 i32.add local.set $out
          local.get $rows i32.const 4 i32.add local.tee $rows local.get $end i32.lt_u br_if 0
        end
      end`,
  },
  {
    // Stable partition without branches: each row is written to both sides and the side it does
    // not belong to does not advance. Left rows stay in place (the write pointer never passes the
    // read one), right rows go through scratch and are copied after them. Returns the left count.
    name: 'partition',
    params: ['rows', 'count', 'column', 'goesLeft', 'scratch'],
    result: 'i32',
    locals: { end: 'i32', row: 'i32', left: 'i32', right: 'i32', go: 'i32' },
    code: `
      local.get $rows local.set $left
      local.get $scratch local.set $right
      block
        local.get $count i32.eqz br_if 0
        local.get $rows local.get $count i32.const 4 i32.mul i32.add local.set $end
        loop
          local.get $rows i32.load local.set $row
          local.get $left local.get $row i32.store
          local.get $right local.get $row i32.store
          local.get $goesLeft local.get $column local.get $row i32.add i32.load8_u i32.add i32.load8_u i32.const 4 i32.mul local.set $go
          local.get $left local.get $go i32.add local.set $left
          local.get $right i32.const 4 i32.add local.get $go i32.sub local.set $right
          local.get $rows i32.const 4 i32.add local.tee $rows local.get $end i32.lt_u br_if 0
        end
      end
      local.get $left local.get $scratch local.get $right local.get $scratch i32.sub memory.copy
      local.get $count local.get $right local.get $scratch i32.sub i32.const 2 i32.shr_u i32.sub`,
  },
];

let compiled: WebAssembly.Module | undefined;

type Exports = {
  addFour(c0: number, c1: number, c2: number, c3: number, h0: number, h1: number, h2: number, h3: number, rows: number, pairs: number, count: number): void;
  addOne(c0: number, h0: number, rows: number, pairs: number, count: number): void;
  gather(rows: number, perRow: number, count: number, out: number): void;
  partition(rows: number, count: number, column: number, goesLeft: number, scratch: number): number;
};

const WASM_PAGE = 65536;
/** What one WebAssembly memory can address (wasm32). */
const MAX_MEMORY = 2 ** 32 - WASM_PAGE;

/**
 * One fit's training memory and the kernels over it, for `rows` rows (the fit rows, by position).
 * `columns` (binned features, one byte per row), `pairs` (per row: float32 gradient and hessian)
 * and `partition` (row positions, reordered as nodes split) are views into the memory.
 */
export class HistogramKernel {
  readonly columns: Uint8Array[];
  readonly pairs: Float32Array;
  readonly partition: Uint32Array;
  /** Per bin of the feature being split on: 1 when it goes left. */
  readonly goesLeft: Uint8Array;
  private readonly hist: Float64Array;
  private readonly scratch: Uint32Array;
  private readonly gathered: Float32Array;
  private readonly exports: Exports;

  constructor(rows: number, features: number) {
    let used = 0;
    const take = (bytes: number) => {
      const at = used;
      used += Math.ceil(bytes / 16) * 16;
      return at;
    };
    const at = {
      goesLeft: take(MAX_SLOTS),
      hist: take(features * MAX_SLOTS * SLOT_BYTES),
      columns: Array.from({ length: features }, () => take(rows)),
      pairs: take(rows * 8),
      partition: take(rows * 4),
      scratch: take(rows * 4),
      gathered: take(rows * 8),
    };
    if (used > MAX_MEMORY)
      throw new Error(`gradient-boosted trees: ${rows} rows of ${features} features need ${used} bytes of training memory, more than the ${MAX_MEMORY} one WebAssembly memory holds`);
    const memory = new WebAssembly.Memory({ initial: Math.max(1, Math.ceil(used / WASM_PAGE)) });
    compiled ??= new WebAssembly.Module(wasmModule(KERNELS));
    this.exports = new WebAssembly.Instance(compiled, { env: { memory } }).exports as unknown as Exports;
    const buffer = memory.buffer;
    this.goesLeft = new Uint8Array(buffer, at.goesLeft, MAX_SLOTS);
    this.hist = new Float64Array(buffer, at.hist, features * MAX_SLOTS * 3);
    this.columns = at.columns.map((offset) => new Uint8Array(buffer, offset, rows));
    this.pairs = new Float32Array(buffer, at.pairs, rows * 2);
    this.partition = new Uint32Array(buffer, at.partition, rows);
    this.scratch = new Uint32Array(buffer, at.scratch, rows);
    this.gathered = new Float32Array(buffer, at.gathered, rows * 2);
  }

  /** Every row in one range, in order: the root's partition. */
  resetPartition(): void {
    const { partition } = this;
    for (let k = 0; k < partition.length; k++) partition[k] = k;
  }

  /**
   * The histogram of partition[start, stop) into `hist` (overwritten): feature f's bins from
   * `base[f]` (in float64 elements), (gradient, hessian, count) per bin. Features are passed four at
   * a time (the rows and their pairs are read once per four). `inOrder`: the range holds rows
   * start..stop-1 in order (as after resetPartition), so their pairs are read in place.
   */
  build(hist: Float64Array, base: Int32Array, start: number, stop: number, inOrder = false): void {
    const { exports: x, columns } = this;
    const count = stop - start;
    const rows = this.partition.byteOffset + 4 * start;
    const at = this.hist.byteOffset;
    this.hist.fill(0, 0, hist.length);
    let pairs = this.pairs.byteOffset + 8 * start;
    if (!inOrder) {
      pairs = this.gathered.byteOffset;
      x.gather(rows, this.pairs.byteOffset, count, pairs);
    }
    const column = (f: number) => columns[f]!.byteOffset;
    const slots = (f: number) => at + 8 * base[f]!;
    let f = 0;
    for (; f + 3 < columns.length; f += 4) x.addFour(column(f), column(f + 1), column(f + 2), column(f + 3), slots(f), slots(f + 1), slots(f + 2), slots(f + 3), rows, pairs, count);
    for (; f < columns.length; f++) x.addOne(column(f), slots(f), rows, pairs, count);
    hist.set(this.hist.subarray(0, hist.length));
  }

  /** Reorders partition[start, stop), rows whose bin in `column` goes left (goesLeft) first, stably; returns the boundary. */
  partitionRange(start: number, stop: number, column: Uint8Array): number {
    return start + this.exports.partition(this.partition.byteOffset + 4 * start, stop - start, column.byteOffset, this.goesLeft.byteOffset, this.scratch.byteOffset);
  }
}
