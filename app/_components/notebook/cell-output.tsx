'use client';

import '../results/results.css';
import './cell-output.css';
import { keepPreviousData, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import type * as Y from 'yjs';
import { setCellChart } from '@/server/domain/notebook-doc';
import { formatCount } from '../datasets/format';
import { formatDateTimeSeconds } from '../format';
import { missingColumns, suggestChart, type ChartData, type ChartSpecView } from '../results/chart-types';
import { ColumnProfiles } from '../results/column-profiles';
import { ResultChart, ChartControls } from '../results/result-chart';
import { ResultGrid } from '../results/result-grid';
import { useTRPC } from '../trpc';
import type { RowCellKind } from './cell-kinds';
import { useNotebookOutputs } from './notebook-outputs';
import type { CellOutput } from './output-types';
import { useText } from './use-cells';
import { MAX_STREAMED_ROWS, useStreamedRows, type StreamedRows } from './use-streamed-rows';

type Tab = 'table' | 'profile' | 'chart';

/** Rows of each input a ts or python preview reads (server: TS_PREVIEW_INPUT_ROWS and PYTHON_PREVIEW_INPUT_ROWS in services/notebooks/). */
const TS_PREVIEW_INPUT_ROWS = 10_000;

const elapsed = (ms: number) => (ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`);

/** "1,000 of 2,300,000 rows" when the preview is limited, else the count; "from a sample" when the inputs were cut short. */
export function rowSummary(o: Pick<CellOutput, 'rows' | 'totalRows' | 'limited' | 'sampledInputs'>): string {
  const sample = o.sampledInputs?.length ? ' from a sample' : '';
  if (o.limited && o.totalRows !== null) return `${formatCount(o.rows.length)} of ${formatCount(o.totalRows)} rows${sample}`;
  const n = o.totalRows ?? o.rows.length;
  return `${formatCount(n)} row${n === 1 ? '' : 's'}${sample}`;
}

/**
 * The summary once Show all streamed rows in: "40,000 of 100,000 rows, loading…", then the count. A
 * ts cell that ran on a sample has no known total: its full result is counted as it streams.
 */
function streamedSummary(o: Pick<CellOutput, 'totalRows' | 'sampledInputs'>, s: StreamedRows): string {
  const n = s.rows.length;
  if (o.sampledInputs?.length) {
    if (!s.done) return `${formatCount(n)} rows, loading…`;
    return n >= MAX_STREAMED_ROWS ? `the first ${formatCount(n)} rows: Download CSV has them all` : `${formatCount(n)} row${n === 1 ? '' : 's'}`;
  }
  const total = o.totalRows ?? s.rows.length;
  if (s.done && !s.error && n === total) return `${formatCount(n)} row${n === 1 ? '' : 's'}`;
  return `${formatCount(n)} of ${formatCount(total)} rows${s.done ? '' : ', loading…'}`;
}

/**
 * The source as it was when this client got the output: typing after a run makes the output stale
 * at once, without asking the server (which says so too, on the next fetch).
 */
function useEditedSince(text: Y.Text, output: CellOutput | undefined): boolean {
  const source = useText(text);
  const [baseline, setBaseline] = useState<{ outputId: string; source: string } | null>(null);
  if (output && baseline?.outputId !== output.outputId) setBaseline({ outputId: output.outputId, source });
  return !!output && !!baseline && baseline.outputId === output.outputId && baseline.source !== source;
}

/** A run's result under its cell: status line, then Table | Profile | Chart. */
export function CellOutputArea({ cellId, kind, text, chart, doc, canEdit }: { cellId: string; kind: RowCellKind; text: Y.Text; chart: ChartSpecView | null; doc: Y.Doc; canEdit: boolean }) {
  const outputs = useNotebookOutputs();
  const output = outputs.outputOf(cellId);
  const running = outputs.isRunning(cellId);
  const runError = outputs.runErrorOf(cellId);
  const editedSince = useEditedSince(text, output);
  if (!output && !running && !runError) return null;
  return (
    <div className={`cell-output${running ? ' cell-output-running' : ''}`} data-testid="cell-output" data-output-id={output?.outputId} data-received-at={output ? outputs.receivedAt(cellId) : undefined} aria-busy={running}>
      {running && (
        <div className="cell-output-progress" role="status">
          <span className="spinner" aria-hidden /> Running…
        </div>
      )}
      {runError && (
        <p className="error cell-output-error" role="alert">
          {runError}
        </p>
      )}
      {output && <OutputBody kind={kind} output={output} stale={output.stale || editedSince} staleReason={editedSince ? 'source' : output.staleReason} chart={chart} doc={doc} canEdit={canEdit} />}
    </div>
  );
}

function OutputBody({ kind, output, stale, staleReason, chart, doc, canEdit }: { kind: RowCellKind; output: CellOutput; stale: boolean; staleReason: CellOutput['staleReason']; chart: ChartSpecView | null; doc: Y.Doc; canEdit: boolean }) {
  const { projectId, notebookId } = useNotebookOutputs();
  const [tab, setTab] = useState<Tab>('table');
  const cellUrl = `/api/v1/projects/${projectId}/notebooks/${notebookId}/cells/${encodeURIComponent(output.cellId)}`;
  const csv = `${cellUrl}/result.csv`;
  const { streamed, load } = useStreamedRows(`${cellUrl}/rows`, output.outputId);
  const summary = streamed ? streamedSummary(output, streamed) : rowSummary(output);
  // Rows beyond the preview come from running the cell again (a ts or python cell on every row of its
  // inputs): not once the source changed (the server refuses too).
  const sampled = (kind === 'ts' || kind === 'python') && (output.sampledInputs?.length ?? 0) > 0;
  const canShowAll =
    !stale && !streamed && (sampled || (output.limited && output.rows.length < Math.min(MAX_STREAMED_ROWS, output.totalRows ?? 0)));
  const unbuilt = output.inputs.filter((i) => i.state !== 'built');
  return (
    <>
      <div className="cell-output-status small">
        <span className={`badge ${output.status === 'ok' ? 'badge-ok' : 'badge-status-failed'}`}>{output.status === 'ok' ? 'result' : 'error'}</span>
        {output.status === 'ok' && <span className="tabular" data-testid="row-summary">{summary}</span>}
        <span className="muted">
          {elapsed(output.elapsedMs)} · {output.ranBy ? `${output.ranBy.name}, ` : ''}
          <time dateTime={output.ranAt}>{formatDateTimeSeconds(output.ranAt)}</time>
        </span>
        {output.truncated && (
          <span className="badge badge-warn" title="The stored output was capped in size: Download CSV has every row">
            truncated
          </span>
        )}
        {stale && (
          <span className="badge badge-warn" data-testid="stale-badge" title={staleReason === 'inputs' ? 'An input’s data changed since this ran' : 'The cell changed since this ran'}>
            stale{staleReason === 'inputs' ? ': inputs changed' : staleReason === 'source' ? ': source changed' : ''}
          </span>
        )}
        {output.inputs.length > 0 && (
          <span className="cell-output-inputs" aria-label="Inputs">
            {output.inputs.map((i) => (
              <span key={i.name} className={`input-chip input-${i.state}`} title={i.state === 'built' ? 'Built' : i.state === 'stale' ? 'Stale: its inputs changed since its last build; the preview read the last built data' : 'Never built: the preview read no data of it'}>
                <code>{i.name}</code> {i.state === 'built' ? '' : i.state}
              </span>
            ))}
          </span>
        )}
      </div>
      {output.sampledInputs?.length && output.status === 'ok' ? (
        <p className="small muted cell-output-note" data-testid="sample-note">
          {streamed?.done && !streamed.error
            ? `Show all ran the cell on every row of ${output.sampledInputs.join(', ')}; the profile and chart are still the sample's.`
            : `Ran on the first ${formatCount(TS_PREVIEW_INPUT_ROWS)} rows of ${output.sampledInputs.join(', ')}: the full result may have more rows. Show all rows runs the cell on every row (up to 100,000 shown); Download CSV has the full result.`}
        </p>
      ) : null}
      {unbuilt.length > 0 && output.status === 'ok' && (
        <p className="small muted cell-output-note">
          Previewed against the last built data of {unbuilt.map((i) => i.name).join(', ')}: build {unbuilt.length === 1 ? 'it' : 'them'} for current data.
        </p>
      )}
      {output.status === 'error' && output.error ? (
        <p className="cell-output-message" role="alert" data-testid="output-error">
          {output.error.line !== null && (
            <span className="diagnostic-where">
              Line {output.error.line}
              {output.error.column !== null && `:${output.error.column}`}
            </span>
          )}{' '}
          {output.error.message}
        </p>
      ) : (
        <>
          <div className="output-tabs" role="tablist" aria-label="Output views">
            {(['table', 'profile', 'chart'] as const).map((t) => (
              <button key={t} type="button" role="tab" aria-selected={tab === t} className={tab === t ? 'output-tab output-tab-active' : 'output-tab'} onClick={() => setTab(t)}>
                {t === 'table' ? 'Table' : t === 'profile' ? 'Profile' : 'Chart'}
              </button>
            ))}
          </div>
          <div role="tabpanel" className="output-panel">
            {tab === 'table' && (
              <>
                {streamed?.error && (
                  <p className="error small" role="alert">
                    Showing {formatCount(streamed.rows.length)} rows: {streamed.error}
                  </p>
                )}
                <ResultGrid
                  key={output.outputId}
                  columns={output.columns}
                  rows={streamed && streamed.rows.length > 0 ? streamed.rows : output.rows}
                  label="Result"
                  summary={summary}
                  actions={
                    <>
                      {canShowAll && (
                        <button type="button" className="btn btn-sm btn-ghost" onClick={load} title={sampled ? 'Run the cell on every row of its inputs and stream its result into the grid (at most 100,000 rows)' : 'Stream the rows of the full result into the grid (at most 100,000)'}>
                          {sampled ? 'Show all rows' : (output.totalRows ?? 0) <= MAX_STREAMED_ROWS ? `Show all ${formatCount(output.totalRows)} rows` : `Show ${formatCount(MAX_STREAMED_ROWS)} rows`}
                        </button>
                      )}
                      <a className="btn btn-sm btn-ghost" href={csv} download>
                        Download CSV
                      </a>
                    </>
                  }
                />
              </>
            )}
            {tab === 'profile' && (output.profile ? <ColumnProfiles profiles={output.profile} /> : <p className="muted">No profile for this output.</p>)}
            {tab === 'chart' && <ChartTab output={output} chart={chart} doc={doc} canEdit={canEdit} />}
          </div>
        </>
      )}
    </>
  );
}

function ChartTab({ output, chart, doc, canEdit }: { output: CellOutput; chart: ChartSpecView | null; doc: Y.Doc; canEdit: boolean }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const { projectId, notebookId } = useNotebookOutputs();
  const spec = chart ?? suggestChart(output.columns);
  const missing = spec ? missingColumns(spec, output.columns) : [];
  const input = { projectId, notebookId, cellId: output.cellId, spec: spec ?? { type: 'bar' as const, x: '' } };
  const data = useQuery(trpc.notebooks.chartData.queryOptions(input, { enabled: !!spec && missing.length === 0, placeholderData: keepPreviousData, staleTime: 60_000 }));
  // A new run of the cell means new data for the same spec.
  useEffect(() => {
    void queryClient.invalidateQueries({ queryKey: trpc.notebooks.chartData.queryKey({ projectId, notebookId, cellId: output.cellId }) });
  }, [output.outputId, queryClient, trpc, projectId, notebookId, output.cellId]);
  if (!spec) return <p className="muted">No columns to chart.</p>;
  return (
    <div className="cell-chart">
      <ChartControls spec={spec} columns={output.columns} disabled={!canEdit} onChange={(s) => setCellChart(doc, output.cellId, s)} />
      <ResultChart spec={spec} columns={output.columns} data={data.data as ChartData | undefined} loading={data.isFetching} stale={data.isPlaceholderData} />
    </div>
  );
}
