import { describe, expect, it } from 'vitest';
import { operatingPoints, pointAt } from '@/app/_components/models/operating-points';
import { parseEndpointCell } from '@/server/services/bundles/endpoint-cell';
import { evaluateProbabilities } from '@/server/ml/evaluate';
import { labelAtThreshold } from '@/server/services/scoring/endpoint-config';

/** A seeded generator (mulberry32) so the data is the same on every run. */
function rng(seed: number) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Counts by brute force: flagged when p >= t. */
function counts(y: number[], p: number[], t: number) {
  let tp = 0;
  let fp = 0;
  for (let i = 0; i < y.length; i++) {
    if (p[i]! < t) continue;
    if (y[i]) tp++;
    else fp++;
  }
  const pos = y.filter(Boolean).length;
  return { truePositives: tp, falsePositives: fp, falseNegatives: pos - tp, trueNegatives: y.length - pos - fp };
}

describe('the threshold slider operating points', () => {
  it('give at each stored threshold the exact confusion matrix of thresholding the holdout there (ties, JSON round trip)', () => {
    const r = rng(7);
    const y: number[] = [];
    const p: number[] = [];
    for (let i = 0; i < 150; i++) {
      y.push(r() < 0.3 ? 1 : 0);
      // Rounded to 2 decimals: many ties, as trees give.
      p.push(Math.round((y.at(-1)! ? 0.25 + r() * 0.75 : r() * 0.75) * 100) / 100);
    }
    // As stored: JSON turns the first point's Infinity into null.
    const stored = JSON.parse(JSON.stringify(evaluateProbabilities(y, p, 0.5))) as Parameters<typeof operatingPoints>[0];
    const points = operatingPoints(stored);
    expect(points.map((q) => q.threshold)).toEqual([...new Set(p)].sort((a, b) => a - b));
    for (const q of points) {
      const c = counts(y, p, q.threshold);
      expect(q).toMatchObject(c);
      const precision = c.truePositives / (c.truePositives + c.falsePositives);
      const recall = c.truePositives / (c.truePositives + c.falseNegatives);
      expect(q.precision).toBeCloseTo(precision, 12);
      expect(q.recall).toBeCloseTo(recall, 12);
      expect(q.f1).toBeCloseTo((2 * precision * recall) / (precision + recall), 12);
    }
    // The slider opens at the evaluation's own threshold: the same counts as the stored atThreshold.
    expect(points[pointAt(points, 0.5)]).toMatchObject(counts(y, p, 0.5));
    expect(pointAt(points, 2)).toBe(points.length - 1);
  });
});

describe('an endpoint threshold', () => {
  it('labels positive exactly at and above it, and leaves the model label without one', () => {
    const classes = { positiveClass: 'yes', negativeClass: 'no' };
    expect(labelAtThreshold(0.3, 'no', 0.3, classes)).toBe('yes');
    expect(labelAtThreshold(0.3, 'no', 0.29999999999999993, classes)).toBe('no');
    expect(labelAtThreshold(0.7, 'yes', 0.6, classes)).toBe('no');
    expect(labelAtThreshold(null, 'yes', 0.1, classes)).toBe('yes');
  });

  it('is read from the endpoint cell, which refuses a value outside [0, 1]', () => {
    expect(parseEndpointCell('name: a\nmodel: m\nthreshold: 0.35\n')).toMatchObject({ ok: true, value: { threshold: 0.35 } });
    const bad = parseEndpointCell('name: a\nmodel: m\nthreshold: 1.5\n');
    expect(bad.ok).toBe(false);
    expect(JSON.stringify(bad)).toMatch(/threshold must be between 0 and 1/);
    expect(JSON.stringify(parseEndpointCell('name: a\nmodel: m\nthreshold: high\n'))).toMatch(/threshold must be a number between 0 and 1/);
  });
});
