'use client';

import './datasets.css';
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { formatDateTime } from '../format';
import { NotAvailable } from '../team-header';
import { useTRPC } from '../trpc';
import { Card, ErrorMessage, Loading } from '../ui';
import { DatasetLineage } from './dataset-lineage';
import { formatCount, type Environment } from './format';
import { ColumnProfiles } from '../results/column-profiles';
import { MetricsCharts } from './metrics-charts';
import { PreviewTable } from './preview-table';
import { AppendRowsCard, WatchedByCard } from './production-dataset-cards';
import { ProjectSubpage } from './project-subpage';
import { SchemaTable, type Dataset } from './schema-table';
import { UploadDatasetDialog } from './upload-dialog';

function describe(d: Dataset): string {
  if (d.environment === 'production') {
    return d.kind === 'source'
      ? 'Production data, uploaded or appended here or over REST: production builds and scenarios read it.'
      : 'Built by the deployed bundle: each production build replaces it atomically once its checks pass.';
  }
  return d.kind === 'source' ? 'Uploaded or ingested: the pipeline reads it as it is.' : 'Built by a cell: each build replaces it atomically once its checks pass.';
}

/**
 * `/projects/<id>/datasets/<name>` (design) and `/projects/<id>/production/datasets/<name>`: schema,
 * row count, rows and metrics history. Design adds the cells around it, replacing a source and
 * changing column types; production, which only builds and ingestion write, adds the deployed
 * scenarios watching it and how to append rows.
 */
export function DatasetPage({ projectId, name, environment = 'design' }: { projectId: string; name: string; environment?: Environment }) {
  const trpc = useTRPC();
  const dataset = useQuery(trpc.datasets.get.queryOptions({ projectId, name, environment }));
  const [uploading, setUploading] = useState(false);
  if (dataset.isError) return <NotAvailable error={dataset.error} />;
  if (dataset.isPending) return <Loading />;
  const d = dataset.data;
  const production = environment === 'production';

  return (
    <ProjectSubpage
      projectId={projectId}
      section={production ? 'Production' : 'Datasets'}
      sectionHref={production ? `/projects/${projectId}/production#production-datasets` : undefined}
      title={d.name}
      badge={
        <>
          <span className={`badge badge-kind-${d.kind}`}>{d.kind}</span>
          {production && <span className="badge badge-env-production">production</span>}
        </>
      }
      description={describe(d)}
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
        <>
          {uploading && <UploadDatasetDialog projectId={projectId} environment={environment} existing={[d.name]} initialName={d.name} onClose={() => setUploading(false)} />}
          <DatasetBody projectId={projectId} dataset={d} canEdit={canEdit} />
        </>
      )}
    </ProjectSubpage>
  );
}

/** `canEdit`: the user's role may load data; column types are changed in design only. */
function DatasetBody({ projectId, dataset: d, canEdit }: { projectId: string; dataset: Dataset; canEdit: boolean }) {
  const trpc = useTRPC();
  const metrics = useQuery(trpc.datasets.metrics.queryOptions({ projectId, name: d.name, environment: d.environment }));
  const production = d.environment === 'production';
  const canChangeTypes = canEdit && !production;
  return (
    <div className="stack">
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
        <Card title="Schema" description={d.kind === 'source' && canChangeTypes ? 'Changing a type converts the stored values, or says which one does not fit.' : undefined} id="dataset-schema">
          <SchemaTable projectId={projectId} dataset={d} canEdit={canChangeTypes} />
        </Card>
        {/* Lineage is the design notebooks'; production runs what the deployed bundle says. */}
        {production ? (
          <WatchedByCard projectId={projectId} name={d.name} />
        ) : (
          <Card title="Cells" description="Where the project’s notebooks write, read and check it." id="dataset-cells">
            <DatasetLineage projectId={projectId} name={d.name} />
          </Card>
        )}
      </div>
      {production && d.kind === 'source' && <AppendRowsCard projectId={projectId} dataset={d} canAppend={canEdit} />}
      <Card title="Metrics" description="Computed after each build that publishes it." id="dataset-metrics">
        {metrics.isPending ? <Loading /> : metrics.isError ? <ErrorMessage error={metrics.error} /> : <MetricsCharts history={metrics.data} />}
      </Card>
      <Card title="Column profiles" description="Over every row, as of the last upload or publish (a labelled sample on large tables)." id="dataset-profile">
        <DatasetProfiles projectId={projectId} dataset={d} />
      </Card>
      <Card title="Preview" description="Sort by a header, filter under it, select cells and copy (Ctrl+C)." id="dataset-preview">
        <PreviewTable projectId={projectId} name={d.name} environment={d.environment} />
      </Card>
    </div>
  );
}

function DatasetProfiles({ projectId, dataset: d }: { projectId: string; dataset: Dataset }) {
  const trpc = useTRPC();
  const profile = useQuery(trpc.datasets.profile.queryOptions({ projectId, name: d.name, environment: d.environment }));
  if (profile.isPending) return <Loading />;
  if (profile.isError) return <ErrorMessage error={profile.error} />;
  return <ColumnProfiles profiles={profile.data.profile} />;
}
