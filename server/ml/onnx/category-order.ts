import type { Tree } from '../gbt/tree';

/**
 * How the ONNX tree ensemble writes a category-set split once the feature's codes are renumbered
 * (the graph's LabelEncoder gives each category its new code):
 *
 * - `leq`: the set is the lowest codes (`inLow`: x <= threshold is in the set) or the highest ones
 *   (x <= threshold is outside it), so one BRANCH_LEQ node routes it exactly;
 * - `member`: BRANCH_MEMBER on the set's new codes.
 *
 * onnxruntime evaluates a BRANCH_LEQ node ~3x faster than a BRANCH_MEMBER one (bench/tree-eval.ts),
 * and category splits sit near the roots, where every row passes.
 */
export type CategorySplitForm = { kind: 'leq'; threshold: number; inLow: boolean } | { kind: 'member'; codes: number[] };

/** The form of a split sending `set` (old codes) left, with old code c renumbered code[c], among `width` codes. */
export function categorySplitForm(set: readonly number[], code: readonly number[], width: number): CategorySplitForm {
  const [lo, hi] = span(set, code);
  if (costOfSet(set, code, width) === COST.leq) return lo === 0 ? { kind: 'leq', threshold: hi, inLow: true } : { kind: 'leq', threshold: lo - 1, inLow: false };
  return { kind: 'member', codes: set.map((c) => code[c]!).sort((a, b) => a - b) };
}

function span(set: readonly number[], code: readonly number[]): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const c of set) {
    const k = code[c]!;
    if (k < lo) lo = k;
    if (k > hi) hi = k;
  }
  return [lo, hi];
}

/** COST of the set's form: leq when its new codes are the lowest or the highest ones. */
function costOfSet(set: readonly number[], code: readonly number[], width: number): number {
  const [lo, hi] = span(set, code);
  return hi - lo + 1 === set.length && (lo === 0 || hi === width - 1) ? COST.leq : COST.member;
}

/** Relative evaluation cost of each form (onnxruntime, per row that reaches the node). */
const COST = { leq: 1, member: 3 } as const;
/** Widths up to this have every order tried; wider ones are improved by swapping pairs of codes. */
const EXHAUSTIVE_WIDTH = 7;
/** Widths up to this are improved by swaps (each pass tries every pair); wider ones keep their first order. */
const SWAP_WIDTH = 64;
const SWAP_PASSES = 4;
/**
 * Set-element visits a feature's search may take (~0.1 s): past it, fewer swap passes or none (a
 * model with many splits on a wide feature), so that exporting stays quick.
 */
const SEARCH_BUDGET = 20_000_000;

type WeightedSet = { set: readonly number[]; weight: number };

/**
 * A renumbering of each categorical feature's codes (code[j][old] = new, a permutation of
 * 0..widths[j]-1) under which as many category splits as possible, weighted by the training rows
 * reaching them, are one BRANCH_LEQ node. Feature j is tree feature `firstCategorical + j`.
 * Deterministic: the same trees give the same codes.
 */
export function categoryCodes(trees: readonly Tree[], firstCategorical: number, widths: readonly number[]): number[][] {
  const sets: WeightedSet[][] = widths.map(() => []);
  for (const tree of trees) {
    tree.feature.forEach((f, id) => {
      const set = tree.leftCategories?.[id];
      if (set && f >= firstCategorical) sets[f - firstCategorical]!.push({ set, weight: Math.max(1, tree.cover[id] ?? 1) });
    });
  }
  return widths.map((width, j) => bestOrder(sets[j]!, width));
}

function costOf(sets: readonly WeightedSet[], code: readonly number[], width: number): number {
  let cost = 0;
  for (const { set, weight } of sets) cost += weight * costOfSet(set, code, width);
  return cost;
}

function bestOrder(sets: readonly WeightedSet[], width: number): number[] {
  const identity = Array.from({ length: width }, (_, i) => i);
  if (sets.length === 0 || width < 2) return identity;
  const size = sets.reduce((n, { set }) => n + set.length, 0);
  let orders = 1;
  for (let k = 2; k <= width; k++) orders *= k;
  if (width <= EXHAUSTIVE_WIDTH && orders * size <= SEARCH_BUDGET) return exhaustive(sets, width);
  // Start: the codes most often in a left set first (prefixes of a shared ranking become intervals at 0).
  const inSets = new Float64Array(width);
  for (const { set, weight } of sets) for (const c of set) inSets[c]! += weight;
  const ranked = identity.slice().sort((a, b) => inSets[b]! - inSets[a]! || a - b);
  const byRank = new Array<number>(width);
  ranked.forEach((c, k) => (byRank[c] = k));
  const code = costOf(sets, byRank, width) < costOf(sets, identity, width) ? byRank : identity;
  // A pass tries every pair; each set changes in the pairs holding one of its codes.
  const passes = Math.min(SWAP_PASSES, Math.floor(SEARCH_BUDGET / ((width - 1) * size * (size / sets.length))));
  return width > SWAP_WIDTH || passes === 0 ? code : improveBySwaps(sets, width, code, passes);
}

/** Swaps two codes while that lowers the cost; only the sets holding exactly one of them change. */
function improveBySwaps(sets: readonly WeightedSet[], width: number, code: number[], passes: number): number[] {
  const holding: number[][] = Array.from({ length: width }, () => []);
  sets.forEach(({ set }, k) => set.forEach((c) => holding[c]!.push(k)));
  const costs = sets.map(({ set, weight }) => weight * costOfSet(set, code, width));
  const mark = new Int32Array(sets.length);
  let stamp = 0;
  for (let pass = 0; pass < passes; pass++) {
    let improved = false;
    for (let a = 0; a < width; a++) {
      for (let b = a + 1; b < width; b++) {
        // Sets holding a or b; those holding both (stamp twice) keep their codes' span.
        stamp += 2;
        for (const k of holding[a]!) mark[k] = stamp - 1;
        for (const k of holding[b]!) mark[k] = mark[k] === stamp - 1 ? stamp : stamp - 1;
        const changed = [...holding[a]!, ...holding[b]!].filter((k) => mark[k] === stamp - 1);
        [code[a], code[b]] = [code[b]!, code[a]!];
        const next = changed.map((k) => sets[k]!.weight * costOfSet(sets[k]!.set, code, width));
        const delta = next.reduce((sum, c, i) => sum + c - costs[changed[i]!]!, 0);
        if (delta < 0) {
          changed.forEach((k, i) => (costs[k] = next[i]!));
          improved = true;
        } else [code[a], code[b]] = [code[b]!, code[a]!];
      }
    }
    if (!improved) break;
  }
  return code;
}

/** Every permutation (Heap's algorithm), the first of the cheapest kept: identity when it ties. */
function exhaustive(sets: readonly WeightedSet[], width: number): number[] {
  const code = Array.from({ length: width }, (_, i) => i);
  let best = code.slice();
  let bestCost = costOf(sets, code, width);
  const counters = new Array<number>(width).fill(0);
  for (let i = 1; i < width;) {
    if (counters[i]! < i) {
      const k = i % 2 === 0 ? 0 : counters[i]!;
      [code[k], code[i]] = [code[i]!, code[k]!];
      const cost = costOf(sets, code, width);
      if (cost < bestCost) {
        bestCost = cost;
        best = code.slice();
      }
      counters[i]!++;
      i = 1;
    } else {
      counters[i] = 0;
      i++;
    }
  }
  return best;
}
