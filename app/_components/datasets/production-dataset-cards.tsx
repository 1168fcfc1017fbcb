'use client';

import Link from 'next/link';
import { useEffect, useState } from 'react';
import { BuildStatusBadge } from '../builds/status-badge';
import { formatEvery, scenarioRunHref, type Scenario } from '../scenarios/scenario-types';
import { useScenarios } from '../scenarios/use-scenarios';
import { Card, EmptyState, ErrorMessage, Loading } from '../ui';
import { AppendRowsDialog } from './append-dialog';
import type { Dataset } from './schema-table';

const productionScenariosHref = (projectId: string) => `/projects/${projectId}/production#scenarios`;

/** A value of the column's type for the example row: the route checks each one against it. */
const exampleValue: Record<Dataset['columns'][number]['type'], unknown> = {
  integer: 0,
  numeric: 0.5,
  boolean: true,
  timestamp: '2026-01-01T00:00:00Z',
  text: 'text',
};

/** The deployed scenarios with a `dataset_change` trigger on this production dataset. */
export function WatchedByCard({ projectId, name }: { projectId: string; name: string }) {
  const scenarios = useScenarios(projectId);
  const watching = (scenarios.data ?? []).flatMap((s) => {
    const trigger = s.triggers.find((t) => t.type === 'dataset_change' && t.dataset === name);
    return trigger?.type === 'dataset_change' ? [{ scenario: s, every: trigger.every }] : [];
  });
  return (
    <Card title="Watched by" description="Deployed scenarios that start when its rows change." id="dataset-watchers">
      {scenarios.isPending ? (
        <Loading />
      ) : scenarios.isError ? (
        <ErrorMessage error={scenarios.error} />
      ) : watching.length === 0 ? (
        <EmptyState title="No deployed scenario watches it.">
          A scenario with a <code>dataset_change</code> trigger on <code>{name}</code> starts when its rows change.
        </EmptyState>
      ) : (
        <ul className="watchers">
          {watching.map(({ scenario, every }) => (
            <Watcher key={scenario.name} projectId={projectId} scenario={scenario} every={every} />
          ))}
        </ul>
      )}
    </Card>
  );
}

function Watcher({ projectId, scenario: s, every }: { projectId: string; scenario: Scenario; every: number }) {
  return (
    <li data-scenario={s.name}>
      <Link href={productionScenariosHref(projectId)} className="strong-link mono">
        {s.name}
      </Link>
      {!s.enabled && <span className="badge badge-warn">disabled</span>}
      {s.lastRun && (
        <Link href={scenarioRunHref(projectId, s.lastRun.runId)} aria-label={`Last run of ${s.name}: ${s.lastRun.status}`}>
          <BuildStatusBadge status={s.lastRun.status} />
        </Link>
      )}
      <div className="muted small">
        checked {formatEvery(every)}
        {s.description ? ` · ${s.description}` : ''}
      </div>
    </li>
  );
}

/**
 * Appending rows to a production source dataset: from a CSV file in the browser (editors), and how
 * a client does it over REST. Built datasets have no append: each production build replaces them.
 */
export function AppendRowsCard({ projectId, dataset, canAppend }: { projectId: string; dataset: Dataset; canAppend: boolean }) {
  const [origin, setOrigin] = useState('http://localhost:3000');
  const [appending, setAppending] = useState(false);
  useEffect(() => setOrigin(window.location.origin), []);
  const scope = `ingest:${dataset.name}`;
  const row = Object.fromEntries(dataset.columns.map((c) => [c.name, exampleValue[c.type]]));
  const curl = [
    `# STAGEBOOK_KEY: an API key with the ${scope} scope`,
    `curl -X POST "${origin}/api/v1/projects/${projectId}/datasets/${dataset.name}/rows?environment=production" \\`,
    `  -H "Authorization: Bearer $STAGEBOOK_KEY" \\`,
    `  -H "Content-Type: application/json" \\`,
    `  -d '${JSON.stringify({ rows: [row] }).replace(/'/g, "'\\''")}'`,
  ].join('\n');
  return (
    <Card
      title="Append rows"
      description="All or nothing: every row is checked against the columns before any is written."
      id="append-rows"
      actions={
        canAppend && (
          <button type="button" className="btn btn-sm" onClick={() => setAppending(true)}>
            Append rows from a CSV
          </button>
        )
      }
    >
      {appending && <AppendRowsDialog projectId={projectId} dataset={dataset} onClose={() => setAppending(false)} />}
      <div className="stack">
        <pre className="dataset-snippet" data-testid="append-example">
          {curl}
        </pre>
        <dl className="dataset-kv">
          <dt>Key scope</dt>
          <dd>
            <code>{scope}</code> (create a key under <Link href={`/projects/${projectId}/api-keys`}>API keys</Link>)
          </dd>
          <dt>Answer</dt>
          <dd>
            <code>appended</code>, the new <code>rowCount</code> and <code>fingerprint</code>; 400 names the row and field of a bad value; at most 10,000 rows per request
          </dd>
        </dl>
      </div>
    </Card>
  );
}
