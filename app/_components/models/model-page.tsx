'use client';

import './models.css';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { useMemo, useState } from 'react';
import { ProjectSubpage } from '../datasets/project-subpage';
import { formatDateTime } from '../format';
import { GateDecisions } from '../scenarios/gate-decisions';
import { useTRPC } from '../trpc';
import { roleAtLeast } from '../types';
import { QueryError } from '../query-state';
import { Card, EmptyState, ErrorMessage, Loading } from '../ui';
import { EvaluationCharts, MetricTiles } from './evaluation-charts';
import { LeaderboardTable, leaderboardDescription } from './leaderboard';
import { ModelEvaluations } from './model-evaluations';
import { operatingPoints, pointAt } from './operating-points';
import { ThresholdSlider } from './threshold-slider';
import { formatAuc, formatMetric, formatShare } from './format';
import { useAlgorithmLabel } from './algorithms';
import { type Evaluation, endpointsHref, modelHref, modelsHref, trainHref, type ModelVersionDetail, type ModelVersionSummary } from './types';

/** A model: its versions with their holdout metrics, the champion, and one version's evaluation drawn. */
export function ModelPage({ projectId, name, version }: { projectId: string; name: string; version: number | null }) {
  const trpc = useTRPC();
  const model = useQuery(trpc.models.get.queryOptions({ projectId, name }));
  const versions = useQuery(trpc.models.versions.queryOptions({ projectId, name }));
  const selected = version ?? model.data?.champion?.version ?? versions.data?.[0]?.version ?? null;

  return (
    <ProjectSubpage
      projectId={projectId}
      section="Models"
      title={name}
      badge={model.data?.champion && <span className="badge badge-champion">champion v{model.data.champion.version}</span>}
      description="Each version is an ONNX file with the metrics of its holdout. Endpoints serve the champion unless they pin a version."
      actions={({ canEdit }) => (
        <span className="model-actions">
          <Link href={endpointsHref(projectId)} className="btn">
            Endpoints
          </Link>
          {canEdit && (
            <Link href={trainHref(projectId, name)} className="btn btn-primary">
              Train a new version
            </Link>
          )}
        </span>
      )}
    >
      {({ myRole }) =>
        model.isPending || versions.isPending ? (
          <Loading />
        ) : model.isError ? (
          <QueryError error={model.error} what={`Model "${name}"`} back={{ href: modelsHref(projectId), label: 'All models' }} />
        ) : versions.isError ? (
          <ErrorMessage error={versions.error} />
        ) : (
          <div className="stack">
            <VersionsTable projectId={projectId} name={name} versions={versions.data} selected={selected} canDeploy={roleAtLeast(myRole, 'deployer')} />
            <GateDecisions projectId={projectId} model={name} />
            {selected !== null && <VersionEvaluation key={selected} projectId={projectId} name={name} version={selected} versions={versions.data} />}
            <ModelEvaluations projectId={projectId} name={name} versions={versions.data} selected={selected} canRun={roleAtLeast(myRole, 'editor')} />
          </div>
        )
      }
    </ProjectSubpage>
  );
}

function VersionsTable({ projectId, name, versions, selected, canDeploy }: {
  projectId: string;
  name: string;
  versions: ModelVersionSummary[];
  selected: number | null;
  canDeploy: boolean;
}) {
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const algorithmLabel = useAlgorithmLabel();
  const promote = useMutation(
    trpc.models.setChampion.mutationOptions({
      onSuccess: () =>
        Promise.all([
          queryClient.invalidateQueries({ queryKey: trpc.models.get.queryKey({ projectId, name }) }),
          queryClient.invalidateQueries({ queryKey: trpc.models.versions.queryKey({ projectId, name }) }),
          queryClient.invalidateQueries({ queryKey: trpc.models.list.queryKey({ projectId }) }),
          queryClient.invalidateQueries({ queryKey: trpc.endpoints.list.queryKey({ projectId }) }),
        ]),
    }),
  );
  const select = (v: number) => router.replace(modelHref(projectId, name, v), { scroll: false });

  return (
    <Card title="Versions" description={canDeploy ? 'Select a version to see its evaluation. Making a version champion switches every endpoint that follows the champion at once.' : 'Select a version to see its evaluation.'} id="versions">
      <ErrorMessage error={promote.error} />
      <div className="table-scroll">
        <table className="table versions-table">
          <thead>
            <tr>
              <th>Version</th>
              <th>Algorithm</th>
              <th>AUC (95% CI)</th>
              <th className="align-right">Log loss</th>
              <th className="align-right">Accuracy</th>
              <th className="align-right">Precision</th>
              <th className="align-right">Recall</th>
              <th>Data</th>
              <th>
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {versions.map((v) => (
              <tr
                key={v.id}
                className={`version-row${v.version === selected ? ' version-selected' : ''}`}
                onClick={() => select(v.version)}
                aria-selected={v.version === selected}
                data-version={v.version}
              >
                <td className="nowrap">
                  <button type="button" className="title-button strong" onClick={() => select(v.version)} aria-label={`Show version ${v.version}`}>
                    v{v.version}
                  </button>{' '}
                  {v.champion && <span className="badge badge-champion">champion</span>}
                  {v.candidateOf && <span className="badge badge-source" title={`A leaderboard candidate of v${versions.find((w) => w.id === v.candidateOf)?.version ?? '?'}: kept, never champion`}>candidate</span>}
                </td>
                <td className="nowrap">
                  {algorithmLabel(v.algorithm)} {v.source === 'imported' && <span className="badge badge-source">imported</span>}
                </td>
                <td className="tabular nowrap">{formatAuc(v.auc)}</td>
                <td className="align-right tabular">{formatMetric(v.logLoss)}</td>
                <td className="align-right tabular">{formatShare(v.accuracy)}</td>
                <td className="align-right tabular">{formatShare(v.precision)}</td>
                <td className="align-right tabular">{formatShare(v.recall)}</td>
                <td className="nowrap" title={`${v.createdBy}, ${formatDateTime(v.createdAt)}`}>
                  {v.trainingData ? <code>{v.trainingData.dataset}</code> : <span className="muted">—</span>}
                </td>
                <td className="nowrap align-right" onClick={(e) => e.stopPropagation()}>
                  {!v.champion && !v.candidateOf && canDeploy && (
                    <button type="button" className="btn btn-sm" disabled={promote.isPending} onClick={() => promote.mutate({ projectId, name, version: v.version })}>
                      Make champion
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </Card>
  );
}

/** The leaderboard of the training that made this version: its own, or its winner's for a candidate. */
function VersionLeaderboard({ projectId, name, detail, versions }: { projectId: string; name: string; detail: ModelVersionDetail; versions: ModelVersionSummary[] }) {
  const trpc = useTRPC();
  const winnerVersion = detail.candidateOf ? (versions.find((v) => v.id === detail.candidateOf)?.version ?? null) : null;
  const winner = useQuery({ ...trpc.models.versionDetail.queryOptions({ projectId, name, version: winnerVersion ?? 1 }), enabled: winnerVersion !== null });
  const board = detail.metrics?.leaderboard ?? (winnerVersion !== null ? winner.data?.metrics?.leaderboard : undefined);
  if (!board) return null;
  return (
    <Card title="Leaderboard" description={leaderboardDescription(board.metric, board.holdoutRows)} id="leaderboard">
      {detail.candidateOf && (
        <p className="muted">
          v{detail.version} is a candidate of v{winnerVersion}: it can be evaluated and compared, but not made champion or pinned to an endpoint.
        </p>
      )}
      <LeaderboardTable projectId={projectId} model={name} metric={board.metric} rows={board.rows} current={detail.version} />
    </Card>
  );
}

function VersionEvaluation({ projectId, name, version, versions }: { projectId: string; name: string; version: number; versions: ModelVersionSummary[] }) {
  const trpc = useTRPC();
  const algorithmLabel = useAlgorithmLabel();
  const detail = useQuery(trpc.models.versionDetail.queryOptions({ projectId, name, version }));
  if (detail.isPending) return <Loading />;
  if (detail.isError) return <ErrorMessage error={detail.error} />;
  const d = detail.data;
  const evaluation = d.metrics?.evaluation;
  return (
    <>
      <VersionLeaderboard projectId={projectId} name={name} detail={d} versions={versions} />
      <Card title={`Evaluation of v${d.version}`} description={describeVersion(d, algorithmLabel)} id="evaluation">
        <TrainingWarnings warnings={(d.metrics?.training as { warnings?: string[] } | undefined)?.warnings} />
        {evaluation ? <HoldoutEvaluation evaluation={evaluation} /> : (
          <EmptyState title="No holdout evaluation.">An imported model arrives without one: Stagebook did not see its training data. Score a labelled dataset with it to compare it with trained versions.</EmptyState>
        )}
      </Card>
      <Card title="Features" description="What a scoring request sends for each record, and what the model returns." id="features">
        <FeatureSchemaTable detail={d} />
      </Card>
    </>
  );
}

/** The holdout metrics, the threshold slider (its point drawn on the ROC curve) and the charts. */
function HoldoutEvaluation({ evaluation }: { evaluation: Evaluation }) {
  const points = useMemo(() => operatingPoints(evaluation), [evaluation]);
  const [index, setIndex] = useState(() => pointAt(points, evaluation.atThreshold.threshold));
  const p = points[index];
  const negatives = evaluation.rows - evaluation.positives;
  const operatingPoint = p ? { fpr: negatives ? p.falsePositives / negatives : 0, tpr: evaluation.positives ? p.truePositives / evaluation.positives : 0 } : null;
  return (
    <>
      <MetricTiles evaluation={evaluation} />
      {points.length > 0 && <ThresholdSlider points={points} index={index} onChange={setIndex} rows={evaluation.rows} />}
      <EvaluationCharts evaluation={evaluation} operatingPoint={operatingPoint} />
    </>
  );
}

/** What training left out or wants the user to know (constant or id columns, a multi-class target). */
function TrainingWarnings({ warnings }: { warnings: string[] | undefined }) {
  if (!warnings?.length) return null;
  return (
    <ul className="training-warnings" aria-label="Training warnings">
      {warnings.map((w) => (
        <li key={w}>{w}</li>
      ))}
    </ul>
  );
}

function describeVersion(d: ModelVersionDetail, algorithmLabel: (algorithm: string) => string): string {
  const who = `by ${d.createdBy}, ${formatDateTime(d.createdAt)}`;
  if (d.source === 'imported') return `Imported ONNX file ${who}. sha256 ${d.artifactSha256.slice(0, 12)}…`;
  const t = d.trainingData;
  const training = d.metrics?.training;
  const holdout = (d.spec as { holdout?: { fraction?: number } }).holdout?.fraction;
  return `${algorithmLabel(d.algorithm)} trained ${who} on ${t ? `“${t.dataset}” (${t.rows.toLocaleString()} labelled rows, ${t.environment})` : 'a dataset'}${
    training ? ` in ${training.seconds.toFixed(1)} s, ${training.iterations} iterations${training.earlyStopped ? ' (stopped early)' : ''}` : ''
  }; evaluated on a ${holdout ? `${Math.round(holdout * 100)}% ` : ''}holdout.${fittedOnText(training)}`;
}

/** Which rows the served model was fitted on (versions trained before refits existed say nothing). */
function fittedOnText(training: { fittedOn?: string; fittedRows?: number; holdoutRows?: number } | undefined): string {
  if (!training?.fittedOn) return '';
  const rows = training.fittedRows?.toLocaleString() ?? '';
  return training.fittedOn === 'all'
    ? ` Served model fitted on all ${rows} labelled rows after the holdout evaluation (refit).`
    : ` Served model fitted on the ${rows} training rows only; the ${training.holdoutRows?.toLocaleString() ?? ''} holdout rows were left out (refit off).`;
}

function sendAs(f: ModelVersionDetail['featureSchema']['inputs'][number]): string {
  if (f.tensor === 'string') return 'a string or null';
  if (f.tensor === 'bool') return 'true or false';
  if (f.type === 'boolean') return 'true, false or null';
  return f.tensor === 'float' || f.tensor === 'double' ? 'a number or null' : 'an integer';
}

function FeatureSchemaTable({ detail }: { detail: ModelVersionDetail }) {
  const s = detail.featureSchema;
  const positive = s.classes[s.positiveIndex];
  return (
    <div className="stack">
      <dl className="kv">
        <dt>Target</dt>
        <dd>{s.target ? <code>{s.target}</code> : '—'}</dd>
        <dt>Classes</dt>
        <dd>
          {s.classes.map((c, i) => (
            <span key={c}>
              {i > 0 && ', '}
              <code>{c}</code>
              {c === positive && <span className="muted"> (positive)</span>}
            </span>
          ))}
        </dd>
      </dl>
      <div className="table-scroll">
        <table className="table">
          <thead>
            <tr>
              <th>Feature</th>
              <th>Type</th>
              <th>Send as</th>
              <th>Known categories</th>
            </tr>
          </thead>
          <tbody>
            {s.inputs.map((f) => (
              <tr key={f.name}>
                <td>
                  <code>{f.name}</code>
                </td>
                <td>{f.type}</td>
                <td className="muted">{sendAs(f)}</td>
                <td className="muted truncate" style={{ maxWidth: 360 }} title={f.categories?.join(', ')}>
                  {f.categories ? f.categories.map((c) => (c === '' ? '(missing)' : c)).join(', ') : '—'}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}
