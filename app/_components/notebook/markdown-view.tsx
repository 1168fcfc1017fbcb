'use client';

import DOMPurify from 'dompurify';
import { marked } from 'marked';
import { useMemo, type KeyboardEvent, type MouseEvent } from 'react';
import type * as Y from 'yjs';
import { useText } from './use-cells';

/** Markdown from the notebook is anyone's input: parsed by marked, then sanitised before it is HTML. */
function renderMarkdown(source: string): string {
  return DOMPurify.sanitize(marked.parse(source, { async: false, gfm: true }), { USE_PROFILES: { html: true } });
}

/** A markdown cell when nobody is editing it here; a click (or Enter) opens the editor for editors. */
export function MarkdownView({ text, onEdit }: { text: Y.Text; onEdit?: () => void }) {
  const source = useText(text);
  const html = useMemo(() => renderMarkdown(source), [source]);
  const edit = (e: MouseEvent) => {
    // Following a link is not a request to edit.
    if ((e.target as HTMLElement).closest('a')) return;
    onEdit?.();
  };
  const onKeyDown = (e: KeyboardEvent) => {
    if (e.key === 'Enter' && onEdit) {
      e.preventDefault();
      onEdit();
    }
  };
  if (!source.trim()) {
    return (
      <div className={`markdown-view markdown-empty${onEdit ? ' markdown-editable' : ''}`} onClick={edit} onKeyDown={onKeyDown} tabIndex={onEdit ? 0 : undefined} role={onEdit ? 'button' : undefined}>
        {onEdit ? 'Empty text cell. Click to write Markdown.' : 'Empty text cell.'}
      </div>
    );
  }
  return (
    <div
      className={`markdown-view markdown-body${onEdit ? ' markdown-editable' : ''}`}
      onClick={edit}
      onKeyDown={onKeyDown}
      tabIndex={onEdit ? 0 : undefined}
      title={onEdit ? 'Click to edit' : undefined}
      dangerouslySetInnerHTML={{ __html: html }}
    />
  );
}
