'use client';

import './datasets.css';
import { useQuery } from '@tanstack/react-query';
import { useTRPC } from '../trpc';
import { Card, EmptyState, ErrorMessage, Loading } from '../ui';
import { DatasetsTable } from './datasets-table';
import { productionDatasetHref } from './format';

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
        <DatasetsTable datasets={datasets.data} hrefOf={(name) => productionDatasetHref(projectId, name)} label="Production datasets" />
      )}
    </Card>
  );
}
