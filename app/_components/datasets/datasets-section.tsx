'use client';

import './datasets.css';
import { useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { useState } from 'react';
import { applyListView, byNumberDesc, byText, byTimeDesc, type ListView, type SortOption } from '../list-view';
import type { RouterOutputs } from '../types';
import { useTRPC } from '../trpc';
import { Card, EmptyState, ErrorMessage, Loading } from '../ui';
import { DatasetsTable } from './datasets-table';
import { datasetHref } from './format';
import { UploadDatasetDialog } from './upload-dialog';

type DatasetRow = RouterOutputs['datasets']['list'][number];

export const datasetSorts: SortOption<DatasetRow>[] = [
  { value: 'name', label: 'Name', compare: byText((d) => d.name) },
  { value: 'updated', label: 'Recently updated', compare: byTimeDesc((d) => d.updatedAt) },
  { value: 'rows', label: 'Most rows', compare: byNumberDesc((d) => d.rowCount) },
  { value: 'kind', label: 'Kind', compare: byText((d) => d.kind) },
];

export const datasetsHref = (projectId: string) => `/projects/${projectId}/datasets`;

/** The project's datasets (design environment): uploaded sources and what the cells build. */
export function DatasetsSection({ projectId, canEdit, view, showAll }: { projectId: string; canEdit: boolean; view?: ListView; showAll?: boolean }) {
  const trpc = useTRPC();
  const datasets = useQuery(trpc.datasets.list.queryOptions({ projectId }));
  const [uploading, setUploading] = useState(false);
  const rows = datasets.data ? applyListView(datasets.data, view, { text: (d) => `${d.name} ${d.kind} ${d.columns.map((c) => c.name).join(' ')}`, sorts: datasetSorts }) : [];

  return (
    <Card
      title="Datasets"
      description="Uploaded sources and the tables the pipeline builds from them."
      id="section-datasets"
      actions={
        <span className="model-actions">
          {showAll && (
            <Link href={datasetsHref(projectId)} className="btn btn-sm">
              All datasets
            </Link>
          )}
          {canEdit && (
            <button type="button" className="btn btn-sm" onClick={() => setUploading(true)}>
              Upload CSV
            </button>
          )}
        </span>
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
      ) : rows.length === 0 ? (
        <EmptyState title="No dataset matches the search." />
      ) : (
        <DatasetsTable datasets={rows} hrefOf={(name) => datasetHref(projectId, name)} />
      )}
    </Card>
  );
}
