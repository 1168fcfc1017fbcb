/**
 * A fitted regression tree in preorder arrays (node 0 is the root). A leaf has feature -1. A
 * numeric split sends x to `left` when x <= threshold; a categorical split (leftCategories[node]
 * set) sends x to `left` when its category code is in that set. A missing x (NaN; for a category,
 * also one never seen in training) goes `left` when missingGoLeft. Thresholds and leaf values are
 * float32 values, exactly what the ONNX tree ensemble holds.
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
  /**
   * Per node, the category codes sent left (ascending) for a categorical split, null otherwise.
   * Absent on models trained before native categorical splits (their categories were one-hot columns).
   */
  leftCategories?: (number[] | null)[];
};

/** Whether a value goes left at a split node (NaN = missing follows missingGoLeft). */
export function goesLeft(tree: Tree, node: number, x: number): boolean {
  if (Number.isNaN(x)) return tree.missingGoLeft[node]!;
  const set = tree.leftCategories?.[node];
  return set ? set.includes(x) : x <= tree.threshold[node]!;
}

export function treeValue(tree: Tree, read: (feature: number) => number): number {
  let node = 0;
  for (;;) {
    const f = tree.feature[node]!;
    if (f < 0) return tree.value[node]!;
    node = goesLeft(tree, node, read(f)) ? tree.left[node]! : tree.right[node]!;
  }
}
