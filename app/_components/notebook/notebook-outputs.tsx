'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import * as Y from 'yjs';
import { cellOutputRefOf, findCell, observeCells } from '@/server/domain/notebook-doc';
import { isLive } from '../builds/build-types';
import { useTRPC } from '../trpc';
import { useNotebookPipeline } from './notebook-pipeline';
import type { CellOutput } from './output-types';

/** Every cell's latest stored output, shared live, and Run cell (a preview: it publishes nothing). */
export type NotebookOutputs = {
  projectId: string;
  notebookId: string;
  canRun: boolean;
  outputOf: (cellId: string) => CellOutput | undefined;
  isRunning: (cellId: string) => boolean;
  runErrorOf: (cellId: string) => string | null;
  /** `limit`: rows to bring back (default 1,000; the server allows up to 10,000). */
  run: (cellId: string, limit?: number) => void;
  /** When this client last received the cell's output (epoch ms, this machine's clock): what the browser test measures. */
  receivedAt: (cellId: string) => number | undefined;
};

const Context = createContext<NotebookOutputs | null>(null);

/** This client's Yjs state vector, base64: the server runs the cell once it has every edit in it. */
function seenOf(doc: Y.Doc): string {
  let bin = '';
  for (const b of Y.encodeStateVector(doc)) bin += String.fromCharCode(b);
  return btoa(bin);
}

function newer(a: CellOutput | undefined, b: CellOutput): boolean {
  if (!a) return true;
  if (a.outputId === b.outputId) return a.stale !== b.stale || a.staleReason !== b.staleReason;
  return new Date(b.ranAt).getTime() >= new Date(a.ranAt).getTime();
}

/**
 * Outputs are stored by the server; the document carries only a reference (`output` of the cell
 * map: `{ outputId, ranAt }`), which the server writes when it stores the output (the browser never
 * does: it would race the server's write). Every client observes that key and fetches the one output
 * it names, so a run reaches viewers too without pushing rows through Yjs; the client that ran the
 * cell takes its output from the response instead.
 */
export function NotebookOutputsProvider({ projectId, notebookId, doc, canRun, children }: { projectId: string; notebookId: string; doc: Y.Doc | null; canRun: boolean; children: ReactNode }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const all = useQuery(trpc.notebooks.outputs.queryOptions({ projectId, notebookId }, { staleTime: 5_000 }));
  const [byCell, setByCell] = useState<Map<string, CellOutput>>(() => new Map());
  const [running, setRunning] = useState<Set<string>>(() => new Set());
  const [errors, setErrors] = useState<Map<string, string>>(() => new Map());
  const received = useRef(new Map<string, number>());
  // Cells this client is running: their reference may arrive before the response, which brings the output.
  const mine = useRef(new Set<string>());
  const current = useRef(byCell);
  current.current = byCell;

  const accept = useCallback((outputs: CellOutput[]) => {
    const fresh = outputs.filter((o) => newer(current.current.get(o.cellId), o));
    if (fresh.length === 0) return;
    // Epoch ms, so two pages (contexts) of one browser compare on one clock.
    const now = performance.timeOrigin + performance.now();
    for (const o of fresh) received.current.set(o.cellId, Math.round(now));
    setByCell((prev) => {
      const next = new Map(prev);
      for (const o of fresh) if (newer(next.get(o.cellId), o)) next.set(o.cellId, o);
      return next;
    });
  }, []);

  useEffect(() => {
    if (all.data) accept(all.data.outputs);
  }, [all.data, accept]);

  const fetchOutput = useCallback(
    (cellId: string) =>
      void queryClient
        .fetchQuery(trpc.notebooks.cellOutput.queryOptions({ projectId, notebookId, cellId }, { staleTime: 0 }))
        .then((o) => {
          if (o) accept([o]);
        })
        .catch(() => undefined),
    [queryClient, trpc, projectId, notebookId, accept],
  );

  // Someone ran a cell: fetch the output its reference names (unless this client has it or is about to).
  useEffect(() => {
    if (!doc) return;
    const onChange = (events: Y.YEvent<Y.AbstractType<unknown>>[]) => {
      for (const e of events) {
        if (!(e.target instanceof Y.Map) || !(e as Y.YMapEvent<unknown>).keysChanged.has('output')) continue;
        const cellId = e.target.get('id');
        const ref = e.target.get('output') as { outputId?: string } | undefined;
        if (typeof cellId !== 'string' || !ref?.outputId || mine.current.has(cellId) || current.current.get(cellId)?.outputId === ref.outputId) continue;
        fetchOutput(cellId);
      }
    };
    return observeCells(doc, onChange);
  }, [doc, fetchOutput]);

  // A finished build changes inputs: the stored outputs' stale flags are the server's to recompute.
  const latest = useNotebookPipeline().latest;
  const buildState = latest ? `${latest.runId}:${isLive(latest.status) ? 'live' : 'done'}` : '';
  const refetch = all.refetch;
  useEffect(() => {
    if (buildState.endsWith(':done')) void refetch();
  }, [buildState, refetch]);

  const mutation = useMutation(trpc.notebooks.runCell.mutationOptions());
  const runAsync = mutation.mutateAsync;
  const run = useCallback(
    (cellId: string, limit?: number) => {
      setRunning((s) => new Set(s).add(cellId));
      mine.current.add(cellId);
      setErrors((m) => {
        const next = new Map(m);
        next.delete(cellId);
        return next;
      });
      void runAsync({ projectId, notebookId, cellId, ...(limit ? { limit } : {}), ...(doc ? { seen: seenOf(doc) } : {}) })
        .then(
          (o) => {
            accept([o]);
            return o.outputId;
          },
          (e: unknown) => {
            setErrors((m) => new Map(m).set(cellId, e instanceof Error ? e.message : String(e)));
            return null;
          },
        )
        .then((got) => {
          mine.current.delete(cellId);
          // Someone else's run may have landed while ours was out: the reference names the newest.
          const cell = doc ? findCell(doc, cellId) : undefined;
          const ref = cell ? cellOutputRefOf(cell) : null;
          if (ref && ref.outputId !== got && current.current.get(cellId)?.outputId !== ref.outputId) fetchOutput(cellId);
          setRunning((s) => {
            const next = new Set(s);
            next.delete(cellId);
            return next;
          });
        });
    },
    [runAsync, projectId, notebookId, doc, accept, fetchOutput],
  );

  const value = useMemo<NotebookOutputs>(
    () => ({
      projectId,
      notebookId,
      canRun,
      outputOf: (id) => byCell.get(id),
      isRunning: (id) => running.has(id),
      runErrorOf: (id) => errors.get(id) ?? null,
      run,
      receivedAt: (id) => received.current.get(id),
    }),
    [projectId, notebookId, canRun, byCell, running, errors, run],
  );
  return <Context.Provider value={value}>{children}</Context.Provider>;
}

export function useNotebookOutputs(): NotebookOutputs {
  const v = useContext(Context);
  if (!v) throw new Error('useNotebookOutputs outside NotebookOutputsProvider');
  return v;
}
