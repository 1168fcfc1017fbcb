'use client';

import { createContext, useContext, useMemo, type ReactNode } from 'react';
import type * as Y from 'yjs';
import type { Build, BuildStep, BuildTarget, CompileDiagnostic, CompiledNotebook } from '../builds/build-types';
import { useBuildActions, useRecentBuilds } from '../builds/use-builds';
import { useNotebookCompile } from './use-compile';

/** What the cells need from the pipeline: their diagnostics, their step in the latest build, and Run. */
export type NotebookPipeline = {
  projectId: string;
  notebookId: string;
  compiled: CompiledNotebook | undefined;
  compileError: { message: string } | null;
  diagnosticsOf: (cellId: string) => CompileDiagnostic[];
  /**
   * The cell's step in the newest recent build that ran it: its own, or for a check cell the step that
   * builds its dataset; with that build.
   */
  stepOf: (cellId: string) => { step: BuildStep; build: Build } | undefined;
  /** Cells that a build can start from (sql, ts, check, train, score). */
  isBuildable: (cellId: string) => boolean;
  /** The kind of a cell in the last compile. */
  cellKindOf: (cellId: string) => string | undefined;
  latest: Build | undefined;
  /** Each cell's step from the newest recent build that ran it (what the Flow view colours). */
  currentSteps: BuildStep[];
  canRun: boolean;
  run: (target: BuildTarget) => void;
  cancel: (runId: string) => void;
  starting: BuildTarget | null;
  /** Cells the last build this client started left out (broken, or downstream of a broken one). */
  skipped: { cellId: string; name: string; reason: string }[];
  cancelling: boolean;
  runError: { message: string } | null;
  dismissRunError: () => void;
};

const Context = createContext<NotebookPipeline | null>(null);
const none: CompileDiagnostic[] = [];
const none2: NotebookPipeline['skipped'] = [];

export function NotebookPipelineProvider({ projectId, notebookId, doc, canRun, children }: {
  projectId: string;
  notebookId: string;
  doc: Y.Doc | null;
  canRun: boolean;
  children: ReactNode;
}) {
  const compile = useNotebookCompile(projectId, notebookId, doc);
  const { latest, builds } = useRecentBuilds(projectId, notebookId);
  const actions = useBuildActions(projectId, notebookId);
  const compiled = compile.data;

  // Per compile, so each cell's diagnostics keep their identity (and its markers are not reset) between compiles.
  const index = useMemo(() => {
    const byCell = new Map<string, CompileDiagnostic[]>();
    for (const d of compiled?.diagnostics ?? []) byCell.set(d.cellId, [...(byCell.get(d.cellId) ?? []), d]);
    const checkedDataset = new Map<string, string>();
    const buildable = new Set<string>();
    const kinds = new Map<string, string>();
    for (const n of compiled?.graph.nodes ?? []) {
      if (n.type !== 'cell') continue;
      kinds.set(n.cellId, n.kind);
      if (n.kind === 'check') checkedDataset.set(n.cellId, n.dataset);
      // A SQL cell without `-- writes:` is a scratch query: previewed, never built.
      if (n.kind !== 'scenario' && n.kind !== 'endpoint' && !(n.kind === 'sql' && !n.writes)) buildable.add(n.cellId);
    }
    return { byCell, checkedDataset, buildable, kinds };
  }, [compiled]);

  const { byCell, checkedDataset, buildable, kinds } = index;
  const currentSteps = useMemo(() => {
    const seen = new Set<string>();
    const out: BuildStep[] = [];
    for (const build of builds) {
      for (const step of build.steps) {
        if (seen.has(step.stepId)) continue;
        seen.add(step.stepId);
        out.push(step);
      }
    }
    return out;
  }, [builds]);
  const value: NotebookPipeline = (() => {
    return {
      projectId,
      notebookId,
      compiled,
      compileError: compile.error,
      diagnosticsOf: (cellId) => byCell.get(cellId) ?? none,
      stepOf: (cellId) => {
        const dataset = checkedDataset.get(cellId);
        for (const build of builds) {
          const step = build.steps.find((s) => s.cellId === cellId) ?? (dataset ? build.steps.find((s) => s.dataset === dataset && s.kind !== 'check' && s.kind !== 'train') : undefined);
          if (step) return { step, build };
        }
        return undefined;
      },
      isBuildable: (cellId) => buildable.has(cellId),
      cellKindOf: (cellId) => kinds.get(cellId),
      latest,
      currentSteps,
      canRun,
      run: actions.start,
      cancel: actions.cancel,
      starting: actions.starting,
      skipped: actions.started?.skipped ?? none2,
      cancelling: actions.cancelling,
      runError: actions.error,
      dismissRunError: actions.dismissError,
    };
  })();

  return <Context.Provider value={value}>{children}</Context.Provider>;
}

export function useNotebookPipeline(): NotebookPipeline {
  const value = useContext(Context);
  if (!value) throw new Error('useNotebookPipeline outside NotebookPipelineProvider');
  return value;
}
