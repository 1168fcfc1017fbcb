'use client';

import './datasets.css';
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { formatDateTime } from '../format';
import { NotAvailable } from '../team-header';
import { useTRPC } from '../trpc';
import { Card, ErrorMessage, Loading } from '../ui';
import { DatasetLineage } from './dataset-lineage';
import { formatCount } from './format';
import { MetricsCharts } from './metrics-charts';
import { PreviewTable } from './preview-table';
import { ProjectSubpage } from './project-subpage';
import { SchemaTable } from './schema-table';
import { UploadDatasetDialog } from './upload-dialog';

/** `/projects/<id>/datasets/<name>`: schema, row count, rows, the cells around it, metrics history. */
export function DatasetPage({ projectId, name }: { projectId: string; name: string }) {
  const trpc = useTRPC();
  const dataset = useQuery(trpc.datasets.get.queryOptions({ projectId, name }));
  const metrics = useQuery(trpc.datasets.metrics.queryOptions({ projectId, name }));
  const [uploading, setUploading] = useState(false);
  if (dataset.isError) return <NotAvailable error={dataset.error} />;
  if (dataset.isPending) return <Loading />;
  const d = dataset.data;

  return (
    <ProjectSubpage
      projectId={projectId}
      section="Datasets"
      title={d.name}
      badge={<span className={`badge badge-kind-${d.kind}`}>{d.kind}</span>}
      description={d.kind === 'source' ? 'Uploaded or ingested: the pipeline reads it as it is.' : 'Built by a cell: each build replaces it atomically once its checks pass.'}
      actions={({ canEdit }) =>
        canEdit &&
        d.kind === 'source' && (
          <button type="button" className="btn" onClick={() => setUploading(true)}>
            Replace with a new CSV
          </button>
        )
      }
    >
      {({ canEdit }) => (
        <div className="stack">
          {uploading && <UploadDatasetDialog projectId={projectId} existing={[d.name]} initialName={d.name} onClose={() => setUploading(false)} />}
          <section className="card" aria-label="Summary">
            <dl className="facts">
              <div>
                <dt>Rows</dt>
                <dd className="fact-big" data-testid="dataset-row-count">
                  {formatCount(d.rowCount)}
                </dd>
              </div>
              <div>
                <dt>Columns</dt>
                <dd className="fact-big">{d.columns.length}</dd>
              </div>
              <div>
                <dt>Updated</dt>
                <dd>{formatDateTime(d.updatedAt)}</dd>
              </div>
              <div>
                <dt>Created</dt>
                <dd>{formatDateTime(d.createdAt)}</dd>
              </div>
              <div>
                <dt>Fingerprint</dt>
                <dd>
                  <code title={d.fingerprint}>{d.fingerprint.slice(0, 12)}</code>
                </dd>
              </div>
              <div>
                <dt>Environment</dt>
                <dd>{d.environment}</dd>
              </div>
            </dl>
          </section>
          <div className="grid-2-1">
            <Card title="Schema" description={d.kind === 'source' && canEdit ? 'Changing a type converts the stored values, or says which one does not fit.' : undefined} id="dataset-schema">
              <SchemaTable projectId={projectId} dataset={d} canEdit={canEdit} />
            </Card>
            <Card title="Cells" description="Where the project’s notebooks write, read and check it." id="dataset-cells">
              <DatasetLineage projectId={projectId} name={d.name} />
            </Card>
          </div>
          <Card title="Metrics" description="Computed after each build that publishes it." id="dataset-metrics">
            {metrics.isPending ? <Loading /> : metrics.isError ? <ErrorMessage error={metrics.error} /> : <MetricsCharts history={metrics.data} />}
          </Card>
          <Card title="Preview" id="dataset-preview">
            <PreviewTable projectId={projectId} name={d.name} />
          </Card>
        </div>
      )}
    </ProjectSubpage>
  );
}
