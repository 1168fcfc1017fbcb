import { and, eq } from 'drizzle-orm';
import { models, modelVersions } from '@/db/schema';
import { FeatureSchema } from '@/server/ml/onnx/feature-schema';
import { hasRow } from '@/server/ml/seen-rows';
import { PythonSetupError } from '@/server/python/venv';
import { emitAudit } from '../audit/emit';
import { auditMetaOf } from '../context';
import { bundleRequirements, type BundleManifest } from '../bundles/manifest';
import { buildPythonTable, declaredPythonInputs, declaredPythonOutput, PythonCellError, type PythonCellModel } from '../cells/build-python-table';
import { frameRecords } from '../cells/python-model-frame';
import { DEFAULT_STATEMENT_TIMEOUT_MS } from '../datasets/sql-sandbox';
import { teamOfProject } from '../endpoints/find-endpoint';
import { ServiceError } from '../errors';
import { readArtifact, sha256Of } from '../models/artifacts';
import { scoreRecords } from '../models/python-frame-scoring';
import { preparePythonVersion, registerPreparedPythonVersion, type PreparedPythonVersion } from '../models/register-python-model';
import { loadSeenRows } from '../models/seen-rows-store';
import { scoringRuntime } from '../scoring/runtime';
import { makeChampion, productionEndpointsOf, publishPromotion, type Decision, type RetrainStep } from './retrain-champion';
import { judgeGate } from './retrain-gate';
import { startShadowPeriod } from './retrain-shadow';
import { secondsSince } from './retrain-step';
import { loadManifest, StepRefused, type StepEnv, type StepResult } from './steps';

/**
 * The Python cell of the deployed bundle that registers `model` (stagebook.register_model), when the
 * model is a Python cell's: no train cell in the bundle trains it, and the bundle's version (else the
 * champion) says `language: python` with its cell. Null for any other model.
 */
function pythonCellOf(manifest: BundleManifest, model: string, championSpec: unknown): BundleManifest['cells'][number] | null {
  const trained = manifest.graph.graph.nodes.some((n) => n.type === 'cell' && n.kind === 'train' && n.model === model);
  if (trained) return null;
  const bundled = manifest.models.find((m) => m.name === model);
  const spec = [bundled?.spec, championSpec].map((s) => (s ?? {}) as { language?: unknown; cell?: unknown }).find((s) => s.language === 'python');
  if (!spec || typeof spec.cell !== 'string') return null;
  const cell = manifest.cells.find((c) => c.id === spec.cell);
  if (!cell || cell.kind !== 'python') throw new StepRefused(`model "${model}" is registered by a Python cell that the deployed bundle does not have: deploy a bundle with that cell`);
  return cell;
}

/**
 * A gated retrain of a model a Python cell registered: the deployed bundle's cell runs again in the
 * sandbox on the production datasets it reads (its output is not published: only its models count),
 * and the version it registers is the challenger. Its report carries the rows it was fitted and
 * judged on as the model saw them (the frame) and the copy fitted on the training part as ONNX, so
 * the server scores champion and challenger itself, with onnxruntime, on identical records: the
 * challenger's holdout rows minus those the champion trained on (hashes of the champion's frame,
 * `seenRows.of = 'model-frame'`). From there the gate is the train cell's: same judgement
 * (`judgeGate`), same promotion (registered, made champion and the production endpoints repointed in
 * one transaction), same shadow period with `shadow` (the registered challenger shadow-scores the
 * production endpoints first and `concludeRetrainShadow` decides), same audit. Returns null when the model is not a Python cell's (the caller
 * retrains it from its train cell).
 */
export async function runPythonRetrainStep(env: StepEnv, step: RetrainStep): Promise<StepResult | null> {
  const started = performance.now();
  const { run, db } = env;
  const manifest = await loadManifest(db, run);
  const [model] = await db
    .select()
    .from(models)
    .where(and(eq(models.projectId, run.projectId), eq(models.name, step.model)));
  const [champion] = model?.championVersionId ? await db.select().from(modelVersions).where(eq(modelVersions.id, model.championVersionId)) : [];
  const cell = pythonCellOf(manifest, step.model, champion?.spec);
  if (!cell) return null;
  if (!model || !champion) throw new StepRefused(`model "${step.model}" has no champion to compare a challenger with`);
  const label = cell.title ?? `python cell "${declaredPythonOutput(cell.source) ?? cell.id}"`;

  const challenger = await runCellForModel(env, step.model, cell, label, bundleRequirements(manifest));
  let prepared: PreparedPythonVersion;
  try {
    prepared = await preparePythonVersion(env.ctx, {
      projectId: run.projectId,
      cellId: cell.id,
      entry: challenger.entry,
      bytes: challenger.bytes,
      estimate: challenger.estimate,
      frame: challenger.frame,
      environment: 'production',
      inputs: declaredPythonInputs(cell.source),
    });
  } catch (err) {
    if (err instanceof ServiceError) throw new StepRefused(`retrain ${step.model}: ${err.message}`);
    throw err;
  }
  env.say(`challenger fitted on ${prepared.frame.rows.toLocaleString('en-US')} labelled rows; its holdout has ${prepared.facts.holdout.length.toLocaleString('en-US')}`);

  const { base, promote } = await judgeChallenger(env, step, { champion, prepared, cellId: cell.id, challengerSha256: sha256Of(challenger.bytes) });
  const prodEndpoints = promote && step.shadow ? await productionEndpointsOf(db, run.projectId, model.id) : [];
  if (prodEndpoints.length > 0) {
    const shadowing = await startShadowPeriod(env, {
      step,
      model,
      champion,
      base,
      challengerValue: base.challenger.value,
      prodEndpoints,
      register: async (tx, meta) => (await registerPreparedPythonVersion(tx, meta, prepared, { scenarioRunId: run.runId })).version,
    });
    return { ...shadowing, output: { ...shadowing.output, seconds: secondsSince(started) } };
  }
  const shadowNote = promote && step.shadow ? ' (no production endpoint serves it, so there was no traffic to shadow)' : '';
  env.say(`gate: ${base.reason}: ${promote ? `promoting the challenger${shadowNote}` : 'keeping the champion'}`);
  const decided = await decide(env, { model, champion, prepared, promote, base: { ...base, reason: base.reason + shadowNote } });
  publishPromotion(db, model.id, decided);
  return { output: { ...decided, seconds: secondsSince(started) } };
}

/** The gate's verdict on both models' scores of the same records, as the decision's common record (`language: python`, the cell). */
async function judgeChallenger(
  env: StepEnv,
  step: RetrainStep,
  { champion, prepared, cellId, challengerSha256 }: { champion: typeof modelVersions.$inferSelect; prepared: PreparedPythonVersion; cellId: string; challengerSha256: string },
) {
  const { judged, seen, championSeenRows, y, championP, challengerP } = await scoreBoth(env, champion, prepared);
  env.heartbeat({ stage: 'comparing' });
  const gate = step.gate;
  const verdict = judgeGate(gate, 0.5, y, championP, challengerP);
  const identical = verdict.passed && challengerSha256 === champion.artifactSha256;
  const promote = verdict.passed && !identical;
  const judgedOn = seen ? `${judged.length} holdout rows the champion did not train on` : `${judged.length} holdout rows`;
  const reason = !verdict.enoughRows
    ? `the comparison has ${judgedOn}, fewer than minRows ${gate.minRows}`
    : !verdict.bothClasses
      ? `the comparison has ${judgedOn}, without both classes: ${gate.metric} cannot be compared`
      : identical
        ? `the challenger is the champion's model exactly (same ONNX artifact, ${gate.metric} ${verdict.challengerValue.toFixed(4)})`
        : `challenger ${gate.metric} ${verdict.challengerValue.toFixed(4)} ${verdict.passed ? 'meets' : 'does not meet'} ${verdict.comparator} champion ${verdict.championValue.toFixed(4)}${gate.minImprovement ? ` ${verdict.comparator.startsWith('>') ? '+' : '-'} ${gate.minImprovement}` : ''} on ${judgedOn}, both scored by onnxruntime on the same records`;
  env.signal.throwIfAborted();
  const base = {
    model: step.model,
    metric: gate.metric,
    comparator: verdict.comparator,
    minImprovement: gate.minImprovement,
    minRows: gate.minRows,
    holdoutRows: prepared.facts.holdout.length,
    evaluatedRows: judged.length,
    championSeenRows,
    champion: { version: champion.version, value: verdict.championValue },
    challenger: { version: null as number | null, value: verdict.challengerValue },
    reason,
    data: { dataset: prepared.version.trainingData?.dataset ?? '', environment: 'production' as const, fingerprint: prepared.facts.fingerprint, rows: prepared.frame.rows },
    endpoints: [] as string[],
    scenarioRunId: env.run.runId,
    language: 'python' as const,
    cell: cellId,
  };
  return { base, promote };
}

/**
 * Champion and challenger scored on the same records: the challenger's holdout rows (its frame)
 * minus those the champion was fitted on (its model-frame digest); the champion by its served ONNX
 * file, the challenger by its estimate's scores the server computed on those rows.
 */
async function scoreBoth(env: StepEnv, champion: typeof modelVersions.$inferSelect, prepared: PreparedPythonVersion) {
  const { db } = env;
  const { facts } = prepared;
  const frame = prepared.frame;
  const seen = await loadSeenRows(db, champion.trainingData, 'model-frame');
  const judged = facts.holdout.flatMap((r, i) => (seen && hasRow(seen, facts.hashes[r]!) ? [] : [i]));
  const championSeenRows = seen ? facts.holdout.length - judged.length : null;
  env.say(
    seen
      ? `champion v${champion.version} trained on ${seen.length.toLocaleString('en-US')} distinct rows: ${championSeenRows} of the ${facts.holdout.length} holdout rows are among them, so both are judged on the other ${judged.length}`
      : `champion v${champion.version}'s training rows are unknown (${champion.trainingData?.seenRows ? 'a digest of dataset rows, not of a Python model frame' : 'imported, fitted by the cell itself, or from another instance'}): both are judged on all ${facts.holdout.length} holdout rows`,
  );
  const schema = FeatureSchema.parse(champion.featureSchema);
  const have = new Set(frame.columns.map((c) => c.name));
  const missing = schema.inputs.filter((f) => !have.has(f.name));
  if (missing.length) throw new StepRefused(`the champion (v${champion.version}) needs ${missing.map((f) => `"${f.name}"`).join(', ')}, which the challenger's rows do not have`);
  const records = frameRecords(
    frame,
    judged.map((i) => facts.holdout[i]!),
  );
  const session = await scoringRuntime(db).sessions.get(champion.artifactSha256, () => readArtifact(db, champion.artifactSha256));
  const championP = await scoreRecords(session, schema, records);
  const challengerP = Float64Array.from(judged, (i) => facts.p[i]!);
  const y = Uint8Array.from(judged, (i) => facts.y[i]!);
  return { judged, seen, championSeenRows, y, championP, challengerP };
}

/** The decision in one transaction: on a pass the challenger registered, made champion, the production endpoints repointed; audited `model.gate_decision` either way. */
async function decide(
  env: StepEnv,
  c: {
    model: typeof models.$inferSelect;
    champion: typeof modelVersions.$inferSelect;
    prepared: PreparedPythonVersion;
    promote: boolean;
    base: Awaited<ReturnType<typeof judgeChallenger>>['base'];
  },
): Promise<Decision & { language: 'python' }> {
  const { run, db } = env;
  const { model, champion, prepared, base } = c;
  const meta = auditMetaOf(env.ctx);
  const teamId = await teamOfProject(db, run.projectId);
  return db.transaction(async (tx) => {
    const registered = c.promote ? await registerPreparedPythonVersion(tx, meta, prepared, { scenarioRunId: run.runId }) : null;
    const repointed = registered
      ? await makeChampion(tx, meta, { projectId: run.projectId, teamId, model, from: champion.version, to: registered.version, runId: run.runId })
      : [];
    const decision = {
      ...base,
      decision: registered ? ('promoted' as const) : ('kept_champion' as const),
      challenger: { version: registered?.version.version ?? null, value: base.challenger.value },
      endpoints: repointed,
    };
    await emitAudit(tx, meta, { action: 'model.gate_decision', target: { type: 'model', id: model.id }, teamId, projectId: run.projectId, details: decision });
    return decision;
  });
}

/** Runs the bundle's Python cell on production data for its models (nothing published) and returns the one named `model`. */
async function runCellForModel(env: StepEnv, model: string, cell: BundleManifest['cells'][number], label: string, requirements: ReturnType<typeof bundleRequirements>): Promise<PythonCellModel> {
  let stage = 'python: starting';
  // The activity heartbeats while the cell's process runs (reading inputs, fitting, converting).
  const beat = setInterval(() => env.heartbeat({ stage }), 1000);
  env.say(`running ${label} on the production data for its model "${model}"`);
  try {
    const r = await buildPythonTable(env.db, { projectId: env.run.projectId, environment: 'production' }, {
      // The deployed bundle's requirements, as its production builds install them.
      ...(requirements !== undefined ? { requirements } : {}),
      cellId: cell.id,
      source: cell.source,
      table: `retrain_${env.run.runId.replace(/-/g, '').slice(0, 16)}`,
      timeoutMs: DEFAULT_STATEMENT_TIMEOUT_MS,
      signal: env.signal,
      models: true,
      discardOutput: true,
      onProgress: (message) => {
        stage = message;
      },
    });
    if (r.mode === 'unsandboxed') env.say('python: ran WITHOUT a sandbox (the admin allowed it: STAGEBOOK_PYTHON_UNSANDBOXED)');
    for (const line of r.stdout.trimEnd().split('\n').filter(Boolean).slice(-20)) env.say(`python> ${line}`);
    const found = r.models.find((m) => m.entry.name === model);
    if (!found) throw new StepRefused(`${label} ran but did not register "${model}"${r.models.length ? ` (it registered ${r.models.map((m) => `"${m.entry.name}"`).join(', ')})` : ''}`);
    const e = found.entry;
    env.say(`python: model "${model}": converted with skl2onnx (${e.inputTensor} inputs), onnxruntime equals predict_proba on ${e.check.rows.toLocaleString('en-US')} rows in ${e.seconds.convertAndCheck.toFixed(2)}s`);
    return found;
  } catch (err) {
    if (err instanceof PythonCellError && !env.signal.aborted) throw new StepRefused(`retrain ${model}: ${label}: ${err.message.replace(/^python cell [^:]+: /, '')}`);
    if (err instanceof PythonSetupError) throw new StepRefused(`retrain ${model}: ${err.message}`);
    throw err;
  } finally {
    clearInterval(beat);
  }
}
