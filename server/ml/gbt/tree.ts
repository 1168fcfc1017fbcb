/**
 * A fitted regression tree in preorder arrays (node 0 is the root). A leaf has feature -1. A split
 * sends x to `left` when x <= threshold, a missing x (NaN) to `left` when missingGoLeft. Thresholds
 * and leaf values are float32 values, exactly what the ONNX TreeEnsembleClassifier holds.
 */
export type Tree = {
  feature: number[];
  threshold: number[];
  missingGoLeft: boolean[];
  left: number[];
  right: number[];
  /** Leaf values (learning rate applied); 0 for split nodes. */
  value: number[];
  /** Loss reduction of each split (0 for leaves): the trees' feature importance. */
  gain: number[];
  /** Training rows that reached each node: the weights TreeSHAP's conditional expectations use. */
  cover: number[];
};

export function treeValue(tree: Tree, read: (feature: number) => number): number {
  let node = 0;
  for (;;) {
    const f = tree.feature[node]!;
    if (f < 0) return tree.value[node]!;
    const x = read(f);
    const goLeft = Number.isNaN(x) ? tree.missingGoLeft[node]! : x <= tree.threshold[node]!;
    node = goLeft ? tree.left[node]! : tree.right[node]!;
  }
}
