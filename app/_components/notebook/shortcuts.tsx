'use client';

import { useEffect, useRef } from 'react';
import { OPEN_SHORTCUTS_EVENT } from './use-command-mode';

const EDIT: [string, string][] = [
  ['Shift+Enter', 'Run the cell and go to the next one'],
  ['Ctrl/⌘+Enter', 'Run the cell'],
  ['Alt+Enter', 'Run the cell and insert one below'],
  ['Ctrl+Space', 'Suggest names (datasets, columns, models); Enter then takes one'],
  ['Esc', 'Leave the editor (command mode)'],
];
const COMMAND: [string, string][] = [
  ['j / ↓', 'Next cell'],
  ['k / ↑', 'Previous cell'],
  ['Enter', 'Edit the cell'],
  ['a', 'Insert a cell above'],
  ['b', 'Insert a cell below'],
  ['d d', 'Delete the cell'],
  ['Shift+Enter', 'Run and go to the next cell'],
  ['?', 'This list'],
];

function Keys({ rows }: { rows: [string, string][] }) {
  return (
    <table>
      <tbody>
        {rows.map(([k, what]) => (
          <tr key={k}>
            <td>
              {k.split(' / ').map((part, i) => (
                <span key={part}>
                  {i > 0 && ' / '}
                  <kbd>{part}</kbd>
                </span>
              ))}
            </td>
            <td>{what}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** `?` in the toolbar (and in command mode): the keys, and how previews, scratch queries and outputs work. */
export function ShortcutsButton() {
  const dialog = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const open = () => dialog.current?.showModal();
    window.addEventListener(OPEN_SHORTCUTS_EVENT, open);
    return () => window.removeEventListener(OPEN_SHORTCUTS_EVENT, open);
  }, []);
  return (
    <>
      <button type="button" className="btn btn-sm btn-ghost" aria-label="Keyboard shortcuts and help" title="Keyboard shortcuts and help (?)" onClick={() => dialog.current?.showModal()}>
        ?
      </button>
      <dialog ref={dialog} className="shortcuts-dialog" aria-label="Keyboard shortcuts and help" onClick={(e) => e.target === dialog.current && dialog.current?.close()}>
        <h2>Keyboard shortcuts</h2>
        <h3>In a cell’s editor</h3>
        <Keys rows={EDIT} />
        <h3>Command mode (Esc)</h3>
        <Keys rows={COMMAND} />
        <h3>Previews, scratch queries and outputs</h3>
        <p className="small">
          <strong>Run</strong> previews a SQL or TypeScript cell: its current text runs against the last built design data of its inputs, in the same sandbox as builds, and
          publishes nothing. The result (first 1,000 rows, with a profile and a chart) is stored and appears under the cell for everyone who has the notebook open; it is
          marked <em>stale</em> when the cell or its inputs change. <strong>Build</strong> publishes the dataset. A SQL cell without <code>-- writes:</code> is a scratch
          query: it can be run and charted but is never a build step.
        </p>
        <form method="dialog">
          <button type="submit" className="btn btn-sm">
            Close
          </button>
        </form>
      </dialog>
    </>
  );
}
