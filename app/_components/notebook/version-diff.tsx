'use client';

import type { RouterOutputs } from '../types';
import { cellKindLabel } from './cell-kinds';

/** Between two notebook versions, or the last bundle and the notebook (the promote dialog). */
type Diff = Pick<RouterOutputs['notebooks']['diffVersions'], 'cells' | 'summary'>;
type CellDiff = Diff['cells'][number];
type Line = CellDiff['lines'][number];

const CONTEXT = 2;

/** Changed lines with CONTEXT lines around them; longer unchanged runs fold into one marker. */
function hunks(lines: Line[]): (Line | { skipped: number })[] {
  const near = lines.map(() => false);
  lines.forEach((l, i) => {
    if (l.op === 'context') return;
    for (let j = Math.max(0, i - CONTEXT); j <= Math.min(lines.length - 1, i + CONTEXT); j++) near[j] = true;
  });
  const out: (Line | { skipped: number })[] = [];
  lines.forEach((l, i) => {
    if (near[i]) out.push(l);
    else {
      const last = out[out.length - 1];
      if (last && 'skipped' in last) last.skipped++;
      else out.push({ skipped: 1 });
    }
  });
  return out;
}

function kindText(d: CellDiff): string {
  const { from, to } = d.kind;
  if (from && to && from !== to) return `${cellKindLabel(from)} → ${cellKindLabel(to)}`;
  const k = to ?? from;
  return k ? cellKindLabel(k) : '';
}

export function VersionDiff({ diff }: { diff: Diff }) {
  const { summary } = diff;
  let position = 0;
  const shown = diff.cells
    .map((c) => ({ c, position: c.status === 'removed' ? null : ++position }))
    .filter(({ c }) => c.status !== 'unchanged' || c.moved || c.collapsedChanged);
  return (
    <div className="diff" data-testid="version-diff">
      <p className="diff-summary">
        <span className="diff-count diff-count-changed">{summary.changed} changed</span>
        <span className="diff-count diff-count-added">{summary.added} added</span>
        <span className="diff-count diff-count-removed">{summary.removed} removed</span>
        <span className="muted">{summary.unchanged} unchanged</span>
      </p>
      {shown.length === 0 && <p className="muted">No differences.</p>}
      {shown.map(({ c, position: at }) => (
        <div key={c.id} className={`diff-cell diff-cell-${c.status}`} data-cell-id={c.id}>
          <div className="diff-cell-head">
            <span className={`badge diff-status diff-status-${c.status}`}>{c.status}</span>
            <span className="strong">{at === null ? 'Removed cell' : `Cell ${at}`}</span>
            <span className="muted">{kindText(c)}</span>
            {c.moved && <span className="badge diff-flag">moved</span>}
            {c.collapsedChanged && <span className="badge diff-flag">collapsed changed</span>}
            <span className="diff-stats">
              {c.stats.added > 0 && <span className="diff-plus">+{c.stats.added}</span>}
              {c.stats.removed > 0 && <span className="diff-minus">−{c.stats.removed}</span>}
            </span>
          </div>
          {c.lines.length > 0 && (
            <pre className="diff-lines">
              {hunks(c.lines).map((l, i) =>
                'skipped' in l ? (
                  <div key={i} className="diff-line diff-skip">
                    ⋯ {l.skipped} unchanged {l.skipped === 1 ? 'line' : 'lines'}
                  </div>
                ) : (
                  <DiffLine key={i} op={l.op} text={l.text} />
                ),
              )}
            </pre>
          )}
        </div>
      ))}
    </div>
  );
}

/** One line of a text diff: its sign, a screen-reader word, and the text. */
export function DiffLine({ op, text }: { op: string; text: string }) {
  return (
    <div className={`diff-line diff-${op}`}>
      <span className="diff-sign" aria-hidden>
        {op === 'add' ? '+' : op === 'del' ? '−' : ' '}
      </span>
      <span className="sr-only">{op === 'add' ? 'added: ' : op === 'del' ? 'removed: ' : ''}</span>
      {text || ' '}
    </div>
  );
}
