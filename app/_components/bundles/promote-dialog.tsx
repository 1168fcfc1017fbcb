'use client';

import '../datasets/datasets.css';
import './bundles.css';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { useEffect, useRef, useState } from 'react';
import { BuildStatusBadge } from '../builds/status-badge';
import { formatDateTime } from '../format';
import { DiffLine, VersionDiff } from '../notebook/version-diff';
import { useTRPC } from '../trpc';
import type { RouterOutputs } from '../types';
import { ErrorMessage, Loading } from '../ui';
import { bundleHref, productionHref, shortHash } from './production-page';

type Preview = RouterOutputs['bundles']['preview'];
type ModelDiff = NonNullable<Preview['diff']>['models'][number];
type Brief = NonNullable<ModelDiff['to']>;

/** The notebook toolbar's Promote button and its dialog. */
export function PromoteButton({ projectId, notebookId }: { projectId: string; notebookId: string }) {
  const [open, setOpen] = useState(false);
  return (
    <>
      <button type="button" className="btn btn-sm btn-primary" onClick={() => setOpen(true)}>
        Promote
      </button>
      {open && <PromoteDialog projectId={projectId} notebookId={notebookId} onClose={() => setOpen(false)} />}
    </>
  );
}

/**
 * Promote: what the bundle would hold and how it differs from the last one (cells with their line
 * diff, models with metrics side by side, endpoints and scenarios), the last design build's status,
 * release notes; then the sealed bundle's hash.
 */
export function PromoteDialog({ projectId, notebookId, onClose }: { projectId: string; notebookId: string; onClose: () => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
  }, []);
  const trpc = useTRPC();
  const qc = useQueryClient();
  // Always fresh: the notebook may have changed since the dialog was last opened.
  const preview = useQuery({ ...trpc.bundles.preview.queryOptions({ projectId, notebookId }), staleTime: 0, gcTime: 0 });
  const [notes, setNotes] = useState('');
  const [confirmFailed, setConfirmFailed] = useState(false);
  const promote = useMutation(
    trpc.bundles.promote.mutationOptions({
      onSuccess: () => qc.invalidateQueries({ queryKey: trpc.bundles.list.queryKey({ projectId }) }),
    }),
  );
  const p = preview.data;
  const needsConfirm = Boolean(p?.buildConcern);
  const canSubmit = p?.promotable && notes.trim().length > 0 && (!needsConfirm || confirmFailed) && !promote.isPending;

  return (
    <dialog ref={ref} className="dialog promote-dialog" aria-labelledby="promote-title" onCancel={onClose}>
      <div className="dialog-head">
        <h2 id="promote-title">Promote to a bundle</h2>
        <button type="button" className="btn btn-ghost btn-icon" aria-label="Close" onClick={onClose}>
          ×
        </button>
      </div>
      {promote.data ? (
        <div className="dialog-body" role="status">
          <p className="success">
            {promote.data.created ? 'Sealed bundle' : 'Nothing changed since bundle'}{' '}
            <Link className="mono" href={bundleHref(projectId, promote.data.bundle.hash)}>
              {shortHash(promote.data.bundle.hash)}
            </Link>
            {promote.data.created ? '.' : ': that bundle is the one.'}
          </p>
          <p>
            Deploy it from <Link href={productionHref(projectId)}>Production</Link>.
          </p>
          <div className="dialog-actions">
            <Link className="btn btn-primary" href={productionHref(projectId)}>
              Go to Production
            </Link>
            <button type="button" className="btn" onClick={onClose}>
              Close
            </button>
          </div>
        </div>
      ) : preview.isPending ? (
        <div className="dialog-body">
          <Loading label="Compiling the notebook…" />
        </div>
      ) : preview.isError ? (
        <div className="dialog-body">
          <ErrorMessage error={preview.error} />
        </div>
      ) : (
        <form
          className="dialog-body"
          onSubmit={(e) => {
            e.preventDefault();
            if (canSubmit) promote.mutate({ projectId, notebookId, releaseNotes: notes, confirmFailedBuild: confirmFailed });
          }}
        >
          {!p!.promotable ? (
            <div className="promote-concern" role="alert">
              <strong>This notebook cannot be promoted yet.</strong>
              <ul>
                {p!.diagnostics
                  .filter((d) => d.severity === 'error')
                  .slice(0, 8)
                  .map((d, i) => (
                    <li key={i}>
                      Cell {d.cellId}, line {d.line}: {d.message}
                    </li>
                  ))}
                {p!.diagnostics.every((d) => d.severity !== 'error') && <li>{p!.buildConcern ?? 'A model it names has no version yet: train it first.'}</li>}
              </ul>
            </div>
          ) : (
            <>
              <PreviewSummary preview={p!} />
              <LastBuildLine preview={p!} />
              {p!.buildConcern && (
                <div className="promote-concern" role="alert">
                  <div>{p!.buildConcern}</div>
                  <label>
                    <input type="checkbox" checked={confirmFailed} onChange={(e) => setConfirmFailed(e.target.checked)} />
                    Promote anyway (recorded on the bundle and in the audit log)
                  </label>
                </div>
              )}
              {p!.diff && <ModelsCompare models={p!.diff.models} />}
              {p!.diff && p!.diff.requirements.status !== 'unchanged' && <RequirementsChange change={p!.diff.requirements} />}
              {p!.diff && (p!.diff.endpoints.some((e) => e.status !== 'unchanged') || p!.diff.scenarios.some((s) => s.status !== 'unchanged')) && <EndpointsAndScenarios diff={p!.diff} />}
              {p!.diff && (
                <section aria-label="Cell changes">
                  <h3>Cells {p!.against ? <>since bundle <span className="mono">{shortHash(p!.against.hash)}</span></> : '(first bundle)'}</h3>
                  <VersionDiff diff={{ cells: p!.diff.cells, summary: p!.diff.summary.cells }} />
                </section>
              )}
              <label className="field">
                <span>Release notes</span>
                <textarea aria-label="Release notes" value={notes} onChange={(e) => setNotes(e.target.value)} placeholder="What changed and why; people deploying and rolling back read this." required />
              </label>
              <ErrorMessage error={promote.error} />
              <div className="dialog-actions">
                <button type="submit" className="btn btn-primary" disabled={!canSubmit}>
                  {promote.isPending ? 'Promoting…' : p!.existing ? 'Promote (same as an existing bundle)' : 'Promote'}
                </button>
                <button type="button" className="btn" onClick={onClose}>
                  Cancel
                </button>
              </div>
            </>
          )}
        </form>
      )}
    </dialog>
  );
}

function PreviewSummary({ preview: p }: { preview: Preview }) {
  const s = p.diff?.summary;
  return (
    <div className="promote-summary" aria-label="What changes">
      <span className="badge">
        hash <span className="mono">{p.manifestHash ? shortHash(p.manifestHash) : '—'}</span>
      </span>
      {p.existing && <span className="badge badge-warn">same content as bundle {shortHash(p.existing.hash)}</span>}
      {s && (
        <>
          <span className="badge">
            cells: {s.cells.changed} changed, {s.cells.added} added, {s.cells.removed} removed
          </span>
          <span className="badge">
            models: {s.models.changed} changed, {s.models.added} added, {s.models.removed} removed
          </span>
          <span className="badge">
            endpoints: {s.endpoints.changed} changed, {s.endpoints.added} added, {s.endpoints.removed} removed
          </span>
          <span className="badge">
            scenarios: {s.scenarios.changed} changed, {s.scenarios.added} added, {s.scenarios.removed} removed
          </span>
        </>
      )}
    </div>
  );
}

function LastBuildLine({ preview: p }: { preview: Preview }) {
  const b = p.lastBuild;
  if (!b) return <p className="muted">{p.buildConcern ? 'This notebook has never been built.' : 'Nothing in this notebook is built (no SQL, TypeScript, train or score cells).'}</p>;
  return (
    <p className="last-build">
      Last design build: <BuildStatusBadge status={b.status} compact /> {formatDateTime(b.finishedAt ?? b.createdAt)}
      {!b.matchesCurrent && <span className="muted"> (of an earlier state of the notebook)</span>}
    </p>
  );
}

const METRICS: { key: keyof Brief; label: string; higherIsBetter: boolean }[] = [
  { key: 'auc', label: 'AUC', higherIsBetter: true },
  { key: 'logLoss', label: 'Log loss', higherIsBetter: false },
  { key: 'accuracy', label: 'Accuracy', higherIsBetter: true },
  { key: 'precision', label: 'Precision', higherIsBetter: true },
  { key: 'recall', label: 'Recall', higherIsBetter: true },
];

function ModelsCompare({ models }: { models: ModelDiff[] }) {
  if (models.length === 0) return null;
  return (
    <section aria-label="Model changes">
      <h3>Models</h3>
      <table className="table model-compare">
        <thead>
          <tr>
            <th>Model</th>
            <th>Change</th>
            <th>Version</th>
            {METRICS.map((m) => (
              <th key={m.key}>{m.label}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {models.map((m) => (
            <tr key={m.name} data-model={m.name}>
              <td>{m.name}</td>
              <td>
                <span className={`badge diff-status diff-status-${m.status}`}>{m.status}</span>
              </td>
              <td>
                {m.from && m.to && m.from.version !== m.to.version ? `v${m.from.version} → v${m.to.version}` : `v${(m.to ?? m.from)!.version}`}
              </td>
              {METRICS.map((k) => {
                const a = m.from?.[k.key] as number | null | undefined;
                const b = m.to?.[k.key] as number | null | undefined;
                const cls = a != null && b != null && a !== b ? ((b > a) === k.higherIsBetter ? 'better' : 'worse') : undefined;
                return (
                  <td key={k.key} className={cls}>
                    {m.status === 'changed' && a != null ? `${fmt(a)} → ${fmt(b)}` : fmt(b ?? a)}
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

const fmt = (v: number | null | undefined) => (v == null ? '—' : v.toFixed(3));

function EndpointsAndScenarios({ diff }: { diff: NonNullable<Preview['diff']> }) {
  return (
    <section aria-label="Endpoint and scenario changes">
      <h3>Endpoints and scenarios</h3>
      <ul>
        {diff.endpoints
          .filter((e) => e.status !== 'unchanged')
          .map((e) => (
            <li key={e.name}>
              <span className={`badge diff-status diff-status-${e.status}`}>{e.status}</span> endpoint <strong>{e.name}</strong>
              {e.from && e.to && e.from.model !== e.to.model ? ` serves ${e.to.model} instead of ${e.from.model}` : e.to ? ` serves ${e.to.model}` : ''}
              {e.to && (e.from?.threshold ?? null) !== (e.to.threshold ?? null) ? `, decision threshold ${e.to.threshold ?? "the model's own"}${e.from ? ` (was ${e.from.threshold ?? "the model's own"})` : ''}` : ''}
            </li>
          ))}
        {diff.scenarios
          .filter((s) => s.status !== 'unchanged')
          .map((s) => (
            <li key={s.cellId}>
              <span className={`badge diff-status diff-status-${s.status}`}>{s.status}</span> {s.name ? <>scenario <strong>{s.name}</strong></> : `scenario cell ${s.cellId}`}
            </li>
          ))}
      </ul>
    </section>
  );
}

/** The Python packages production runs of the bundle install: the project's list when promoted. */
function RequirementsChange({ change }: { change: NonNullable<Preview['diff']>['requirements'] }) {
  const changed = change.lines.some((l) => l.op !== 'context');
  return (
    <section aria-label="Python package changes">
      <h3>Python packages</h3>
      <p className="muted">
        {change.to === null
          ? 'This bundle has no Python cell: it carries no packages.'
          : change.to === ''
            ? "Production runs of this bundle install no extra packages (the project's list is empty)."
            : "Production runs of this bundle install these, whatever the project's list says later."}
      </p>
      {changed && (
        <pre className="diff-lines">
          {change.lines.map((l, i) => (
            <DiffLine key={i} op={l.op} text={l.text} />
          ))}
        </pre>
      )}
    </section>
  );
}
