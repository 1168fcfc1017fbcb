import { describe, expect, it } from 'vitest';
import { cellKinds } from '@/server/domain/cell-kinds';
import { cellDisplayName } from '@/server/pipeline/cell-names';
import { cellKindModules } from '@/server/pipeline/cells';
import { cellKindViews } from '@/app/_components/notebook/cell-kinds';

describe('cell kinds: one compiler module and one notebook view per domain kind', () => {
  it('has a module and a view for every kind, each under its own name', () => {
    expect(Object.keys(cellKindModules).sort()).toEqual([...cellKinds].sort());
    expect(Object.keys(cellKindViews).sort()).toEqual([...cellKinds].sort());
    for (const [kind, m] of Object.entries(cellKindModules)) expect(m.kind).toBe(kind);
  });

  it('names each kind of cell by what it makes, from its own text', () => {
    const named = (kind: (typeof cellKinds)[number], source: string) => cellDisplayName({ id: 'c', kind, source }, 3);
    expect(named('sql', '-- writes: clean_loans\nselect 1')).toBe('clean_loans');
    expect(named('ts', '// inputs: a\n// output: priced\nexport default () => {}')).toBe('priced');
    expect(named('python', '# output: scored\ndf')).toBe('scored');
    expect(named('train', 'model: credit-risk\ndataset: loans')).toBe('train credit-risk');
    expect(named('score', 'model: m\ndataset: a\noutput: scored_a')).toBe('scored_a');
    expect(named('check', 'dataset: loans\nchecks: []')).toBe('checks on loans');
    expect(named('scenario', 'name: nightly\n')).toBe('nightly');
    expect(named('endpoint', 'name: credit\nmodel: m')).toBe('credit');
    expect(named('markdown', 'intro\n## The data ##\n')).toBe('The data');
    expect(named('sql', 'select 1')).toBe('sql cell 3');
    expect(named('train', 'model: [unclosed')).toBe('train cell 3');
  });

  it('shows rows under sql, ts and python cells only, and the scenario form under scenario cells', () => {
    expect(cellKinds.filter((k) => cellKindViews[k].output === 'rows')).toEqual(['sql', 'ts', 'python']);
    expect(cellKinds.filter((k) => cellKindViews[k].output === 'scenario')).toEqual(['scenario']);
  });
});
