'use client';

import './datasets.css';
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { useTRPC } from '../trpc';
import { Card, EmptyState, ErrorMessage, Loading } from '../ui';
import { DatasetsTable } from './datasets-table';
import { datasetHref } from './format';
import { UploadDatasetDialog } from './upload-dialog';

/** The project's datasets (design environment): uploaded sources and what the cells build. */
export function DatasetsSection({ projectId, canEdit }: { projectId: string; canEdit: boolean }) {
  const trpc = useTRPC();
  const datasets = useQuery(trpc.datasets.list.queryOptions({ projectId }));
  const [uploading, setUploading] = useState(false);

  return (
    <Card
      title="Datasets"
      description="Uploaded sources and the tables the pipeline builds from them."
      id="section-datasets"
      actions={
        canEdit && (
          <button type="button" className="btn btn-sm" onClick={() => setUploading(true)}>
            Upload CSV
          </button>
        )
      }
    >
      {uploading && <UploadDatasetDialog projectId={projectId} existing={datasets.data?.map((d) => d.name) ?? []} onClose={() => setUploading(false)} />}
      {datasets.isPending ? (
        <Loading />
      ) : datasets.isError ? (
        <ErrorMessage error={datasets.error} />
      ) : datasets.data.length === 0 ? (
        <EmptyState title="No datasets yet.">
          {canEdit ? 'Upload a CSV to start; SQL and TypeScript cells then build new datasets from it.' : 'Editors can upload CSV files; cells build new datasets from them.'}
        </EmptyState>
      ) : (
        <DatasetsTable datasets={datasets.data} hrefOf={(name) => datasetHref(projectId, name)} />
      )}
    </Card>
  );
}
