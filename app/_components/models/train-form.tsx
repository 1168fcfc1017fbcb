'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { Fragment, useEffect, useMemo, useState, type FormEvent } from 'react';
import { useTRPC } from '../trpc';
import { Card, ErrorMessage } from '../ui';
import { formatCount, formatMetric } from './format';
import { useAlgorithms, type AlgorithmListing } from './algorithms';
import { modelHref, NAME_PATTERN, NAME_RULE, type Training } from './types';


/** A column that looks like a label: the usual names first. */
function guessTarget(columns: { name: string; type: string }[]): string {
  const usual = columns.find((c) => /^(status|target|label|churn|class|outcome|default|y)$/i.test(c.name));
  return usual?.name ?? columns.findLast((c) => c.type === 'text' || c.type === 'boolean')?.name ?? columns[0]?.name ?? '';
}

const num = (s: string) => (s.trim() === '' ? undefined : Number(s));

/** The params a listing's form fields give: numbers as typed, an empty nullable field null, an empty other field left to the default. */
function paramsOf(listing: AlgorithmListing, valueOf: (key: string) => string): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  for (const f of listing.form) {
    const v = num(valueOf(f.key));
    if (v !== undefined) out[f.key] = v;
    else if (f.nullable) out[f.key] = null;
  }
  return out;
}

/**
 * The train form: dataset, target and positive class, features, algorithm and its main parameters.
 * Training runs on the server in the background; this polls its progress and opens the model page
 * when the new version is registered.
 */
export function TrainForm({ projectId, initialModel }: { projectId: string; initialModel?: string }) {
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const datasets = useQuery(trpc.datasets.list.queryOptions({ projectId }));
  const [dataset, setDataset] = useState('');
  const [model, setModel] = useState(initialModel ?? '');
  const [target, setTarget] = useState('');
  const [positive, setPositive] = useState('');
  const [excluded, setExcluded] = useState<Set<string>>(new Set());
  const algorithms = useAlgorithms();
  const [chosen, setAlgorithm] = useState<AlgorithmListing['name'] | null>(null);
  const listing = algorithms.data?.find((a) => a.name === chosen) ?? algorithms.data?.[0];
  // What was typed, per algorithm and parameter (`<algorithm>.<key>`); untouched fields show the registry's default.
  const [typed, setTyped] = useState<Record<string, string>>({});
  const valueFor = (l: AlgorithmListing, key: string) => typed[`${l.name}.${key}`] ?? String(l.defaults[key] ?? '');
  const valueOf = (key: string) => (listing ? valueFor(listing, key) : '');
  const [holdout, setHoldout] = useState('0.2');
  const [alsoTry, setAlsoTry] = useState<Set<string>>(new Set());
  const [grid, setGrid] = useState('');
  const [metric, setMetric] = useState<'auc' | 'log_loss'>('auc');
  const parsedGrid = useMemo(() => parseGrid(grid), [grid]);
  const [trainingId, setTrainingId] = useState<string | null>(null);

  useEffect(() => {
    if (!dataset && datasets.data?.[0]) setDataset(datasets.data[0].name);
  }, [dataset, datasets.data]);
  const columns = useMemo(() => datasets.data?.find((d) => d.name === dataset)?.columns ?? [], [datasets.data, dataset]);
  useEffect(() => {
    setTarget(guessTarget(columns));
    setExcluded(new Set(columns.filter((c) => c.type === 'timestamp').map((c) => c.name)));
  }, [columns]);
  useEffect(() => {
    if (!initialModel && dataset) setModel(`${dataset.replace(/_/g, '-')}-model`);
  }, [dataset, initialModel]);

  // The target's values, from the first rows, to offer as positive classes.
  const preview = useQuery({ ...trpc.datasets.preview.queryOptions({ projectId, name: dataset, limit: 500 }), enabled: Boolean(dataset) });
  const classes = useMemo(() => {
    const j = preview.data?.columns.findIndex((c) => c.name === target) ?? -1;
    if (!preview.data || j < 0) return [];
    const counts = new Map<string, number>();
    for (const r of preview.data.rows) if (r[j] !== null && r[j] !== undefined) counts.set(String(r[j]), (counts.get(String(r[j])) ?? 0) + 1);
    return [...counts.entries()].sort((a, b) => a[1] - b[1]).map(([v]) => v);
  }, [preview.data, target]);
  useEffect(() => {
    // The rarer class is usually the one to predict (bad loans, churners).
    if (classes.length > 0 && !classes.includes(positive)) setPositive(classes[0]!);
  }, [classes, positive]);

  const train = useMutation(trpc.models.train.mutationOptions({ onSuccess: (t) => setTrainingId(t.id) }));
  const training = useQuery({
    ...trpc.models.training.queryOptions({ projectId, trainingId: trainingId ?? '00000000-0000-4000-8000-000000000000' }),
    enabled: trainingId !== null,
    refetchInterval: (q) => (q.state.data && q.state.data.state !== 'running' ? false : 300),
  });
  const cancel = useMutation(trpc.models.cancelTraining.mutationOptions());
  const done = training.data?.state === 'succeeded' ? training.data : null;
  useEffect(() => {
    if (!done?.result) return;
    void Promise.all([
      queryClient.invalidateQueries({ queryKey: trpc.models.list.queryKey({ projectId }) }),
      queryClient.invalidateQueries({ queryKey: trpc.models.versions.queryKey({ projectId, name: done.modelName }) }),
      queryClient.invalidateQueries({ queryKey: trpc.models.get.queryKey({ projectId, name: done.modelName }) }),
    ]).then(() => router.push(modelHref(projectId, done.modelName, done.result!.version.version)));
  }, [done, projectId, queryClient, router, trpc]);

  const features = columns.filter((c) => c.name !== target && !excluded.has(c.name)).map((c) => c.name);
  const nameProblem = model && !NAME_PATTERN.test(model) ? NAME_RULE : null;
  const running = train.isPending || training.data?.state === 'running';

  const submit = (e: FormEvent) => {
    e.preventDefault();
    setTrainingId(null);
    if (!listing) return;
    const others = (algorithms.data ?? []).filter((a) => a.name !== listing.name && alsoTry.has(a.name));
    const compare = others.length > 0 || parsedGrid.grid !== null;
    train.mutate({
      projectId,
      modelName: model,
      dataset,
      spec: {
        algorithm: listing.name,
        target,
        positiveClass: positive,
        features,
        params: paramsOf(listing, valueOf),
        holdout: { fraction: num(holdout) ?? 0.2 },
        ...(parsedGrid.grid ? { grid: parsedGrid.grid } : {}),
        ...(others.length ? { candidates: others.map((a) => ({ algorithm: a.name, params: paramsOf(a, (key) => valueFor(a, key)) })) } : {}),
        ...(compare ? { metric } : {}),
      },
    });
  };
  const param = (f: AlgorithmListing['form'][number]) => (
    <label className="field">
      <span>{f.label}</span>
      <input
        name={f.key}
        type="number"
        value={valueOf(f.key)}
        onChange={(e) => listing && setTyped({ ...typed, [`${listing.name}.${f.key}`]: e.target.value })}
        disabled={running}
        step={f.step}
        min={f.min}
        placeholder={f.nullable ? 'none' : undefined}
      />
      <span className="hint">{f.hint}</span>
    </label>
  );

  if (datasets.data?.length === 0) {
    return (
      <Card title="Train a model" id="train">
        <p className="muted">
          Training reads a dataset of this project. <Link href={`/projects/${projectId}#section-datasets`}>Upload a CSV</Link> first.
        </p>
      </Card>
    );
  }

  return (
    <Card title="Train a model" description="On a worker, in TypeScript; the holdout metrics and the ONNX file are registered as a new version. Leaving this page does not stop it." id="train">
      <form className="form train-form" onSubmit={submit} aria-label="Train a model">
        <div className="grid-2">
          <label className="field">
            <span>Dataset</span>
            <select name="dataset" value={dataset} onChange={(e) => setDataset(e.target.value)} disabled={running}>
              {datasets.data?.map((d) => (
                <option key={d.id} value={d.name}>
                  {d.name} ({formatCount(d.rowCount)} rows)
                </option>
              ))}
            </select>
          </label>
          <label className="field">
            <span>Model name</span>
            <input name="modelName" value={model} onChange={(e) => setModel(e.target.value)} disabled={running} maxLength={63} aria-invalid={Boolean(nameProblem)} />
            <span className={nameProblem ? 'hint hint-error' : 'hint'}>{nameProblem ?? 'A new version is added if the model exists.'}</span>
          </label>
          <label className="field">
            <span>Target</span>
            <select name="target" value={target} onChange={(e) => setTarget(e.target.value)} disabled={running}>
              {columns
                .filter((c) => c.type !== 'timestamp')
                .map((c) => (
                  <option key={c.name} value={c.name}>
                    {c.name} ({c.type})
                  </option>
                ))}
            </select>
          </label>
          <label className="field">
            <span>Positive class</span>
            <input name="positiveClass" value={positive} onChange={(e) => setPositive(e.target.value)} list="positive-classes" disabled={running} />
            <datalist id="positive-classes">
              {classes.map((c) => (
                <option key={c} value={c} />
              ))}
            </datalist>
            <span className="hint">The outcome the model scores the probability of{classes.length ? ` (seen: ${classes.slice(0, 6).join(', ')})` : ''}.</span>
          </label>
        </div>
        <fieldset>
          <legend>
            Features ({features.length} of {columns.filter((c) => c.name !== target).length})
          </legend>
          <div className="feature-picks">
            {columns
              .filter((c) => c.name !== target)
              .map((c) => (
                <label key={c.name} className="check">
                  <input
                    type="checkbox"
                    name={`feature-${c.name}`}
                    checked={!excluded.has(c.name)}
                    disabled={running || c.type === 'timestamp'}
                    onChange={(e) => {
                      const next = new Set(excluded);
                      if (e.target.checked) next.delete(c.name);
                      else next.add(c.name);
                      setExcluded(next);
                    }}
                  />
                  <code>{c.name}</code>
                </label>
              ))}
          </div>
        </fieldset>
        <fieldset>
          <legend>Algorithm</legend>
          <div className="form">
            <label className="field">
              <select
                name="algorithm"
                value={listing?.name ?? ''}
                onChange={(e) => setAlgorithm(algorithms.data?.find((a) => a.name === e.target.value)?.name ?? null)}
                disabled={running}
                aria-label="Algorithm"
              >
                {algorithms.data?.map((a) => (
                  <option key={a.name} value={a.name}>
                    {a.label}
                  </option>
                ))}
              </select>
            </label>
            <div className="params">
              {listing?.form.map((f) => <Fragment key={f.key}>{param(f)}</Fragment>)}
              <label className="field">
                <span>Holdout</span>
                <input name="holdout" type="number" step="0.05" min="0.05" max="0.5" value={holdout} onChange={(e) => setHoldout(e.target.value)} disabled={running} />
                <span className="hint">Share of rows kept for evaluation.</span>
              </label>
            </div>
          </div>
        </fieldset>
        <fieldset>
          <legend>Compare (optional)</legend>
          <p className="hint">Fit more on the same split: the best by the metric becomes the version, the others are kept as candidates (never champions).</p>
          <div className="grid-2">
            <div className="field">
              <span>Also fit</span>
              {(algorithms.data ?? [])
                .filter((a) => a.name !== listing?.name)
                .map((a) => (
                  <label key={a.name} className="check">
                    <input
                      type="checkbox"
                      name={`also-${a.name}`}
                      checked={alsoTry.has(a.name)}
                      disabled={running}
                      onChange={(e) => {
                        const next = new Set(alsoTry);
                        if (e.target.checked) next.add(a.name);
                        else next.delete(a.name);
                        setAlsoTry(next);
                      }}
                    />
                    {a.label} <span className="muted">(its parameters above)</span>
                  </label>
                ))}
            </div>
            <label className="field">
              <span>Grid of {listing?.label ?? 'the algorithm'}</span>
              <input name="grid" value={grid} onChange={(e) => setGrid(e.target.value)} disabled={running} placeholder={gridExample(listing)} aria-invalid={Boolean(parsedGrid.problem)} />
              <span className={parsedGrid.problem ? 'hint hint-error' : 'hint'}>{parsedGrid.problem ?? 'param: values; every combination is fitted (at most 20 fits in all).'}</span>
            </label>
            <label className="field">
              <span>Choose by</span>
              <select name="metric" value={metric} onChange={(e) => setMetric(e.target.value as 'auc' | 'log_loss')} disabled={running}>
                <option value="auc">Highest holdout AUC</option>
                <option value="log_loss">Lowest holdout log loss</option>
              </select>
            </label>
          </div>
        </fieldset>
        <ErrorMessage error={train.error} />
        {training.data && <TrainingProgress training={training.data} />}
        <div className="row-actions">
          <button type="submit" className="btn btn-primary" disabled={running || !listing || !dataset || !model || !target || !positive || Boolean(nameProblem) || Boolean(parsedGrid.problem)}>
            {running ? 'Training…' : 'Train'}
          </button>
          {training.data?.state === 'running' && (
            <button type="button" className="btn" onClick={() => cancel.mutate({ projectId, trainingId: training.data!.id })} disabled={cancel.isPending}>
              Cancel
            </button>
          )}
        </div>
      </form>
    </Card>
  );
}

/** "C: 0.1, 1, 10; maxIter: 50, 100" as a grid; blank is none. */
/** A grid example from the listing's first two form fields: around each default. */
function gridExample(listing: AlgorithmListing | undefined): string {
  if (!listing) return '';
  return listing.form
    .slice(0, 2)
    .map((f) => {
      const d = Number(listing.defaults[f.key]);
      return Number.isFinite(d) && d > 0 ? `${f.key}: ${d / 2}, ${d}, ${d * 2}` : `${f.key}: 1, 2`;
    })
    .join('; ');
}

function parseGrid(text: string): { grid: Record<string, (number | boolean | null)[]> | null; problem: string | null } {
  if (!text.trim()) return { grid: null, problem: null };
  const grid: Record<string, (number | boolean | null)[]> = {};
  for (const part of text.split(';').map((p) => p.trim()).filter(Boolean)) {
    const m = /^([A-Za-z][A-Za-z0-9]*)\s*:\s*(.+)$/.exec(part);
    if (!m) return { grid: null, problem: `"${part}" is not "param: value, value"` };
    const values = m[2]!.split(',').map((v) => v.trim());
    const parsed = values.map((v) => (v === 'true' ? true : v === 'false' ? false : v === 'null' || v === 'none' ? null : Number(v)));
    const bad = values.find((v, i) => typeof parsed[i] === 'number' && !Number.isFinite(parsed[i]));
    if (bad !== undefined) return { grid: null, problem: `"${bad}" is not a number (in ${m[1]})` };
    grid[m[1]!] = parsed;
  }
  return { grid, problem: null };
}

const stageLabels = { reading: 'Reading the dataset', training: 'Training', exporting: 'Exporting ONNX', registering: 'Registering the version' } as const;

function TrainingProgress({ training }: { training: Training }) {
  if (training.state === 'failed' || training.state === 'cancelled') {
    return (
      <p className="error" role="alert">
        {training.state === 'cancelled' ? 'Training cancelled.' : `Training failed: ${training.error?.message ?? 'unknown error'}`}
      </p>
    );
  }
  if (training.state === 'succeeded') {
    const v = training.result!.version;
    return (
      <p className="success" role="status">
        Trained <strong>{training.modelName}</strong> v{v.version}: AUC {formatMetric(v.auc?.auc)}
        {training.result!.leaderboard && ` (best of ${training.result!.leaderboard.rows.length} fits)`}. Opening the model…
      </p>
    );
  }
  const p = training.progress;
  const t = p?.training;
  const share = p?.stage === 'training' && t ? Math.min(1, t.iteration / Math.max(1, t.maxIterations)) : null;
  return (
    <div className="progress" role="status" aria-label="Training progress">
      <div className="progress-label">
        <span>
          {p ? stageLabels[p.stage] : 'Starting'}
          {p?.candidate && ` · fit ${p.candidate.index + 1} of ${p.candidate.of} (${p.candidate.label})`}
          {p?.stage === 'reading' && ` · ${formatCount(p.rowsRead)} rows`}
          {t && ` · iteration ${t.iteration} of at most ${t.maxIterations}`}
        </span>
        <span>{t ? `loss ${formatMetric(t.loss)}${t.validationLoss !== undefined ? ` · validation ${formatMetric(t.validationLoss)}` : ''}` : ''}</span>
      </div>
      <div className="progress-track">
        <div className={share === null ? 'progress-bar progress-bar-indeterminate' : 'progress-bar'} style={share === null ? undefined : { width: `${Math.round(share * 100)}%` }} />
      </div>
    </div>
  );
}
