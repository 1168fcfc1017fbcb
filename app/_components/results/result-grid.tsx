'use client';

import './results.css';
import { useVirtualizer } from '@tanstack/react-virtual';
import { useCallback, useMemo, useRef, useState, type KeyboardEvent, type PointerEvent as ReactPointerEvent, type ReactNode } from 'react';
import { formatCount } from '../datasets/format';
import { compareValues, copyText, formatValue, viewerTimeZone } from './format-value';
import { isNumericType, type ResultColumn } from './result-types';

const ROW_HEIGHT = 28;
const NUMBER_WIDTH = 56;
const MIN_WIDTH = 60;

type Sort = { column: number; dir: 'asc' | 'desc' } | null;
type Point = { row: number; column: number };
type Selection = { anchor: Point; focus: Point } | null;

function initialWidth(c: ResultColumn): number {
  // Room for the name, the type badge and the sort arrow.
  const byName = c.name.length * 8 + 84;
  const byType = c.type === 'timestamp' ? 190 : c.type === 'text' ? 160 : 100;
  return Math.min(320, Math.max(byName, byType));
}

const typeLabel: Record<string, string> = { integer: 'int', numeric: 'num', boolean: 'bool', timestamp: 'time', text: 'text' };

/** Rows of a selection rectangle as tab-separated text (what spreadsheets paste). */
function selectionText(sel: NonNullable<Selection>, view: number[], rows: unknown[][]): string {
  const [r0, r1] = [Math.min(sel.anchor.row, sel.focus.row), Math.max(sel.anchor.row, sel.focus.row)];
  const [c0, c1] = [Math.min(sel.anchor.column, sel.focus.column), Math.max(sel.anchor.column, sel.focus.column)];
  const lines: string[] = [];
  for (let r = r0; r <= r1; r++) {
    const row = rows[view[r]!];
    if (!row) continue;
    const cells: string[] = [];
    for (let c = c0; c <= c1; c++) cells.push(copyText(row[c]));
    lines.push(cells.join('\t'));
  }
  return lines.join('\n');
}

async function writeClipboard(text: string): Promise<void> {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    // Without the async clipboard (an insecure origin, or permission denied): the old way.
    const area = document.createElement('textarea');
    area.value = text;
    document.body.append(area);
    area.select();
    document.execCommand('copy');
    area.remove();
  }
}

/**
 * A query result as a grid: only the rows in view are in the DOM (TanStack Virtual), so a 100k-row
 * result scrolls as smoothly as ten. Sorting and filtering work on the rows the browser holds; the
 * caller says (in `summary`) when those are a preview of a larger result.
 */
export function ResultGrid({ columns, rows, label, summary, actions, height = 360 }: {
  columns: ResultColumn[];
  rows: unknown[][];
  label: string;
  /** Left of the footer: what these rows are ("1,000 of 2,300,000 rows"). */
  summary?: ReactNode;
  /** Right of the footer, before Copy (Download CSV). */
  actions?: ReactNode;
  height?: number;
}) {
  const [sort, setSort] = useState<Sort>(null);
  const [filters, setFilters] = useState<string[]>(() => columns.map(() => ''));
  const [widths, setWidths] = useState<number[]>(() => columns.map(initialWidth));
  const [selection, setSelection] = useState<Selection>(null);
  const [copied, setCopied] = useState<string | null>(null);
  const scroller = useRef<HTMLDivElement>(null);

  // A new result may have other columns: reset what was per column.
  const shape = columns.map((c) => `${c.name}:${c.type}`).join(',');
  const [lastShape, setLastShape] = useState(shape);
  if (shape !== lastShape) {
    setLastShape(shape);
    setSort(null);
    setFilters(columns.map(() => ''));
    setWidths(columns.map(initialWidth));
    setSelection(null);
  }

  const view = useMemo(() => {
    const active = filters.map((f, i) => [i, f.trim().toLowerCase()] as const).filter(([, f]) => f !== '');
    let out: number[] = [];
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i]!;
      const keep = active.every(([c, f]) => {
        const v = row[c];
        if (v === null || v === undefined) return 'null'.includes(f);
        const type = columns[c]?.type ?? 'text';
        return copyText(v).toLowerCase().includes(f) || (type === 'timestamp' && formatValue(v, type).toLowerCase().includes(f));
      });
      if (keep) out.push(i);
    }
    if (sort) {
      const type = columns[sort.column]?.type ?? 'text';
      const sign = sort.dir === 'asc' ? 1 : -1;
      out = out.sort((a, b) => {
        const va = rows[a]![sort.column];
        const vb = rows[b]![sort.column];
        // NULLs last in both directions, as Postgres' NULLS LAST reads best in a preview.
        if (va === null || va === undefined || vb === null || vb === undefined) return compareValues(va, vb, type);
        return sign * compareValues(va, vb, type) || a - b;
      });
    }
    return out;
  }, [rows, columns, filters, sort]);

  const virtualizer = useVirtualizer({ count: view.length, getScrollElement: () => scroller.current, estimateSize: () => ROW_HEIGHT, overscan: 12 });
  const totalWidth = NUMBER_WIDTH + widths.reduce((a, b) => a + b, 0);
  const template = `${NUMBER_WIDTH}px ${widths.map((w) => `${w}px`).join(' ')}`;

  const toggleSort = (c: number) =>
    setSort((s) => (!s || s.column !== c ? { column: c, dir: 'asc' } : s.dir === 'asc' ? { column: c, dir: 'desc' } : null));

  const startResize = (c: number, e: ReactPointerEvent) => {
    e.preventDefault();
    e.stopPropagation();
    const x0 = e.clientX;
    const w0 = widths[c] ?? MIN_WIDTH;
    const move = (ev: PointerEvent) => setWidths((ws) => ws.map((w, i) => (i === c ? Math.max(MIN_WIDTH, w0 + ev.clientX - x0) : w)));
    const up = () => {
      window.removeEventListener('pointermove', move);
      window.removeEventListener('pointerup', up);
    };
    window.addEventListener('pointermove', move);
    window.addEventListener('pointerup', up);
  };

  const copy = useCallback(
    async (what: 'selection' | 'all') => {
      let text: string;
      let told: string;
      if (what === 'selection' && selection) {
        text = selectionText(selection, view, rows);
        const n = (Math.abs(selection.anchor.row - selection.focus.row) + 1) * (Math.abs(selection.anchor.column - selection.focus.column) + 1);
        told = n === 1 ? 'Copied the cell' : `Copied ${formatCount(n)} cells`;
      } else {
        text = [columns.map((c) => c.name).join('\t'), ...view.map((i) => (rows[i] ?? []).map(copyText).join('\t'))].join('\n');
        told = `Copied ${formatCount(view.length)} rows`;
      }
      await writeClipboard(text);
      setCopied(told);
      setTimeout(() => setCopied(null), 1_500);
    },
    [selection, view, rows, columns],
  );

  const onKeyDown = (e: KeyboardEvent<HTMLDivElement>) => {
    if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === 'c' && selection) {
      e.preventDefault();
      void copy('selection');
      return;
    }
    if (e.key === 'Escape' && selection) {
      setSelection(null);
      e.stopPropagation();
    }
  };

  const inSelection = (r: number, c: number) =>
    selection !== null &&
    r >= Math.min(selection.anchor.row, selection.focus.row) &&
    r <= Math.max(selection.anchor.row, selection.focus.row) &&
    c >= Math.min(selection.anchor.column, selection.focus.column) &&
    c <= Math.max(selection.anchor.column, selection.focus.column);

  const zone = viewerTimeZone();
  const filtered = view.length !== rows.length;

  return (
    <div className="result-grid" data-rows={view.length}>
      <div
        ref={scroller}
        className="result-grid-scroll"
        style={{ maxHeight: height }}
        role="grid"
        aria-label={label}
        aria-rowcount={view.length + 1}
        aria-colcount={columns.length}
        tabIndex={0}
        onKeyDown={onKeyDown}
      >
        <div className="result-grid-head" style={{ width: totalWidth, gridTemplateColumns: template }} role="row">
          <div className="result-grid-corner" role="columnheader" aria-label="Row number">
            #
          </div>
          {columns.map((c, i) => (
            <div key={`${c.name}-${i}`} className={`result-grid-th${isNumericType(c.type) ? ' align-right' : ''}`} role="columnheader" aria-sort={sort?.column === i ? (sort.dir === 'asc' ? 'ascending' : 'descending') : 'none'}>
              <button type="button" className="result-grid-sort" onClick={() => toggleSort(i)} title={`${c.name} (${c.type}${c.type === 'timestamp' ? `, shown in ${zone}` : ''}): sort`}>
                <span className="result-grid-name">{c.name}</span>
                <span className={`result-grid-type type-${c.type}`}>{typeLabel[c.type] ?? c.type}</span>
                {sort?.column === i && <span aria-hidden>{sort.dir === 'asc' ? '▲' : '▼'}</span>}
              </button>
              <span className="result-grid-resize" role="separator" aria-orientation="vertical" aria-label={`Resize ${c.name}`} onPointerDown={(e) => startResize(i, e)} />
            </div>
          ))}
        </div>
        <div className="result-grid-filters" style={{ width: totalWidth, gridTemplateColumns: template }} role="row">
          <div className="result-grid-corner" />
          {columns.map((c, i) => (
            <input
              key={`${c.name}-${i}`}
              className="result-grid-filter"
              type="search"
              placeholder="filter"
              aria-label={`Filter ${c.name}`}
              value={filters[i] ?? ''}
              onChange={(e) => {
                const v = e.target.value;
                setFilters((fs) => fs.map((f, j) => (j === i ? v : f)));
                setSelection(null);
              }}
            />
          ))}
        </div>
        <div className="result-grid-body" style={{ height: virtualizer.getTotalSize(), width: totalWidth }}>
          {virtualizer.getVirtualItems().map((item) => {
            const row = rows[view[item.index]!] ?? [];
            return (
              <div key={item.key} className="result-grid-row" role="row" aria-rowindex={item.index + 2} style={{ transform: `translateY(${item.start}px)`, gridTemplateColumns: template, width: totalWidth }}>
                <div className="result-grid-num" role="rowheader">
                  {formatCount(view[item.index]! + 1)}
                </div>
                {columns.map((c, ci) => {
                  const v = row[ci];
                  const selected = inSelection(item.index, ci);
                  return (
                    <div
                      key={ci}
                      role="gridcell"
                      aria-selected={selected || undefined}
                      className={`result-grid-cell${isNumericType(c.type) ? ' align-right tabular' : ''}${selected ? ' selected' : ''}`}
                      title={v === null || v === undefined ? 'NULL' : c.type === 'timestamp' ? `${copyText(v)} (shown in ${zone})` : copyText(v)}
                      onMouseDown={(e) => {
                        const p = { row: item.index, column: ci };
                        setSelection((s) => (e.shiftKey && s ? { anchor: s.anchor, focus: p } : { anchor: p, focus: p }));
                      }}
                    >
                      {v === null || v === undefined ? <span className="null">NULL</span> : formatValue(v, c.type)}
                    </div>
                  );
                })}
              </div>
            );
          })}
        </div>
        {view.length === 0 && <p className="result-grid-empty muted">{rows.length === 0 ? 'No rows.' : 'No rows match the filters.'}</p>}
      </div>
      <div className="result-grid-foot">
        <span className="muted small" aria-live="polite">
          {summary}
          {filtered && <> · {formatCount(view.length)} match the filters</>}
        </span>
        <span className="cell-head-spacer" />
        {copied && (
          <span className="small ok-text" role="status">
            {copied}
          </span>
        )}
        {actions}
        <button type="button" className="btn btn-sm btn-ghost" onClick={() => void copy(selection ? 'selection' : 'all')} title={selection ? 'Copy the selected cells (Ctrl+C)' : 'Copy the rows shown, with a header, as tab-separated text'}>
          {selection ? 'Copy selection' : 'Copy rows'}
        </button>
      </div>
    </div>
  );
}
