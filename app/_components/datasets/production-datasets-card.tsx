'use client';

import './datasets.css';
import { useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { formatDateTime } from '../format';
import { useTRPC } from '../trpc';
import { Card, EmptyState, ErrorMessage, Loading } from '../ui';
import { formatCount, productionDatasetHref } from './format';

/** Production builds and ingestion change these on their own: the list looks again now and then. */
const POLL_MS = 10_000;

/** The Production tab's datasets: production sources (uploaded or appended over REST) and what production builds publish. */
export function ProductionDatasetsCard({ projectId }: { projectId: string }) {
  const trpc = useTRPC();
  const datasets = useQuery({ ...trpc.datasets.list.queryOptions({ projectId, environment: 'production' }), refetchInterval: POLL_MS });
  return (
    <Card title="Production datasets" id="production-datasets" description="What production builds read and publish, apart from the design notebooks’ data.">
      {datasets.isPending ? (
        <Loading />
      ) : datasets.isError ? (
        <ErrorMessage error={datasets.error} />
      ) : datasets.data.length === 0 ? (
        <EmptyState title="No production datasets yet.">
          Upload or append rows with <code>environment=production</code> over REST; a scenario’s build step publishes what the deployed bundle builds.
        </EmptyState>
      ) : (
        <div className="table-scroll">
          <table className="table datasets-table" aria-label="Production datasets">
            <thead>
              <tr>
                <th>Dataset</th>
                <th>Kind</th>
                <th className="align-right">Rows</th>
                <th className="align-right">Columns</th>
                <th>Updated</th>
              </tr>
            </thead>
            <tbody>
              {datasets.data.map((d) => (
                <tr key={d.id} data-dataset={d.name}>
                  <td>
                    <Link href={productionDatasetHref(projectId, d.name)} className="strong-link">
                      <code>{d.name}</code>
                    </Link>
                  </td>
                  <td>
                    <span className={`badge badge-kind-${d.kind}`}>{d.kind}</span>
                  </td>
                  <td className="align-right tabular">{formatCount(d.rowCount)}</td>
                  <td className="align-right tabular">{d.columns.length}</td>
                  <td className="muted nowrap">{formatDateTime(d.updatedAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Card>
  );
}
