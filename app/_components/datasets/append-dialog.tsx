'use client';

import './datasets.css';
import { useQueryClient } from '@tanstack/react-query';
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { useTRPC } from '../trpc';
import { formatCount } from './format';
import { inFileLines, rowsFromCsv, type CsvRows } from './append-csv';
import type { Dataset } from './schema-table';

type Appended = { appended: number; rowCount: number };

const rowsWord = (n: number) => `${formatCount(n)} ${n === 1 ? 'row' : 'rows'}`;

/**
 * Appends the rows of a CSV file to a source dataset (production's, where applications send rows):
 * the file is read in the browser and sent to the append route, all or nothing.
 */
export function AppendRowsDialog({ projectId, dataset, onClose }: { projectId: string; dataset: Dataset; onClose: () => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
  }, []);
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [read, setRead] = useState<(CsvRows & { file: string }) | null>(null);
  const [sending, setSending] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  const [done, setDone] = useState<Appended | null>(null);

  const pick = async (file: File | null) => {
    setProblem(null);
    setDone(null);
    setRead(file ? { ...rowsFromCsv(await file.text(), dataset.columns), file: file.name } : null);
  };
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!read) return;
    setSending(true);
    setProblem(null);
    try {
      const res = await fetch(`/api/v1/projects/${encodeURIComponent(projectId)}/datasets/${encodeURIComponent(dataset.name)}/rows?environment=${dataset.environment}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        credentials: 'same-origin',
        body: JSON.stringify({ rows: read.rows }),
      });
      const body = (await res.json().catch(() => null)) as (Appended & { error?: { message?: string } }) | null;
      if (!res.ok) return setProblem(inFileLines(body?.error?.message ?? `the append failed (${res.status})`));
      setDone(body);
      setRead(null);
      const { name, environment } = dataset;
      await Promise.all([
        queryClient.invalidateQueries({ queryKey: trpc.datasets.get.queryKey({ projectId, name, environment }) }),
        queryClient.invalidateQueries({ queryKey: trpc.datasets.list.queryKey({ projectId, environment }) }),
        queryClient.invalidateQueries({ queryKey: trpc.datasets.preview.queryKey() }),
        queryClient.invalidateQueries({ queryKey: trpc.datasets.profile.queryKey() }),
      ]);
    } catch {
      setProblem('the append failed: the server could not be reached');
    } finally {
      setSending(false);
    }
  };

  return (
    <dialog ref={ref} className="dialog upload-dialog" aria-labelledby="append-dialog-title" onCancel={() => !sending && onClose()}>
      <div className="dialog-head">
        <h2 id="append-dialog-title">Append rows to {dataset.name}</h2>
        <button type="button" className="btn btn-ghost btn-icon" aria-label="Close" onClick={onClose} disabled={sending}>
          ×
        </button>
      </div>
      <form className="form" onSubmit={(e) => void submit(e)}>
        <label className="field">
          <span>CSV file</span>
          <input type="file" name="file" accept=".csv,text/csv" disabled={sending} onChange={(e) => void pick(e.target.files?.[0] ?? null)} />
          <span className="hint">
            Its first line names the columns ({dataset.columns.map((c) => c.name).join(', ')}); empty and <code>NA</code> fields are missing values. All rows or none are appended.
          </span>
        </label>
        {read && <ReadSummary read={read} />}
        {problem && (
          <p className="error" role="alert">
            {problem}
          </p>
        )}
        {done && (
          <p className="notice" role="status">
            Appended {rowsWord(done.appended)}; {dataset.name} now has {rowsWord(done.rowCount)}.
          </p>
        )}
        <div className="dialog-actions">
          <button type="button" className="btn btn-ghost" onClick={onClose} disabled={sending}>
            {done ? 'Close' : 'Cancel'}
          </button>
          <button type="submit" className="btn btn-primary" disabled={!read || read.rows.length === 0 || sending}>
            {sending ? 'Appending…' : read ? `Append ${rowsWord(read.rows.length)}` : 'Append'}
          </button>
        </div>
      </form>
    </dialog>
  );
}

function ReadSummary({ read }: { read: CsvRows & { file: string } }) {
  return (
    <div className="field">
      <span className="hint">
        {read.file}: {rowsWord(read.rows.length)}.
        {read.missingColumns.length > 0 && ` Missing columns (sent as missing values): ${read.missingColumns.join(', ')}.`}
      </span>
      {read.unknownColumns.length > 0 && (
        <span className="hint hint-warning">Not columns of the dataset: {read.unknownColumns.join(', ')}. The server refuses them; rename or drop them.</span>
      )}
    </div>
  );
}
