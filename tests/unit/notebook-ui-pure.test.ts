/**
 * The notebook UI's pure parts: templates from real columns, chart series from the server's rows,
 * missing chart columns, value ordering in the grid, and the Flow layout's edge routes.
 */
import { describe, expect, it } from 'vitest';
import { layoutGraph } from '../../app/_components/flow/layout';
import { cellTemplate, freshName, pickPositiveClass, pickTarget, type TemplateContext } from '../../app/_components/notebook/cell-templates';
import { missingColumns, suggestChart } from '../../app/_components/results/chart-types';
import { compareValues, copyText } from '../../app/_components/results/format-value';
import { chartSeries } from '../../app/_components/results/result-chart';

const credit = { name: 'credit', columns: [{ name: 'id', type: 'integer' }, { name: 'income', type: 'numeric' }, { name: 'home', type: 'text' }, { name: 'status', type: 'text' }] };
const ctx = (over: Partial<TemplateContext> = {}): TemplateContext => ({ datasets: [credit], lastDataset: 'credit', taken: new Set(['credit']), models: [], ...over });

describe('cell templates', () => {
  it('suggests a writes name nobody uses, reading the last dataset', () => {
    expect(cellTemplate('sql', ctx())).toBe('-- writes: credit_2\nselect *\nfrom credit\n');
    expect(cellTemplate('sql', ctx({ taken: new Set(['credit', 'credit_2', 'credit_2_2']) }))).toMatch(/^-- writes: credit_2_3\n/);
  });
  it('picks a label-like target and the minority class as positive', () => {
    expect(pickTarget(credit.columns)).toBe('status');
    expect(pickTarget([{ name: 'a', type: 'integer' }, { name: 'grade', type: 'text' }])).toBe('grade');
    expect(pickPositiveClass(['good', 'bad'])).toBe('bad');
    const train = cellTemplate('train', ctx({ targetValues: { target: 'status', values: ['good', 'bad'] } }));
    expect(train).toContain('dataset: credit\ntarget: status\npositiveClass: "bad"\n');
  });
  it('keeps dataset names lowercase identifiers', () => {
    expect(freshName('2nd Table!', new Set())).toBe('nd_table_');
    expect(freshName('x', new Set(['x']))).toBe('x_2');
  });
});

describe('charts', () => {
  it('keys the server rows by the spec and pivots colours into series', () => {
    const rows = [
      { category: 'a', region: 'n', amount: 1 },
      { category: 'a', region: 's', amount: 2 },
      { category: 'b', region: 'n', amount: 5 },
    ];
    const { points, series } = chartSeries({ type: 'bar', x: 'category', y: 'amount', color: 'region', aggregate: 'sum' }, rows, 'text');
    expect(series).toEqual(['n', 's']);
    expect(points).toEqual([
      { __x: 'a', n: 1, s: 2 },
      { __x: 'b', n: 5 },
    ]);
  });
  it('labels histogram bins by their bounds', () => {
    const { points, series } = chartSeries({ type: 'histogram', x: 'income' }, [{ bin_start: 0, bin_end: 10, count: 3 }], 'numeric');
    expect(series).toEqual(['count']);
    expect(points[0]).toEqual({ __x: '0 – 10', count: 3 });
  });
  it('names the columns a stored spec needs that the result lacks', () => {
    expect(missingColumns({ type: 'bar', x: 'home', y: 'gone' }, credit.columns)).toEqual(['gone']);
    expect(suggestChart(credit.columns)).toEqual({ type: 'bar', x: 'home', y: 'id', aggregate: 'sum' });
  });
});

describe('grid values', () => {
  it('sorts NULL last, numbers numerically, timestamps by time', () => {
    const v = [10, null, 9, 100].sort((a, b) => compareValues(a, b, 'integer'));
    expect(v).toEqual([9, 10, 100, null]);
    expect(compareValues('2026-01-02T00:00:00Z', '2026-01-10T00:00:00Z', 'timestamp')).toBeLessThan(0);
    expect(copyText(null)).toBe('');
  });
});

describe('flow layout', () => {
  it('routes an edge that skips a rank around the node in between, not under it', () => {
    const size = { width: 232, height: 60 };
    const nodes = ['a', 'b', 'c'].map((id) => ({ id, ...size }));
    const { positions, routes, height } = layoutGraph(nodes, [
      { from: 'a', to: 'b' },
      { from: 'b', to: 'c' },
      { from: 'a', to: 'c' },
    ]);
    const b = positions.get('b')!;
    const route = routes.get('a->c')!;
    expect(route.length).toBeGreaterThan(2);
    // No bend point of a->c lies inside b's box.
    for (const p of route) expect(p.x > b.x && p.x < b.x + size.width && p.y > b.y && p.y < b.y + size.height).toBe(false);
    expect(height).toBeGreaterThan(size.height);
  });
});
