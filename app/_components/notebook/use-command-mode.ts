'use client';

import { useCallback, useRef, type KeyboardEvent } from 'react';
import type * as Y from 'yjs';
import { deleteCell } from '@/server/domain/notebook-doc';
import { cellEditors, type EditorCommand } from './cell-editor';
import type { CellKind } from './cell-kinds';
import { useNotebookOutputs } from './notebook-outputs';
import type { CellView } from './use-cells';

/** Two presses of `d` within this count as `dd` (Jupyter's delete). */
const DOUBLE_PRESS_MS = 600;
export const OPEN_SHORTCUTS_EVENT = 'stagebook:shortcuts';

const cellElement = (id: string) => document.querySelector<HTMLElement>(`section.cell[data-cell-id="${CSS.escape(id)}"]`);

/** Command mode: the cell itself has focus (Esc from its editor), and single keys act on cells. */
export function focusCell(id: string): void {
  const el = cellElement(id);
  if (!el) return;
  el.focus({ preventScroll: true });
  el.scrollIntoView({ block: 'nearest' });
}

function editCell(id: string): void {
  const editor = cellEditors.get(id);
  if (editor) {
    editor.focus();
    cellElement(id)?.scrollIntoView({ block: 'nearest' });
  } else {
    focusCell(id);
  }
}

/**
 * Jupyter's keys. In an editor: Shift+Enter runs and moves to the next cell, Ctrl/Cmd+Enter runs,
 * Alt+Enter runs and inserts a cell below, Esc leaves the editor for command mode. In command mode:
 * j/k (or arrows) move, a/b insert above/below, dd deletes, Enter edits, `?` lists the keys.
 */
export function useCommandMode({ doc, cells, canEdit, add }: { doc: Y.Doc; cells: CellView[]; canEdit: boolean; add: (kind: CellKind, index: number) => void }) {
  const outputs = useNotebookOutputs();
  const lastD = useRef(0);
  const cellsRef = useRef(cells);
  cellsRef.current = cells;

  const runnable = (c: CellView | undefined) => !!c && (c.kind === 'sql' || c.kind === 'ts' || c.kind === 'python');
  const run = useCallback(
    (c: CellView | undefined) => {
      if (c && runnable(c) && outputs.canRun) outputs.run(c.id);
    },
    [outputs],
  );

  const runAndNext = useCallback(
    (index: number) => {
      const list = cellsRef.current;
      const cell = list[index];
      run(cell);
      const next = list[index + 1];
      if (next) editCell(next.id);
      else if (canEdit && cell) add(cell.kind === 'markdown' ? 'sql' : cell.kind, index + 1);
    },
    [run, canEdit, add],
  );

  const onCommand = useCallback(
    (cellId: string, command: EditorCommand) => {
      const list = cellsRef.current;
      const index = list.findIndex((c) => c.id === cellId);
      const cell = list[index];
      switch (command) {
        case 'command-mode':
          focusCell(cellId);
          break;
        case 'run':
          run(cell);
          break;
        case 'run-next':
          runAndNext(index);
          break;
        case 'run-insert':
          run(cell);
          if (canEdit && cell) add(cell.kind === 'markdown' ? 'sql' : cell.kind, index + 1);
          break;
      }
    },
    [run, runAndNext, canEdit, add],
  );

  const onKeyDown = (e: KeyboardEvent<HTMLDivElement>) => {
    const target = e.target as HTMLElement;
    if (!target.matches('section.cell') || e.altKey) return;
    const id = target.dataset.cellId;
    const list = cellsRef.current;
    const index = list.findIndex((c) => c.id === id);
    if (index < 0) return;
    const cell = list[index]!;
    const key = e.key;
    let handled = true;
    if ((key === 'Enter' && e.shiftKey) || (key === 'Enter' && (e.ctrlKey || e.metaKey))) {
      if (e.shiftKey) runAndNext(index);
      else run(cell);
    } else if (e.ctrlKey || e.metaKey) {
      handled = false;
    } else if (key === 'j' || key === 'ArrowDown') {
      const next = list[index + 1];
      if (next) focusCell(next.id);
    } else if (key === 'k' || key === 'ArrowUp') {
      const prev = list[index - 1];
      if (prev) focusCell(prev.id);
    } else if (key === 'Enter') {
      editCell(cell.id);
    } else if (key === '?') {
      window.dispatchEvent(new Event(OPEN_SHORTCUTS_EVENT));
    } else if (canEdit && key === 'a') {
      add(cell.kind === 'markdown' ? 'sql' : cell.kind, index);
    } else if (canEdit && key === 'b') {
      add(cell.kind === 'markdown' ? 'sql' : cell.kind, index + 1);
    } else if (canEdit && key === 'd') {
      const now = performance.now();
      if (now - lastD.current < DOUBLE_PRESS_MS) {
        lastD.current = 0;
        const neighbour = list[index + 1] ?? list[index - 1];
        deleteCell(doc, cell.id);
        if (neighbour) setTimeout(() => focusCell(neighbour.id), 0);
      } else {
        lastD.current = now;
      }
    } else {
      handled = false;
    }
    if (handled) e.preventDefault();
  };

  return { onKeyDown, onCommand };
}
