'use client';

import './datasets.css';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { useEffect, useRef, useState, type FormEvent, type RefObject } from 'react';
import { useTRPC } from '../trpc';
import { ErrorMessage, Loading } from '../ui';
import { columnTypes, DATASET_NAME, datasetNameFromFile, sniffCsvFile, type ColumnType, type CsvSniff } from './csv-sniff';
import { datasetHref, formatBytes, formatCount, productionDatasetHref, type Environment } from './format';
import { SchemaTable } from './schema-table';
import { UploadError, uploadDatasetCsv, type UploadedDataset, type UploadProgress } from './upload';

type State =
  | { step: 'pick' }
  | { step: 'review' }
  | { step: 'uploading'; progress: UploadProgress }
  | { step: 'done'; result: UploadedDataset };

/**
 * A modal to upload a CSV as a source dataset: pick, review the inferred types, upload with
 * progress. In `production`, the production copy (what deployed scenarios read), apart from design's.
 */
export function UploadDatasetDialog({ projectId, existing, initialName, environment = 'design', onClose }: {
  projectId: string;
  existing: string[];
  /** Replacing a dataset: its name, kept whatever the file is called. */
  initialName?: string;
  environment?: Environment;
  onClose: () => void;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
  }, []);
  const [state, setState] = useState<State>({ step: 'pick' });
  const abort = useRef<AbortController | null>(null);
  const close = () => {
    abort.current?.abort();
    onClose();
  };

  return (
    <dialog
      ref={ref}
      className="dialog upload-dialog"
      aria-labelledby="upload-dialog-title"
      onCancel={(e) => {
        // Escape during an upload would abandon it silently; the Cancel button says what happens.
        if (state.step === 'uploading') e.preventDefault();
        else close();
      }}
    >
      <div className="dialog-head">
        <h2 id="upload-dialog-title">{environment === 'production' ? 'Upload a CSV to production' : 'Upload a CSV'}</h2>
        <button type="button" className="btn btn-ghost btn-icon" aria-label="Close" onClick={close} disabled={state.step === 'uploading'}>
          ×
        </button>
      </div>
      <UploadForm projectId={projectId} environment={environment} existing={existing} initialName={initialName} state={state} setState={setState} abort={abort} onClose={close} />
    </dialog>
  );
}

function UploadForm({ projectId, environment, existing, initialName, state, setState, abort, onClose }: {
  projectId: string;
  environment: Environment;
  existing: string[];
  initialName: string | undefined;
  state: State;
  setState: (s: State) => void;
  abort: RefObject<AbortController | null>;
  onClose: () => void;
}) {
  const queryClient = useQueryClient();
  const trpc = useTRPC();
  const [file, setFile] = useState<File | null>(null);
  const [name, setName] = useState(initialName ?? '');
  const [sniff, setSniff] = useState<CsvSniff | null>(null);
  const [sniffing, setSniffing] = useState(false);
  const [overrides, setOverrides] = useState<Record<string, ColumnType>>({});
  const [error, setError] = useState<UploadError | Error | null>(null);

  const pick = async (f: File | null) => {
    setFile(f);
    setError(null);
    setSniff(null);
    setOverrides({});
    if (!f) return setState({ step: 'pick' });
    // A name the user typed (or the dataset being replaced) stays; one suggested by the last file follows the new one.
    if (!initialName && (!name || name === datasetNameFromFile(file?.name ?? ''))) setName(datasetNameFromFile(f.name));
    setSniffing(true);
    try {
      setSniff(await sniffCsvFile(f));
      setState({ step: 'review' });
    } catch (err) {
      setError(err instanceof Error ? err : new Error(String(err)));
    } finally {
      setSniffing(false);
    }
  };

  const nameProblem = name && !DATASET_NAME.test(name) ? 'Use a lowercase identifier: a-z, 0-9 and _, starting with a letter.' : null;
  const replaces = existing.includes(name);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!file || !name || nameProblem) return;
    setError(null);
    const controller = new AbortController();
    abort.current = controller;
    try {
      const result = await uploadDatasetCsv({
        projectId,
        name,
        environment,
        types: overrides,
        file,
        signal: controller.signal,
        onProgress: (progress) => setState({ step: 'uploading', progress }),
      });
      setState({ step: 'done', result });
      await Promise.all([
        queryClient.invalidateQueries({ queryKey: trpc.datasets.list.queryKey({ projectId }) }),
        queryClient.invalidateQueries({ queryKey: trpc.datasets.list.queryKey({ projectId, environment }) }),
        queryClient.invalidateQueries({ queryKey: trpc.datasets.get.queryKey({ projectId, name, environment }) }),
        queryClient.invalidateQueries({ queryKey: trpc.datasets.preview.queryKey() }),
      ]);
    } catch (err) {
      setError(err instanceof Error ? err : new Error(String(err)));
      setState({ step: 'review' });
    } finally {
      abort.current = null;
    }
  };

  if (state.step === 'done') return <UploadDone projectId={projectId} environment={environment} result={state.result} onClose={onClose} />;
  const uploading = state.step === 'uploading';

  return (
    <form className="form" onSubmit={(e) => void submit(e)}>
      <div className="grid-2">
        <label className="field">
          <span>File</span>
          <input type="file" name="file" accept=".csv,text/csv" disabled={uploading} onChange={(e) => void pick(e.target.files?.[0] ?? null)} />
          {file && (
            <span className="hint">
              {file.name} · {formatBytes(file.size)}
            </span>
          )}
        </label>
        <label className="field">
          <span>Dataset name</span>
          <input name="datasetName" value={name} disabled={uploading} onChange={(e) => setName(e.target.value)} placeholder="e.g. loans" maxLength={63} aria-invalid={Boolean(nameProblem)} />
          {nameProblem ? (
            <span className="hint hint-error">{nameProblem}</span>
          ) : replaces ? (
            <span className="hint hint-warning">Replaces the rows of the existing “{name}” (atomically; the old rows stay if the file is refused).</span>
          ) : (
            <span className="hint">{environment === 'production' ? 'The name deployed scenarios read it by.' : 'How SQL cells refer to it.'}</span>
          )}
        </label>
      </div>
      {sniffing && <Loading label="Reading the file…" />}
      {sniff && (
        <ColumnTypesEditor
          sniff={sniff}
          overrides={overrides}
          disabled={uploading}
          onChange={(column, type, inferred) =>
            setOverrides((o) => {
              const next = { ...o };
              if (type === inferred) delete next[column];
              else next[column] = type;
              return next;
            })
          }
        />
      )}
      {error && <UploadErrorMessage error={error} />}
      {uploading && <UploadProgressBar progress={state.progress} />}
      <div className="dialog-actions">
        {uploading ? (
          <button type="button" className="btn" onClick={() => abort.current?.abort()}>
            Cancel upload
          </button>
        ) : (
          <button type="button" className="btn btn-ghost" onClick={onClose}>
            Cancel
          </button>
        )}
        <button type="submit" className="btn btn-primary" disabled={!file || !name || Boolean(nameProblem) || uploading || sniffing}>
          {uploading ? 'Uploading…' : 'Upload'}
        </button>
      </div>
    </form>
  );
}

function ColumnTypesEditor({ sniff, overrides, disabled, onChange }: {
  sniff: CsvSniff;
  overrides: Record<string, ColumnType>;
  disabled: boolean;
  onChange: (column: string, type: ColumnType, inferred: ColumnType) => void;
}) {
  if (sniff.columns.length === 0) return <p className="error">The file is empty: its first line must name the columns.</p>;
  return (
    <div className="field">
      <span>Columns</span>
      <span className="hint">
        {sniff.columns.length} columns; types inferred from {sniff.wholeFile ? 'all' : 'the first'} {formatCount(sniff.sampledRows)} rows. Change one if
        the guess is wrong; the others are inferred again by the server.
      </span>
      <div className="column-types">
        <table className="table table-compact">
          <thead>
            <tr>
              <th>Column</th>
              <th>Type</th>
              <th>Example</th>
              <th className="align-right">Empty in sample</th>
            </tr>
          </thead>
          <tbody>
            {sniff.columns.map((c) => {
              const type = overrides[c.name] ?? c.type;
              return (
                <tr key={c.name}>
                  <td>
                    <code>{c.name}</code>
                    {c.header !== c.name && <span className="muted small"> ({c.header})</span>}
                  </td>
                  <td>
                    <select className="select-sm" aria-label={`Type of ${c.name}`} value={type} disabled={disabled} onChange={(e) => onChange(c.name, e.target.value as ColumnType, c.type)}>
                      {columnTypes.map((t) => (
                        <option key={t} value={t}>
                          {t}
                          {t === c.type ? ' (inferred)' : ''}
                        </option>
                      ))}
                    </select>
                  </td>
                  <td className="muted truncate">{c.example ?? '—'}</td>
                  <td className="muted align-right">{formatCount(c.nulls)}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </div>
  );
}

export function UploadProgressBar({ progress }: { progress: UploadProgress | { phase: 'done'; rows: number; bytes: number } }) {
  const pct = progress.phase === 'sending' ? Math.floor((progress.loaded / Math.max(1, progress.total)) * 100) : 100;
  const label =
    progress.phase === 'sending'
      ? `Sending ${formatBytes(progress.loaded)} of ${formatBytes(progress.total)} (${pct}%)`
      : progress.phase === 'loading'
        ? `Sent ${formatBytes(progress.total)}; checking and loading the rows…`
        : `Loaded ${formatCount(progress.rows)} rows (${formatBytes(progress.bytes)})`;
  return (
    <div className={`progress progress-${progress.phase}`}>
      <div className="progress-track" role="progressbar" aria-label="Upload progress" aria-valuemin={0} aria-valuemax={100} aria-valuenow={pct} aria-valuetext={label}>
        <div className="progress-fill" style={{ width: `${pct}%` }} />
      </div>
      <span className="progress-label">{label}</span>
    </div>
  );
}

function UploadErrorMessage({ error }: { error: Error }) {
  if (!(error instanceof UploadError) || error.line === undefined) return <ErrorMessage error={error} />;
  return (
    <div className="error upload-error" role="alert">
      The file was not loaded. <strong>
        Line {formatCount(error.line)}
        {error.column !== undefined && `, column ${error.column}`}
        {error.columnName && ` (${error.columnName})`}
      </strong>
      : {error.detail}
      <div className="hint">Nothing was loaded; fix the file or set the column’s type, then upload again.</div>
    </div>
  );
}

function UploadDone({ projectId, environment, result, onClose }: { projectId: string; environment: Environment; result: UploadedDataset; onClose: () => void }) {
  const trpc = useTRPC();
  // The dataset as stored now (types as the server inferred them); editing a type here converts it (design only).
  const dataset = useQuery(trpc.datasets.get.queryOptions({ projectId, name: result.dataset.name, environment }));
  const href = environment === 'production' ? productionDatasetHref : datasetHref;
  return (
    <div className="form">
      <UploadProgressBar progress={{ phase: 'done', rows: result.rows, bytes: result.bytes }} />
      <p className="notice" role="status">
        {result.created ? 'Created' : 'Replaced'} <strong>{result.dataset.name}</strong> with {formatCount(result.rows)} rows and {result.dataset.columns.length} columns.
      </p>
      <div className="field">
        <span>Column types</span>
        <span className="hint">As the server inferred them.{environment === 'design' && ' Changing one converts the stored values, or says which value does not fit.'}</span>
        {dataset.data ? (
          <div className="column-types">
            <SchemaTable projectId={projectId} dataset={dataset.data} canEdit={environment === 'design'} compact />
          </div>
        ) : (
          <Loading />
        )}
      </div>
      <div className="dialog-actions">
        <button type="button" className="btn btn-ghost" onClick={onClose}>
          Close
        </button>
        <Link className="btn btn-primary" href={href(projectId, result.dataset.name)}>
          Open dataset
        </Link>
      </div>
    </div>
  );
}
