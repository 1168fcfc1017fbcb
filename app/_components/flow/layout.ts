import { Graph, layout } from '@dagrejs/dagre';

export type LayoutNode = { id: string; width: number; height: number };
export type LayoutEdge = { from: string; to: string };
export type Positioned = { id: string; x: number; y: number };
export type Point = { x: number; y: number };

/** Space between ranks (columns) and between nodes of a rank: room for edges to pass between nodes. */
export const RANK_SEP = 72;
export const NODE_SEP = 28;

/**
 * Left-to-right layered layout (dagre: Sugiyama-style ranks, crossing reduction, then coordinates):
 * data flows from sources on the left to what is built from them on the right. Returns top-left
 * corners, as React Flow positions nodes, each edge's route (dagre routes an edge that skips ranks
 * through its own dummy nodes, so it runs between nodes rather than under them) and the drawing's
 * size. Deterministic for equal input, so the picture does not jump between compiles.
 */
export function layoutGraph(nodes: LayoutNode[], edges: LayoutEdge[]): { positions: Map<string, Positioned>; routes: Map<string, Point[]>; width: number; height: number } {
  const g = new Graph();
  g.setGraph({ rankdir: 'LR', nodesep: NODE_SEP, ranksep: RANK_SEP, edgesep: 16, marginx: 16, marginy: 16 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const n of nodes) g.setNode(n.id, { width: n.width, height: n.height });
  const ids = new Set(nodes.map((n) => n.id));
  for (const e of edges) if (ids.has(e.from) && ids.has(e.to)) g.setEdge(e.from, e.to);
  layout(g);
  const positions = new Map<string, Positioned>();
  for (const n of nodes) {
    const p = g.node(n.id) as { x: number; y: number } | undefined;
    positions.set(n.id, { id: n.id, x: (p?.x ?? 0) - n.width / 2, y: (p?.y ?? 0) - n.height / 2 });
  }
  const routes = new Map<string, Point[]>();
  for (const e of g.edges()) {
    const points = (g.edge(e) as { points?: Point[] } | undefined)?.points;
    if (points) routes.set(`${e.v}->${e.w}`, points);
  }
  const size = g.graph() as { width?: number; height?: number };
  return { positions, routes, width: size.width ?? 0, height: size.height ?? 0 };
}

const OPEN_PADDING = 16;

/**
 * Where the Flow view opens: the whole graph when it fits at `minZoom` or more (centred, at most
 * 100%); else `minZoom` anchored at the graph's left and top, so the start of the pipeline is on
 * screen and the rest pans. Centring a graph wider than the view cut off both ends, sources included.
 */
export function openingViewport(view: { width: number; height: number }, graph: { width: number; height: number }, minZoom: number): { x: number; y: number; zoom: number } {
  const room = { w: Math.max(1, view.width - 2 * OPEN_PADDING), h: Math.max(1, view.height - 2 * OPEN_PADDING) };
  const fit = Math.min(room.w / Math.max(1, graph.width), room.h / Math.max(1, graph.height));
  const zoom = Math.min(1, Math.max(minZoom, fit));
  const x = graph.width * zoom <= room.w ? (view.width - graph.width * zoom) / 2 : OPEN_PADDING;
  const y = graph.height * zoom <= room.h ? (view.height - graph.height * zoom) / 2 : OPEN_PADDING;
  return { x, y, zoom };
}
