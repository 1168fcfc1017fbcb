'use client';

import { useState } from 'react';

/** Which rows of a steps table have their log open: `isOpen(key)` and `toggle(key)`. */
export function useOpenRows<K>(): { isOpen: (key: K) => boolean; toggle: (key: K) => void } {
  const [open, setOpen] = useState<ReadonlySet<K>>(() => new Set());
  const toggle = (key: K) =>
    setOpen((o) => {
      const next = new Set(o);
      if (next.has(key)) next.delete(key);
      else next.add(key);
      return next;
    });
  return { isOpen: (key) => open.has(key), toggle };
}

/** The rows under a step in a run's steps table: its error, and its log when expanded. */
export function StepDetailRows({ error, log, expanded, logId, label, columns }: {
  error: string | null;
  log: string[];
  expanded: boolean;
  logId: string;
  label: string;
  /** The table's column count. */
  columns: number;
}) {
  return (
    <>
      {error && (
        <tr className="step-error-row">
          <td />
          <td colSpan={columns - 1}>
            <span className="row-error">{error}</span>
          </td>
        </tr>
      )}
      {expanded && (
        <tr className="step-log-row">
          <td colSpan={columns}>
            <pre className="step-log" id={logId} aria-label={`Log of ${label}`}>
              {log.length ? log.join('\n') : 'No log lines yet.'}
            </pre>
          </td>
        </tr>
      )}
    </>
  );
}
