import { Graph, layout } from '@dagrejs/dagre';

export type LayoutNode = { id: string; width: number; height: number };
export type LayoutEdge = { from: string; to: string };
export type Positioned = { id: string; x: number; y: number };

/**
 * Left-to-right layered layout (dagre: Sugiyama-style ranks, crossing reduction, then coordinates):
 * data flows from sources on the left to what is built from them on the right. Returns top-left
 * corners, as React Flow positions nodes. Deterministic for equal input, so the picture does not
 * jump between compiles of an unchanged pipeline.
 */
export function layoutGraph(nodes: LayoutNode[], edges: LayoutEdge[]): Map<string, Positioned> {
  const g = new Graph();
  g.setGraph({ rankdir: 'LR', nodesep: 24, ranksep: 40, marginx: 16, marginy: 16 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const n of nodes) g.setNode(n.id, { width: n.width, height: n.height });
  const ids = new Set(nodes.map((n) => n.id));
  for (const e of edges) if (ids.has(e.from) && ids.has(e.to)) g.setEdge(e.from, e.to);
  layout(g);
  const out = new Map<string, Positioned>();
  for (const n of nodes) {
    const p = g.node(n.id) as { x: number; y: number } | undefined;
    out.set(n.id, { id: n.id, x: (p?.x ?? 0) - n.width / 2, y: (p?.y ?? 0) - n.height / 2 });
  }
  return out;
}
