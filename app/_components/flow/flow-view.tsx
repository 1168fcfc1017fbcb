'use client';

import '@xyflow/react/dist/style.css';
import './flow.css';
import { BaseEdge, Background, Controls, Handle, MarkerType, Position, ReactFlow, type Edge, type EdgeProps, type Node, type NodeProps } from '@xyflow/react';
import { useLayoutEffect, useMemo, useRef, useState } from 'react';
import { stepStatusMeta, type BuildStep, type CompileDiagnostic, type PipelineGraph, type StepStatus } from '../builds/build-types';
import { formatCount } from '../datasets/format';
import { useColorScheme } from '../use-color-scheme';
import { layoutGraph, openingViewport, type Point } from './layout';

// Wide enough for a dataset or cell name at a legible size. The graph is drawn at 100%: a graph wider
// than the card scrolls sideways instead of shrinking its labels to ~10 px or cutting nodes off.
const DATASET_SIZE = { width: 260, height: 60 };
const CELL_SIZE = { width: 260, height: 60 };
const MODEL_SIZE = { width: 260, height: 60 };
const MAX_HEIGHT = 900;
/** The least zoom the view opens at: node titles stay about 11 px or more. */
const MIN_OPEN_ZOOM = 0.75;

type Status = StepStatus | 'idle';

type DatasetData = { kind: 'dataset'; name: string; origin: 'source' | 'built'; status: Status; rowCount: number | null; onOpen: () => void };
type CellData = { kind: 'cell'; cellId: string; title: string; detail: string; status: Status; errors: number; onOpen: () => void };
/** A model of the registry: its newest version from this notebook's builds, when one trained it. */
type ModelData = { kind: 'model'; name: string; status: Status; detail: string; onOpen: () => void };
type DatasetNodeT = Node<DatasetData, 'dataset'>;
type CellNodeT = Node<CellData, 'cell'>;
type ModelNodeT = Node<ModelData, 'model'>;

function StatusGlyph({ status }: { status: Status }) {
  if (status === 'idle') return null;
  const { icon, label } = stepStatusMeta(status);
  return (
    <span className={`flow-status flow-status-${status}`} title={label}>
      <span aria-hidden>{icon}</span>
      <span className="sr-only">{label}</span>
    </span>
  );
}

function DatasetNode({ data }: NodeProps<DatasetNodeT>) {
  return (
    <button type="button" className={`flow-node flow-dataset flow-dataset-${data.origin} flow-node-${data.status}`} aria-label={`Dataset ${data.name}: open`}>
      <Handle type="target" position={Position.Left} isConnectable={false} />
      <span className="flow-node-icon" aria-hidden>
        <svg width="16" height="16" viewBox="0 0 16 16" fill="none" stroke="currentColor" strokeWidth="1.4">
          <ellipse cx="8" cy="3.5" rx="5.5" ry="2" />
          <path d="M2.5 3.5v9c0 1.1 2.5 2 5.5 2s5.5-.9 5.5-2v-9M2.5 8c0 1.1 2.5 2 5.5 2s5.5-.9 5.5-2" />
        </svg>
      </span>
      <span className="flow-node-text">
        <span className="flow-node-title">{data.name}</span>
        <span className="flow-node-detail">
          {data.origin === 'source' ? 'source' : 'built'}
          {data.rowCount !== null && ` · ${formatCount(data.rowCount)} rows`}
        </span>
      </span>
      <StatusGlyph status={data.status} />
      <Handle type="source" position={Position.Right} isConnectable={false} />
    </button>
  );
}

function CellNode({ data }: NodeProps<CellNodeT>) {
  return (
    <button type="button" className={`flow-node flow-cell flow-node-${data.status}${data.errors ? ' flow-node-invalid' : ''}`} aria-label={`${data.title}: open in the notebook`}>
      <Handle type="target" position={Position.Left} isConnectable={false} />
      <span className="flow-node-icon" aria-hidden>
        <svg width="16" height="16" viewBox="0 0 16 16" fill="none" stroke="currentColor" strokeWidth="1.4">
          <rect x="2" y="2.5" width="12" height="11" rx="2" />
          <path d="M5 6.5l2 1.5-2 1.5M8.5 10h2.5" />
        </svg>
      </span>
      <span className="flow-node-text">
        <span className="flow-node-title">{data.title}</span>
        <span className="flow-node-detail">{data.errors ? `${data.errors} error${data.errors === 1 ? '' : 's'}` : data.detail}</span>
      </span>
      <StatusGlyph status={data.status} />
      <Handle type="source" position={Position.Right} isConnectable={false} />
    </button>
  );
}

function ModelNode({ data }: NodeProps<ModelNodeT>) {
  return (
    <button type="button" className={`flow-node flow-model flow-node-${data.status}`} aria-label={`Model ${data.name}: open`}>
      <Handle type="target" position={Position.Left} isConnectable={false} />
      <span className="flow-node-icon" aria-hidden>
        <svg width="16" height="16" viewBox="0 0 16 16" fill="none" stroke="currentColor" strokeWidth="1.4">
          <path d="M8 1.8l5.4 3.1v6.2L8 14.2l-5.4-3.1V4.9z" />
          <path d="M2.6 4.9L8 8l5.4-3.1M8 8v6.2" />
        </svg>
      </span>
      <span className="flow-node-text">
        <span className="flow-node-title">{data.name}</span>
        <span className="flow-node-detail">{data.detail}</span>
      </span>
      <StatusGlyph status={data.status} />
      <Handle type="source" position={Position.Right} isConnectable={false} />
    </button>
  );
}

const nodeTypes = { dataset: DatasetNode, cell: CellNode, model: ModelNode };

type RoutedEdgeT = Edge<{ points: Point[] }, 'routed'>;

/**
 * An edge along dagre's route: between the handles, through the bend points dagre gave it (an edge
 * that skips ranks goes around the nodes in between, not under them), smoothed with quadratic curves.
 */
function RoutedEdge({ id, sourceX, sourceY, targetX, targetY, data, markerEnd, style }: EdgeProps<RoutedEdgeT>) {
  const inner = (data?.points ?? []).slice(1, -1);
  const pts: Point[] = [{ x: sourceX, y: sourceY }, ...inner, { x: targetX, y: targetY }];
  let d = `M ${pts[0]!.x} ${pts[0]!.y}`;
  for (let i = 1; i < pts.length - 1; i++) {
    const p = pts[i]!;
    const next = pts[i + 1]!;
    d += ` Q ${p.x} ${p.y} ${(p.x + next.x) / 2} ${(p.y + next.y) / 2}`;
  }
  const last = pts[pts.length - 1]!;
  d += ` L ${last.x} ${last.y}`;
  return <BaseEdge id={id} path={d} markerEnd={markerEnd} style={style} />;
}

const edgeTypes = { routed: RoutedEdge };

export type FlowViewProps = {
  graph: PipelineGraph;
  /** Each cell's latest step, for the node's state. */
  steps: BuildStep[] | undefined;
  diagnostics: CompileDiagnostic[];
  /** The cell's name (its title, or what it makes): how the notebook names a cell. */
  cellTitle: (cellId: string) => string;
  onOpenCell: (cellId: string) => void;
  onOpenDataset: (name: string) => void;
  onOpenModel: (name: string) => void;
};

/** The pipeline graph: datasets and cells as nodes, reads and writes as edges, coloured by the latest build. */
export function FlowView({ graph, steps, diagnostics, cellTitle, onOpenCell, onOpenDataset, onOpenModel }: FlowViewProps) {
  // React Flow's controls and attribution draw with colours of their own: give them the app's scheme.
  const scheme = useColorScheme();
  const { nodes, edges, width, height, graphBox } = useMemo(() => {
    const stepOfCell = new Map<string, BuildStep>();
    const writerStep = new Map<string, BuildStep>();
    const trainStep = new Map<string, BuildStep>();
    for (const s of steps ?? []) {
      stepOfCell.set(s.cellId, s);
      if (s.kind === 'train') {
        if (s.model) trainStep.set(s.model, s);
      } else if (s.kind !== 'check' || !writerStep.has(s.dataset)) writerStep.set(s.dataset, s);
    }
    const errors = new Map<string, number>();
    for (const d of diagnostics) if (d.severity === 'error') errors.set(d.cellId, (errors.get(d.cellId) ?? 0) + 1);

    const { positions, routes, width: graphWidth, height: graphHeight } = layoutGraph(
      graph.nodes.map((n) => ({ id: n.id, ...(n.type === 'dataset' ? DATASET_SIZE : n.type === 'model' ? MODEL_SIZE : CELL_SIZE) })),
      graph.edges,
    );
    const nodes: (DatasetNodeT | CellNodeT | ModelNodeT)[] = graph.nodes.map((n) => {
      const p = positions.get(n.id) ?? { x: 0, y: 0 };
      if (n.type === 'model') {
        const step = trainStep.get(n.name);
        const trained = step?.result?.kind === 'train' ? step.result : null;
        const trainedHere = graph.nodes.some((c) => c.type === 'cell' && c.kind === 'train' && c.model === n.name);
        return {
          id: n.id,
          type: 'model',
          position: { x: p.x, y: p.y },
          data: {
            kind: 'model',
            name: n.name,
            status: step?.status ?? 'idle',
            detail: trained ? `version ${trained.version}${trained.value !== null ? ` · AUC ${trained.value.toFixed(2)}` : ''}` : trainedHere ? 'model, trained here' : 'model, from the registry',
            onOpen: () => onOpenModel(n.name),
          },
          draggable: false,
          ariaLabel: `Model ${n.name}`,
        };
      }
      if (n.type === 'dataset') {
        const step = writerStep.get(n.name);
        return {
          id: n.id,
          type: 'dataset',
          position: { x: p.x, y: p.y },
          data: { kind: 'dataset', name: n.name, origin: n.origin, status: step?.status ?? 'idle', rowCount: step?.rowCount ?? null, onOpen: () => onOpenDataset(n.name) },
          draggable: false,
          ariaLabel: `Dataset ${n.name}`,
        };
      }
      // Checks of a built dataset run inside the step that builds it.
      const step = stepOfCell.get(n.cellId) ?? (n.kind === 'check' ? writerStep.get(n.dataset) : undefined);
      const detail =
        n.kind === 'sql' || n.kind === 'ts' || n.kind === 'python' || n.kind === 'score'
          ? `→ ${n.writes || '?'}`
          : n.kind === 'check'
            ? `${n.checks.length} check${n.checks.length === 1 ? '' : 's'}`
            : n.kind === 'train'
              ? `→ model ${n.model || '?'}`
              : n.kind;
      return {
        id: n.id,
        type: 'cell',
        position: { x: p.x, y: p.y },
        data: { kind: 'cell', cellId: n.cellId, title: cellTitle(n.cellId), detail, status: step?.status ?? 'idle', errors: errors.get(n.cellId) ?? 0, onOpen: () => onOpenCell(n.cellId) },
        draggable: false,
        ariaLabel: cellTitle(n.cellId),
      };
    });
    const statusOf = new Map(nodes.map((n) => [n.id, n.data.status]));
    const edges: RoutedEdgeT[] = graph.edges.map((e) => {
      const running = statusOf.get(e.to) === 'running';
      return {
        id: `${e.from}->${e.to}`,
        source: e.from,
        target: e.to,
        type: 'routed',
        data: { points: routes.get(`${e.from}->${e.to}`) ?? [] },
        animated: running,
        className: running ? 'flow-edge-running' : undefined,
        markerEnd: { type: MarkerType.ArrowClosed, width: 16, height: 16, color: '#a1a1aa' },
      };
    });
    // As tall and as wide as the drawing at 100%.
    return { nodes, edges, width: graphWidth + 40, height: Math.min(MAX_HEIGHT, Math.max(220, graphHeight + 40)), graphBox: { width: graphWidth, height: graphHeight } };
  }, [graph, steps, diagnostics, cellTitle, onOpenCell, onOpenDataset, onOpenModel]);

  // The opening viewport needs the view's width: measured before the first paint, so the graph is
  // drawn where it opens instead of moving there once React Flow has initialised.
  const box = useRef<HTMLDivElement>(null);
  const [boxWidth, setBoxWidth] = useState<number | null>(null);
  useLayoutEffect(() => setBoxWidth(box.current?.clientWidth ?? 0), []);
  const opening = useMemo(() => (boxWidth === null ? null : openingViewport({ width: boxWidth, height }, graphBox, MIN_OPEN_ZOOM)), [boxWidth, height, graphBox]);

  // The view is as wide as the page, never wider: the zoom controls (top right) stay on screen however
  // wide the graph. It opens fitted down to 75% at least (labels stay legible); a wider graph opens at
  // 75% from its left and top (where the pipeline starts) and pans (drag), and the controls' fit
  // button shows all of it.
  return (
    <div ref={box} className="flow" style={{ height }} data-testid="flow-view" data-graph-width={width}>
      {opening && (
        <ReactFlow
          colorMode={scheme}
          defaultViewport={opening}
          nodes={nodes}
          edges={edges}
          nodeTypes={nodeTypes}
          edgeTypes={edgeTypes}
          // Low enough for the fit button to show all of a long chain (ten cells are ~7,000 px wide).
          minZoom={0.05}
          maxZoom={1.6}
          nodesDraggable={false}
          nodesConnectable={false}
          elementsSelectable={false}
          // The node's button has no handler of its own: its click (a mouse click, or Enter/Space on the
          // focused button) bubbles to the node, and React Flow gives nodes pointer events only when
          // something listens to them.
          onNodeClick={(_, node) => node.data.onOpen()}
        >
          <Background gap={20} size={1} color="var(--border)" />
          <Controls showInteractive={false} position="top-right" fitViewOptions={{ padding: 0.04, maxZoom: 1 }} />
        </ReactFlow>
      )}
    </div>
  );
}

export function FlowLegend() {
  const items: Status[] = ['idle', 'pending', 'running', 'succeeded', 'failed', 'skipped', 'cancelled'];
  return (
    <ul className="flow-legend" aria-label="Legend">
      {items.map((s) => (
        <li key={s}>
          <span className={`flow-legend-swatch flow-node-${s}`} aria-hidden />
          {s === 'idle' ? 'not built yet' : s}
        </li>
      ))}
    </ul>
  );
}
