'use client';

import { useQuery } from '@tanstack/react-query';
import { ResultGrid } from '../results/result-grid';
import { useTRPC } from '../trpc';
import { EmptyState, ErrorMessage, Loading } from '../ui';
import { formatCount, type Environment } from './format';

/** Rows the preview loads at once (the procedure's maximum): sorting and filtering work on them. */
const PREVIEW_ROWS = 500;

export const datasetCsvHref = (projectId: string, name: string, environment: Environment) =>
  `/api/v1/projects/${projectId}/datasets/${encodeURIComponent(name)}/rows.csv${environment === 'production' ? '?environment=production' : ''}`;

/** The dataset's first rows in the notebook's result grid (sort, filter, copy), and the whole of it as CSV. */
export function PreviewTable({ projectId, name, environment = 'design' }: { projectId: string; name: string; environment?: Environment }) {
  const trpc = useTRPC();
  const preview = useQuery(trpc.datasets.preview.queryOptions({ projectId, name, environment, offset: 0, limit: PREVIEW_ROWS }));
  if (preview.isPending) return <Loading />;
  if (preview.isError) return <ErrorMessage error={preview.error} />;
  const { columns, rows, rowCount } = preview.data;
  if (rowCount === 0) return <EmptyState title="No rows." />;
  const summary = rows.length < rowCount ? `First ${formatCount(rows.length)} of ${formatCount(rowCount)} rows` : `${formatCount(rowCount)} rows`;
  return (
    <ResultGrid
      columns={columns}
      rows={rows}
      label={`Rows of ${name}`}
      summary={summary}
      height={440}
      actions={
        <a className="btn btn-sm btn-ghost" href={datasetCsvHref(projectId, name, environment)} download>
          Download CSV
        </a>
      }
    />
  );
}
