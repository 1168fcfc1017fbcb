'use client';

import '../datasets/datasets.css';
import './bundles.css';
import { useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { ProjectSubpage } from '../datasets/project-subpage';
import { formatBytes } from '../datasets/format';
import { formatDateTime } from '../format';
import { endpointHref, modelHref } from '../models/types';
import { cellKindLabel } from '../notebook/cell-kinds';
import { QueryError } from '../query-state';
import { useTRPC } from '../trpc';
import { roleAtLeast } from '../types';
import { Card, EmptyState, Loading } from '../ui';
import { productionHref, shortHash } from './production-page';
import { scenarioNameOf } from '../scenarios/scenario-yaml';

const num = (v: unknown) => (typeof v === 'number' ? v.toFixed(3) : '—');

/** One bundle as sealed: its facts, models, endpoints, scenarios and every cell's source. */
export function BundlePage({ projectId, hash }: { projectId: string; hash: string }) {
  const trpc = useTRPC();
  const bundle = useQuery(trpc.bundles.get.queryOptions({ projectId, hash }));
  return (
    <ProjectSubpage projectId={projectId} section="Production" sectionHref={productionHref(projectId)} title={<span className="mono">bundle {shortHash(hash)}</span>}>
      {({ myRole }) =>
        bundle.isPending ? (
          <Loading />
        ) : bundle.isError ? (
          <QueryError error={bundle.error} what={`Bundle ${shortHash(hash)}`} back={{ href: productionHref(projectId), label: 'Production' }} />
        ) : (
          <div className="production">
            <Card
              title="Bundle"
              actions={
                roleAtLeast(myRole, 'editor') ? (
                  <a className="btn btn-sm" href={`/api/v1/projects/${projectId}/bundles/${hash}/export`} download>
                    Export file
                  </a>
                ) : undefined
              }
            >
              <dl className="facts">
                <div>
                  <dt>Hash</dt>
                  <dd className="mono" title={bundle.data.hash}>
                    {bundle.data.hash}
                  </dd>
                </div>
                <div>
                  <dt>Status</dt>
                  <dd>{bundle.data.active ? <span className="badge badge-active">active in production</span> : <Link href={productionHref(projectId)}>not active: deploy from Production</Link>}</dd>
                </div>
                <div>
                  <dt>{bundle.data.origin === 'import' ? 'Imported' : 'Promoted'}</dt>
                  <dd>
                    {formatDateTime(bundle.data.createdAt)} by {bundle.data.createdBy}
                  </dd>
                </div>
                <div>
                  <dt>Size</dt>
                  <dd>{formatBytes(bundle.data.sizeBytes)}</dd>
                </div>
                <div>
                  <dt>Graph</dt>
                  <dd className="mono">{shortHash(bundle.data.graphHash)}</dd>
                </div>
              </dl>
              {bundle.data.builtOverFailure && <p className="promote-concern">Promoted although the last design build had not succeeded.</p>}
              <blockquote className="release-notes">{bundle.data.releaseNotes}</blockquote>
            </Card>
            <div className="grid-2-1">
              <Card title="Models">
                {bundle.data.manifest.models.length === 0 ? (
                  <EmptyState title="No models." />
                ) : (
                  <table className="table">
                    <thead>
                      <tr>
                        <th>Model</th>
                        <th>Version</th>
                        <th>Algorithm</th>
                        <th>AUC</th>
                        <th>Artifact</th>
                      </tr>
                    </thead>
                    <tbody>
                      {bundle.data.manifest.models.map((m) => {
                        const ev = (m.metrics as { evaluation?: { auc?: { auc?: number } } } | null)?.evaluation;
                        return (
                          <tr key={m.name}>
                            <td>
                              <Link href={modelHref(projectId, m.name)}>{m.name}</Link>
                            </td>
                            <td>v{m.version}</td>
                            <td>{m.algorithm}</td>
                            <td>{num(ev?.auc?.auc)}</td>
                            <td className="mono" title={m.artifact.sha256}>
                              {shortHash(m.artifact.sha256)} · {formatBytes(m.artifact.size)}
                            </td>
                          </tr>
                        );
                      })}
                    </tbody>
                  </table>
                )}
              </Card>
              <Card title="Endpoints and scenarios">
                {bundle.data.manifest.endpoints.length === 0 && bundle.data.manifest.scenarios.length === 0 ? (
                  <EmptyState title="None declared." />
                ) : (
                  <ul>
                    {bundle.data.manifest.endpoints.map((e) => (
                      <li key={e.name}>
                        endpoint <Link href={endpointHref(projectId, e.name)}>{e.name}</Link> serves {e.model}
                      </li>
                    ))}
                    {bundle.data.manifest.scenarios.map((s) => (
                      <li key={s.cellId}>{scenarioNameOf(s.source) ? <>scenario <strong>{scenarioNameOf(s.source)}</strong></> : `scenario cell ${s.cellId}`}</li>
                    ))}
                  </ul>
                )}
              </Card>
            </div>
            {bundle.data.manifest.python && <PythonPackagesCard requirements={bundle.data.manifest.python.requirements} />}
            <Card title={`Cells (${bundle.data.manifest.cells.length})`}>
              {bundle.data.manifest.cells.map((c, i) => (
                <article key={c.id} className="manifest-cell">
                  <header>
                    <strong>Cell {i + 1}</strong> {cellKindLabel(c.kind)} <span className="mono">{c.id}</span>
                  </header>
                  <pre>{c.source}</pre>
                </article>
              ))}
            </Card>
          </div>
        )
      }
    </ProjectSubpage>
  );
}

/** The Python packages a bundle's production runs install: sealed with it, not the project's list of the day. */
function PythonPackagesCard({ requirements }: { requirements: string }) {
  const lines = requirements.split('\n').filter((l) => l.trim() !== '');
  return (
    <Card title="Python packages" description="Production runs of this bundle install these beside Stagebook's own Python packages, whatever the project's list says today.">
      {lines.length === 0 ? (
        <p>None beyond Stagebook's own (numpy, pandas, scikit-learn, skl2onnx).</p>
      ) : (
        <ul className="mono python-packages">
          {lines.map((l) => (
            <li key={l}>{l}</li>
          ))}
        </ul>
      )}
    </Card>
  );
}
