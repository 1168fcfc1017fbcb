/**
 * A tiny WebAssembly assembler: functions written as WAT instruction text (flat form, one
 * instruction after another; locals by `$name`) become a module's bytes. It knows only the opcodes
 * the tree kernels use (see OPS) and one imported memory, env.memory: no toolchain is installed
 * to build wasm, and a few hundred bytes of kernel do not need one.
 */

/** A function of i32 parameters and at most an i32 result; `locals` are extra locals, named, of type i32 or v128. */
export type WasmFunction = { name: string; params: string[]; result?: 'i32'; locals: Record<string, 'i32' | 'v128'>; code: string };

type Immediate = 'none' | 'local' | 'label' | 'i32' | 'f64' | 'block' | 'memarg';
/** Opcode bytes, their immediate, and for memory access the natural alignment (log2 bytes). */
const OPS: Record<string, [bytes: number[], immediate: Immediate, align?: number]> = {
  block: [[0x02], 'block'],
  loop: [[0x03], 'block'],
  if: [[0x04], 'block'],
  else: [[0x05], 'none'],
  end: [[0x0b], 'none'],
  br: [[0x0c], 'label'],
  br_if: [[0x0d], 'label'],
  return: [[0x0f], 'none'],
  select: [[0x1b], 'none'],
  'local.get': [[0x20], 'local'],
  'local.set': [[0x21], 'local'],
  'local.tee': [[0x22], 'local'],
  'i32.load': [[0x28], 'memarg', 2],
  'i64.load': [[0x29], 'memarg', 3],
  'f64.load': [[0x2b], 'memarg', 3],
  'i32.load8_u': [[0x2d], 'memarg', 0],
  'i32.store': [[0x36], 'memarg', 2],
  'i64.store': [[0x37], 'memarg', 3],
  'f64.store': [[0x39], 'memarg', 3],
  'i32.const': [[0x41], 'i32'],
  'f64.const': [[0x44], 'f64'],
  'i32.eqz': [[0x45], 'none'],
  'i32.ne': [[0x47], 'none'],
  'i32.lt_u': [[0x49], 'none'],
  'i32.add': [[0x6a], 'none'],
  'i32.sub': [[0x6b], 'none'],
  'i32.mul': [[0x6c], 'none'],
  'i32.shr_u': [[0x76], 'none'],
  'f64.add': [[0xa0], 'none'],
  'v128.load': [[0xfd, 0x00], 'memarg', 4],
  'v128.store': [[0xfd, 0x0b], 'memarg', 4],
  'v128.load64_zero': [[0xfd, 0x5d], 'memarg', 3],
  'f64x2.promote_low_f32x4': [[0xfd, 0x5f], 'none'],
  'f64x2.add': [[0xfd, 0xf0, 0x01], 'none'],
  'memory.copy': [[0xfc, 0x0a, 0x00, 0x00], 'none'],
};
const TYPE = { i32: 0x7f, v128: 0x7b } as const;

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    const b = n & 0x7f;
    n >>>= 7;
    out.push(n ? b | 0x80 : b);
  } while (n);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && !(b & 0x40)) || (n === -1 && b & 0x40)) return [...out, b];
    out.push(b | 0x80);
  }
}

const vec = (items: number[][]) => [...uleb(items.length), ...items.flat()];
const section = (id: number, body: number[]) => [id, ...uleb(body.length), ...body];
const name = (s: string) => vec([...Buffer.from(s, 'utf8')].map((b) => [b]));

function integer(token: string | undefined, what: string): number {
  const v = Number(token);
  if (token === undefined || !Number.isInteger(v)) throw new Error(`wasm assembler: ${what} wants an integer, got "${token}"`);
  return v;
}

/** The body's instruction bytes (without its locals and final `end`). */
function assemble(fn: WasmFunction): number[] {
  const localIndex = new Map([...fn.params, ...Object.keys(fn.locals)].map((n, i) => [`$${n}`, i]));
  const tokens = fn.code
    .replace(/;;[^\n]*/g, '')
    .split(/\s+/)
    .filter(Boolean);
  const out: number[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const op = tokens[i]!;
    const spec = OPS[op];
    if (!spec) throw new Error(`wasm assembler: unknown instruction "${op}" in ${fn.name}`);
    const [bytes, immediate, align] = spec;
    out.push(...bytes);
    if (immediate === 'block') out.push(0x40);
    else if (immediate === 'label') out.push(...uleb(integer(tokens[++i], op)));
    else if (immediate === 'i32') out.push(...sleb(integer(tokens[++i], op)));
    else if (immediate === 'f64') out.push(...new Uint8Array(Float64Array.of(Number(tokens[++i])).buffer));
    else if (immediate === 'local') {
      const index = localIndex.get(tokens[++i]!);
      if (index === undefined) throw new Error(`wasm assembler: unknown local "${tokens[i]}" in ${fn.name}`);
      out.push(...uleb(index));
    } else if (immediate === 'memarg') {
      const offset = tokens[i + 1]?.startsWith('offset=') ? integer(tokens[++i]!.slice(7), `${op} offset`) : 0;
      out.push(align!, ...uleb(offset));
    }
  }
  return out;
}

/** A module importing env.memory (at least one page) and exporting the functions by name. */
export function wasmModule(functions: WasmFunction[]): Uint8Array<ArrayBuffer> {
  const types = functions.map((f) => [0x60, ...vec(f.params.map(() => [TYPE.i32])), ...vec(f.result ? [[TYPE[f.result]]] : [])]);
  const bodies = functions.map((f) => {
    const locals = vec(Object.values(f.locals).map((t) => [1, TYPE[t]]));
    const body = [...locals, ...assemble(f), 0x0b];
    return [...uleb(body.length), ...body];
  });
  return Uint8Array.from([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vec(types)),
    ...section(2, vec([[...name('env'), ...name('memory'), 0x02, 0x00, 0x01]])),
    ...section(3, vec(functions.map((_, i) => uleb(i)))),
    ...section(7, vec(functions.map((f, i) => [...name(f.name), 0x00, ...uleb(i)]))),
    ...section(10, vec(bodies)),
  ]);
}
