import { describe, expect, it } from 'vitest';
import { oversizeIn } from '@/server/tools/code-size';

const body = (n: number) => Array.from({ length: n }, (_, i) => `  const v${i} = ${i};`).join('\n');
/** A function spanning exactly `lines` lines (its header and closing brace included). */
const fn = (header: string, lines: number) => `${header} {\n${body(lines - 2)}\n}`;

describe('code-size (lint:size)', () => {
  it('flags a function one line over the limit and not one at it, named after its declaration', () => {
    const text = [fn('export function atLimit()', 80), fn('function over()', 81)].join('\n');
    expect(oversizeIn('x.ts', text)).toEqual([{ key: 'x.ts#over', kind: 'function', lines: 81 }]);
  });

  it('names arrow functions, methods and object members after what holds them', () => {
    const text = [fn('const arrow = () =>', 90), `class C {\n${fn('  method()', 85)}\n}`, `const o = {\n${fn('  member: function ()', 82)}\n};`].join('\n');
    expect(oversizeIn('y.ts', text).map((o) => [o.key, o.lines])).toEqual([
      ['y.ts#arrow', 90],
      ['y.ts#method', 85],
      ['y.ts#member', 82],
    ]);
  });

  it('counts a nested function on its own and within its parent', () => {
    const inner = fn('  function inner()', 85);
    const text = `function outer() {\n${inner}\n}`;
    expect(oversizeIn('z.ts', text).map((o) => [o.key, o.lines])).toEqual([
      ['z.ts#outer', 87],
      ['z.ts#inner', 85],
    ]);
  });

  it('flags a file over 400 lines', () => {
    const text = Array.from({ length: 401 }, (_, i) => `export const c${i} = ${i};`).join('\n') + '\n';
    expect(oversizeIn('f.ts', text)).toEqual([{ key: 'f.ts', kind: 'file', lines: 401 }]);
    expect(oversizeIn('g.ts', text.split('\n').slice(1).join('\n'))).toEqual([]);
  });
});
