/**
 * What evaluating the gradient-boosted trees costs in onnxruntime, per row: the 100-tree model of
 * bench/batch-scoring.ts (trained on 50k rows of bench/synthetic.ts, 31 leaves a tree), scored on
 * 50,000-row batches of other rows of the same generator. Each line is one form of the same trees
 * (ai.onnx.ml TreeEnsemble unless it says otherwise) fed the features as float [N,20] (numbers,
 * then each category's code, NaN when missing), cast to double in the graph as the export does:
 *
 *   member sets, model codes   every category split a BRANCH_MEMBER node, missing values tracked per node (the
 *                              export before 8 Dec 2026)
 *   renumbered codes           the export (tree-ensemble.ts): codes renumbered so category splits are BRANCH_LEQ
 *                              where they can be, no node tracking missing values (a negated copy of the features)
 *   EQ chains (v3, float)      TreeEnsembleRegressor (ai.onnx.ml 3): a set as a chain of BRANCH_EQ nodes
 *                              sharing the subtree it sends left; float thresholds and sums (not exact)
 *   member sets, float input   TreeEnsemble on float (float sums: not exact)
 *   numeric splits only        every category split replaced by x <= max(set): a floor, not the model
 *   whole exported graph       exportOnnx's file fed raw features (strings for categories: LabelEncoders included)
 *
 * us/row: median wall time of 5 runs (after 2 warm-ups) / 50,000; CPU: this process's CPU time per
 * row and run, onnxruntime's threads included. Noisy on a shared machine: compare lines of one run.
 *
 *   npx tsx bench/tree-eval.ts [--threads 1,2] [--leaves 31] [--only renumbered]
 */
import { loadavg } from 'node:os';
import * as ort from 'onnxruntime-node';
import { algorithmOf } from '../server/ml/algorithms';
import { oneHotWidth } from '../server/ml/features';
import type { BoostedTrees } from '../server/ml/gbt/boosting';
import type { Tree } from '../server/ml/gbt/tree';
import type { Model } from '../server/ml/model';
import { exportOnnx } from '../server/ml/onnx/export';
import { ElemType, ML_DOMAIN, attr, encodeModel, node, tensorValue } from '../server/ml/onnx/proto';
import { type CategoryCodes, type EnsembleArrays, treeEnsembleNode, treeEnsembleOutputs } from '../server/ml/onnx/tree-ensemble';
import { trainModel } from '../server/ml/train';
import { syntheticTable, TARGET } from './synthetic';

const ROWS = 50_000;
const listArg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(name);
  return (i >= 0 ? process.argv[i + 1]! : fallback).split(',');
};

type Variant = { name: string; bytes: Uint8Array; feeds: Record<string, ort.Tensor> };

/** Features as the trees read them, [N, d] row-major float32: numbers, then category codes (NaN: missing or unseen). */
function featureMatrix(model: Model, seed: number, code?: readonly (readonly number[])[]): Float32Array {
  const table = syntheticTable(ROWS, seed);
  const { numeric, categorical } = model.features;
  const d = numeric.length + categorical.length;
  const x = new Float32Array(ROWS * d);
  numeric.forEach((f, j) => table.columns[f.name]!.forEach((v, r) => (x[r * d + j] = v === null ? NaN : (v as number))));
  categorical.forEach((f, j) => {
    const index = new Map(f.categories.map((c, i) => [c, i]));
    table.columns[f.name]!.forEach((v, r) => {
      const c = index.get(v as string);
      x[r * d + numeric.length + j] = c === undefined ? NaN : code ? code[j]![c]! : c;
    });
  });
  return x;
}

function graph(nodes: ReturnType<typeof node>[], initializers: ReturnType<typeof treeEnsembleOutputs>['initializers'], d: number, ml: number, outputs: ReturnType<typeof tensorValue>[]): Uint8Array {
  return encodeModel({
    irVersion: 8,
    opsets: { onnx: 15, ml },
    graphName: 'bench',
    nodes,
    inputs: [tensorValue('X', ElemType.FLOAT, ['N', d])],
    outputs,
    initializers,
    producerVersion: '0',
    docString: '',
    metadata: {},
  });
}

/** The export's tree part (Cast, TreeEnsemble, label and probabilities) on X. */
function exportForm(est: BoostedTrees, d: number, categories?: CategoryCodes): Uint8Array {
  const built = treeEnsembleOutputs(est, 'X', 't.', { label: 'label', probabilities: 'probabilities' }, categories);
  return graph(built.nodes, built.initializers, d, 5, [tensorValue('label', ElemType.INT64, ['N']), tensorValue('probabilities', ElemType.FLOAT, ['N', 2])]);
}

/** TreeEnsemble with float tensors on float input; category splits as member sets or (numericOnly) x <= max(set). */
function floatEnsemble(trees: readonly Tree[], d: number, numericOnly: boolean): Uint8Array {
  const a: EnsembleArrays = { roots: [], modes: [], featureIds: [], splits: [], missingTrue: [], trueIds: [], trueLeaf: [], falseIds: [], falseLeaf: [], membership: [], leafWeights: [] };
  const { leafWeights: leaves, membership } = a;
  for (const tree of trees) {
    const index = tree.feature.map((f, id) => (f < 0 ? leaves.push(tree.value[id]!) - 1 : -1));
    const splitIds = tree.feature.flatMap((f, id) => (f >= 0 ? [id] : []));
    splitIds.forEach((id, k) => (index[id] = a.modes.length + k));
    a.roots.push(splitIds.length ? index[0]! : a.modes.length);
    const to = (id: number) => [index[id]!, tree.feature[id]! < 0 ? 1 : 0] as const;
    for (const id of splitIds.length ? splitIds : [0]) {
      const set = tree.leftCategories?.[id];
      const [t, f] = splitIds.length ? [to(tree.left[id]!), to(tree.right[id]!)] : [to(0), to(0)];
      if (set && !numericOnly) membership.push(...set, NaN);
      a.modes.push(set && !numericOnly ? 6 : 0);
      a.featureIds.push(Math.max(0, tree.feature[id]!));
      a.splits.push(set ? (numericOnly ? set[set.length - 1]! : NaN) : tree.threshold[id]!);
      a.missingTrue.push(tree.missingGoLeft[id] ? 1 : 0);
      a.trueIds.push(t[0]);
      a.trueLeaf.push(t[1]);
      a.falseIds.push(f[0]);
      a.falseLeaf.push(f[1]);
    }
  }
  const floats = (name: string, v: number[]) => ({ name, dataType: ElemType.FLOAT, dims: [v.length], floatData: v });
  const ensemble = treeEnsembleNode('X', 'Y', a, floats);
  return graph([ensemble], [], d, 5, [tensorValue('Y', ElemType.FLOAT, ['N', 1])]);
}

/** TreeEnsembleRegressor (ai.onnx.ml 3, float): a category set as BRANCH_EQ nodes, one per code, all sending left to the same subtree. */
function eqChains(trees: readonly Tree[], d: number): Uint8Array {
  const a = { tree: [] as number[], id: [] as number[], modes: [] as string[], feats: [] as number[], values: [] as number[], t: [] as number[], f: [] as number[], miss: [] as number[] };
  const w = { tree: [] as number[], id: [] as number[], value: [] as number[] };
  trees.forEach((tree, ti) => {
    const ids: number[] = [];
    let next = 0;
    tree.feature.forEach((f, id) => {
      ids[id] = next;
      next += f >= 0 && tree.leftCategories?.[id] ? tree.leftCategories[id]!.length : 1;
    });
    const push = (mode: string, id: number, f: number, v: number, miss: boolean, t: number, fa: number) => {
      [a.tree, a.id, a.feats, a.values, a.t, a.f].forEach((arr, k) => arr.push([ti, id, f, v, t, fa][k]!));
      a.modes.push(mode);
      a.miss.push(miss ? 1 : 0);
    };
    tree.feature.forEach((f, id) => {
      if (f < 0) {
        push('LEAF', ids[id]!, 0, 0, false, 0, 0);
        w.tree.push(ti);
        w.id.push(ids[id]!);
        w.value.push(tree.value[id]!);
        return;
      }
      const [left, right, set] = [ids[tree.left[id]!]!, ids[tree.right[id]!]!, tree.leftCategories?.[id]];
      if (!set) push('BRANCH_LEQ', ids[id]!, f, tree.threshold[id]!, tree.missingGoLeft[id]!, left, right);
      else set.forEach((c, k) => push('BRANCH_EQ', ids[id]! + k, f, c, tree.missingGoLeft[id]!, left, k + 1 < set.length ? ids[id]! + k + 1 : right));
    });
  });
  const ensemble = node(
    'TreeEnsembleRegressor',
    ['X'],
    ['Y'],
    [
      attr.int('n_targets', 1),
      attr.ints('nodes_treeids', a.tree),
      attr.ints('nodes_nodeids', a.id),
      attr.strings('nodes_modes', a.modes),
      attr.ints('nodes_featureids', a.feats),
      attr.floats('nodes_values', a.values),
      attr.ints('nodes_truenodeids', a.t),
      attr.ints('nodes_falsenodeids', a.f),
      attr.ints('nodes_missing_value_tracks_true', a.miss),
      attr.ints('target_treeids', w.tree),
      attr.ints('target_nodeids', w.id),
      attr.ints(
        'target_ids',
        w.id.map(() => 0),
      ),
      attr.floats('target_weights', w.value),
    ],
    ML_DOMAIN,
  );
  return graph([ensemble], [], d, 3, [tensorValue('Y', ElemType.FLOAT, ['N', 1])]);
}

/** The whole exported file's feeds: one [N,1] tensor per feature, strings for categories. */
function rawFeeds(model: Model, seed: number): { bytes: Uint8Array; feeds: Record<string, ort.Tensor> } {
  const { bytes, schema } = exportOnnx(model);
  const table = syntheticTable(ROWS, seed);
  const feeds: Record<string, ort.Tensor> = {};
  for (const i of schema.inputs) {
    const col = table.columns[i.name]!;
    feeds[i.input] =
      i.tensor === 'string'
        ? new ort.Tensor(
            'string',
            col.map((v) => (v === null ? '' : String(v))),
            [ROWS, 1],
          )
        : new ort.Tensor(
            'float32',
            Float32Array.from(col, (v) => (v === null ? NaN : (v as number))),
            [ROWS, 1],
          );
  }
  return { bytes, feeds };
}

function variants(model: Model): Variant[] {
  const est = model.estimator as BoostedTrees;
  const d = model.features.numeric.length + model.features.categorical.length;
  const first = model.features.numeric.length;
  const codes = renumbered(model);
  const X = (code?: readonly (readonly number[])[]) => ({ X: new ort.Tensor('float32', featureMatrix(model, 7, code), [ROWS, d]) });
  return [
    { name: 'member sets, model codes', bytes: exportForm(est, d), feeds: X() },
    { name: 'renumbered codes', bytes: exportForm(est, d, { first, code: codes }), feeds: X(codes) },
    { name: 'EQ chains (v3, float)', bytes: eqChains(est.trees, d), feeds: X() },
    { name: 'member sets, float input', bytes: floatEnsemble(est.trees, d, false), feeds: X() },
    { name: 'numeric splits only', bytes: floatEnsemble(est.trees, d, true), feeds: X() },
    { name: 'whole exported graph', ...rawFeeds(model, 7) },
  ];
}

/** The codes exportOnnx gives the categories (category-order.ts, through the algorithm's onnx()). */
function renumbered(model: Model): number[][] {
  const onnx = algorithmOf(model.estimator.kind).onnx(model.estimator as never);
  return onnx.categoryCodes!(model.features.numeric.length, model.features.categorical.map(oneHotWidth));
}

async function time(v: Variant, threads: number): Promise<{ wall: number; cpu: number }> {
  const session = await ort.InferenceSession.create(v.bytes, {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    extra: { session: { intra_op: { allow_spinning: '0' } } },
  });
  const walls: number[] = [];
  let cpu = 0;
  for (let i = 0; i < 7; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await session.run(v.feeds);
    const c = process.cpuUsage(c0);
    if (i < 2) continue;
    walls.push(performance.now() - t0);
    cpu += c.user + c.system;
  }
  walls.sort((a, b) => a - b);
  return { wall: (walls[2]! * 1000) / ROWS, cpu: cpu / 5 / ROWS };
}

async function main() {
  const threads = listArg('--threads', '1,2').map(Number);
  const only = listArg('--only', '');
  const load = () =>
    loadavg()
      .map((l) => l.toFixed(2))
      .join(' ');
  console.log(`tree evaluation in onnxruntime, ${ROWS.toLocaleString('en-US')}-row batches (load average ${load()})`);
  for (const leaves of listArg('--leaves', '31').map(Number)) {
    const spec = { algorithm: 'gradient_boosted_trees' as const, target: TARGET, positiveClass: 'yes', params: { maxIter: 100, earlyStopping: false, maxLeafNodes: leaves } };
    const { model } = await trainModel(syntheticTable(50_000, 3), spec);
    const trees = (model.estimator as BoostedTrees).trees;
    const splits = trees.reduce((n, t) => n + t.feature.filter((f) => f >= 0).length, 0);
    const sets = trees.reduce((n, t) => n + (t.leftCategories ?? []).filter((s) => s !== null).length, 0);
    console.log(`\n  ${trees.length} trees of up to ${leaves} leaves: ${splits} splits, ${sets} of them category sets`);
    for (const v of variants(model)) {
      if (only[0] && !only.some((o) => v.name.includes(o))) continue;
      const cells: string[] = [];
      for (const t of threads) {
        const { wall, cpu } = await time(v, t);
        cells.push(`${t} thread${t > 1 ? 's' : ' '}: ${wall.toFixed(2).padStart(5)} us/row (CPU ${cpu.toFixed(2)})`);
      }
      console.log(`    ${v.name.padEnd(26)} ${cells.join('   ')}`);
    }
  }
  console.log(`\n  (load average at the end ${load()})`);
}

await main();
