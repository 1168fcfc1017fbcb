'use client';

import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { useTRPC } from '../trpc';
import { EmptyState, ErrorMessage, Loading } from '../ui';
import { formatCount, type Environment } from './format';

const PAGE_SIZE = 50;

type Value = string | number | boolean | null;

function Cell({ value }: { value: Value }) {
  if (value === null) return <span className="null">NULL</span>;
  if (typeof value === 'boolean') return <>{value ? 'true' : 'false'}</>;
  return <>{String(value)}</>;
}

/** A page of the dataset's rows at a time, in storage order. */
export function PreviewTable({ projectId, name, environment = 'design' }: { projectId: string; name: string; environment?: Environment }) {
  const trpc = useTRPC();
  const [offset, setOffset] = useState(0);
  const preview = useQuery(trpc.datasets.preview.queryOptions({ projectId, name, environment, offset, limit: PAGE_SIZE }, { placeholderData: keepPreviousData }));
  if (preview.isPending) return <Loading />;
  if (preview.isError) return <ErrorMessage error={preview.error} />;
  const { columns, rows, rowCount } = preview.data;
  if (rowCount === 0) return <EmptyState title="No rows." />;
  const last = Math.min(offset + rows.length, rowCount);
  const pages = Math.max(1, Math.ceil(rowCount / PAGE_SIZE));
  const page = Math.floor(offset / PAGE_SIZE) + 1;
  return (
    <div className="preview">
      <div className="preview-scroll">
        <table className="table table-compact preview-table" aria-label={`Rows of ${name}`}>
          <thead>
            <tr>
              <th className="row-number">#</th>
              {columns.map((c) => (
                <th key={c.name} className={c.type === 'integer' || c.type === 'numeric' ? 'align-right' : undefined} title={c.type}>
                  {c.name}
                </th>
              ))}
            </tr>
          </thead>
          <tbody className={preview.isPlaceholderData ? 'stale' : undefined}>
            {rows.map((r, i) => (
              <tr key={offset + i}>
                <td className="row-number">{formatCount(offset + i + 1)}</td>
                {r.map((v, j) => (
                  <td key={columns[j]?.name ?? j} className={typeof v === 'number' ? 'align-right tabular' : undefined}>
                    <Cell value={v} />
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <div className="table-foot">
        <span className="muted" aria-live="polite">
          Rows {formatCount(offset + 1)}–{formatCount(last)} of {formatCount(rowCount)}
        </span>
        <span className="row-actions">
          <button type="button" className="btn btn-sm" onClick={() => setOffset(0)} disabled={offset === 0}>
            First
          </button>
          <button type="button" className="btn btn-sm" onClick={() => setOffset(Math.max(0, offset - PAGE_SIZE))} disabled={offset === 0}>
            Previous
          </button>
          <span className="muted small page-of">
            Page {formatCount(page)} of {formatCount(pages)}
          </span>
          <button type="button" className="btn btn-sm" onClick={() => setOffset(offset + PAGE_SIZE)} disabled={last >= rowCount}>
            Next
          </button>
          <button type="button" className="btn btn-sm" onClick={() => setOffset((pages - 1) * PAGE_SIZE)} disabled={last >= rowCount}>
            Last
          </button>
        </span>
      </div>
    </div>
  );
}
