'use client';

import { keepPreviousData, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect } from 'react';
import type * as Y from 'yjs';
import { useTRPC } from '../trpc';

/** Quiet time after the last edit before the notebook is compiled again. */
export const COMPILE_DEBOUNCE_MS = 500;

/**
 * The notebook compiled by the server as it is now (the live document the collaboration server
 * holds), again ~500 ms after anyone's last edit. The edit reaches the server over the WebSocket
 * long before the debounce ends. A compile still in flight when another edit lands is cancelled by
 * the refetch, so stale diagnostics never overwrite fresh ones; the previous result stays on screen
 * meanwhile so markers do not flicker.
 */
export function useNotebookCompile(projectId: string, notebookId: string, doc: Y.Doc | null) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const input = { projectId, notebookId };
  const compiled = useQuery(
    trpc.pipeline.compile.queryOptions(input, { placeholderData: keepPreviousData, staleTime: 10_000, retry: false }),
  );
  useEffect(() => {
    if (!doc) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const onUpdate = () => {
      clearTimeout(timer);
      timer = setTimeout(() => void queryClient.invalidateQueries({ queryKey: trpc.pipeline.compile.queryKey({ projectId, notebookId }) }), COMPILE_DEBOUNCE_MS);
    };
    doc.on('update', onUpdate);
    return () => {
      clearTimeout(timer);
      doc.off('update', onUpdate);
    };
  }, [doc, projectId, notebookId, queryClient, trpc]);
  return compiled;
}
