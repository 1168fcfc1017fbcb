'use client';

import './datasets.css';
import { useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { useState } from 'react';
import { formatDateTime } from '../format';
import { useTRPC } from '../trpc';
import { Card, EmptyState, ErrorMessage, Loading } from '../ui';
import { datasetHref, formatCount } from './format';
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
        <div className="table-scroll">
          <table className="table datasets-table">
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
                <tr key={d.id}>
                  <td>
                    <Link href={datasetHref(projectId, d.name)} className="strong-link">
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
