import { describe, expect, it } from 'vitest';
import { openingViewport } from '@/app/_components/flow/layout';

describe('where the Flow view opens', () => {
  it('fits and centres a graph that fits at 75% or more, never above 100%', () => {
    expect(openingViewport({ width: 1032, height: 300 }, { width: 500, height: 200 }, 0.75)).toEqual({ x: 266, y: 50, zoom: 1 });
    const v = openingViewport({ width: 832, height: 300 }, { width: 1000, height: 200 }, 0.75);
    expect(v.zoom).toBeCloseTo(0.8, 6);
    expect(v.x).toBeCloseTo(16, 6);
  });

  it('opens a graph too wide for 75% at 75% from its left and top edge, not centred', () => {
    // Ten cells in a chain: ~5,000 px wide in a 1,000 px view.
    const v = openingViewport({ width: 1000, height: 400 }, { width: 5000, height: 120 }, 0.75);
    expect(v).toEqual({ x: 16, y: (400 - 120 * 0.75) / 2, zoom: 0.75 });
    // So the graph's first column (x = 0) is on screen, 16 px in.
    expect(0 * v.zoom + v.x).toBe(16);
    const tall = openingViewport({ width: 1000, height: 900 }, { width: 5000, height: 3000 }, 0.75);
    expect(tall).toEqual({ x: 16, y: 16, zoom: 0.75 });
  });
});
