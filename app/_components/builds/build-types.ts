import { assertNever } from '../notebook/cell-kinds';
import type { RouterOutputs } from '../types';

export type Build = RouterOutputs['builds']['get'];
export type BuildSummary = RouterOutputs['builds']['list'][number];
export type BuildStep = Build['steps'][number];
export type BuildStatus = Build['status'];
export type StepStatus = BuildStep['status'];
export type CheckOutcome = BuildStep['checks'][number];
export type BuildTarget = Build['target'];
export type CompiledNotebook = RouterOutputs['pipeline']['compile'];
export type PipelineGraph = CompiledNotebook['graph'];
export type GraphNode = PipelineGraph['nodes'][number];
export type CompileDiagnostic = CompiledNotebook['diagnostics'][number];

export const isLive = (status: BuildStatus | undefined | null): boolean => status === 'queued' || status === 'running';

/** How a step's status reads, and the glyph that carries it where colour alone would not. */
export function stepStatusMeta(status: StepStatus | BuildStatus): { label: string; icon: string } {
  switch (status) {
    case 'pending':
      return { label: 'pending', icon: '○' };
    case 'queued':
      return { label: 'queued', icon: '○' };
    case 'running':
      return { label: 'running', icon: '◐' };
    case 'succeeded':
      return { label: 'succeeded', icon: '✓' };
    case 'failed':
      return { label: 'failed', icon: '✕' };
    case 'skipped':
      return { label: 'skipped', icon: '–' };
    case 'cancelled':
      return { label: 'cancelled', icon: '⊘' };
    default:
      return assertNever(status, 'build status');
  }
}

const capitalise = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

/** What a build was asked to do: "Run all", "cell 2 and downstream" (or "A cell and downstream" without names). */
export function targetLabel(target: BuildTarget, cellName?: (cellId: string) => string): string {
  switch (target.kind) {
    case 'all':
      return 'Run all';
    case 'cell':
      return cellName ? `Only ${cellName(target.cellId)}` : 'One cell';
    case 'downstream':
      return cellName ? capitalise(`${cellName(target.cellId)} and downstream`) : 'A cell and downstream';
    default:
      return assertNever(target, 'build target');
  }
}

export const buildHref = (projectId: string, runId: string) => `/projects/${projectId}/builds/${runId}`;
export const cellHref = (projectId: string, notebookId: string, cellId: string) => `/projects/${projectId}/notebooks/${notebookId}?cell=${encodeURIComponent(cellId)}`;

/** Failed error-level checks first, then warnings, then passes. */
export function checkSummary(checks: CheckOutcome[]): { passed: number; failed: number; warned: number } {
  let passed = 0;
  let failed = 0;
  let warned = 0;
  for (const c of checks) {
    if (c.passed) passed++;
    else if (c.severity === 'error') failed++;
    else warned++;
  }
  return { passed, failed, warned };
}
