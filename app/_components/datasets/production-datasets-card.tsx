'use client';

import './datasets.css';
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { useTRPC } from '../trpc';
import { Card, EmptyState, ErrorMessage, Loading } from '../ui';
import { DatasetsTable } from './datasets-table';
import { productionDatasetHref } from './format';
import { UploadDatasetDialog } from './upload-dialog';

/** Production builds and ingestion change these on their own: the list looks again now and then. */
const POLL_MS = 10_000;

/** The Production tab's datasets: production sources (uploaded or appended over REST) and what production builds publish. */
export function ProductionDatasetsCard({ projectId, canUpload }: { projectId: string; canUpload: boolean }) {
  const trpc = useTRPC();
  const datasets = useQuery({ ...trpc.datasets.list.queryOptions({ projectId, environment: 'production' }), refetchInterval: POLL_MS });
  const [uploading, setUploading] = useState(false);
  return (
    <Card
      title="Production datasets"
      id="production-datasets"
      description="What production builds read and publish, apart from the design notebooks’ data."
      actions={
        canUpload && (
          <button type="button" className="btn btn-sm" onClick={() => setUploading(true)}>
            Upload CSV to production
          </button>
        )
      }
    >
      {uploading && (
        <UploadDatasetDialog
          projectId={projectId}
          environment="production"
          existing={datasets.data?.filter((d) => d.kind === 'source').map((d) => d.name) ?? []}
          onClose={() => setUploading(false)}
        />
      )}
      {datasets.isPending ? (
        <Loading />
      ) : datasets.isError ? (
        <ErrorMessage error={datasets.error} />
      ) : datasets.data.length === 0 ? (
        <EmptyState title="No production datasets yet.">
          Upload a CSV here, or send rows with <code>environment=production</code> over REST; a scenario’s build step publishes what the deployed bundle builds.
        </EmptyState>
      ) : (
        <DatasetsTable datasets={datasets.data} hrefOf={(name) => productionDatasetHref(projectId, name)} label="Production datasets" />
      )}
    </Card>
  );
}
