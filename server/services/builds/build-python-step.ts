import type { Db } from '@/db/client';
import type { BuildStepProgress, BuildStepResult } from '@/db/schema';
import { PythonSetupError } from '@/server/python/venv';
import { findBundle } from '../bundles/bundle-view';
import { bundleRequirements, parseManifest } from '../bundles/manifest';
import type { SandboxScope } from '../datasets/sql-sandbox';
import { registerPythonModel } from '../models/register-python-model';
import { buildPythonTable, declaredPythonInputs, PythonCellError, type PythonCellModel } from '../cells/build-python-table';
import { BuildStepError, type BuildRunContext, type StepRuntime } from './build-step-state';
import { asStepFailure, workflowCtx } from './run-model-step';

type ModelOutcome = { result: BuildStepResult; progress: BuildStepProgress | null };

/**
 * Builds a Python step's staging table (build-python-table.ts), then registers the models the cell
 * registered with `stagebook.register_model`, in order, each audited `model.train` by the build's
 * workflow. The step's result names the first one (what a scenario's retrain gate reads).
 */
export async function buildPythonStaging(
  db: Db,
  run: BuildRunContext,
  { cellId, label }: { cellId: string; label: string },
  source: string,
  staging: string,
  scope: SandboxScope,
  rt: StepRuntime,
  say: (line: string) => void,
): Promise<{ rowCount: number | null; model: ModelOutcome | null }> {
  const t0 = performance.now();
  let stage = 'python: starting';
  // The activity heartbeats while the cell's process runs (a venv being created takes minutes).
  const beat = setInterval(() => rt.heartbeat(stage), 1000);
  let models: PythonCellModel[];
  let rowCount: number;
  try {
    const requirements = await bundleRequirementsOf(db, run);
    const r = await buildPythonTable(db, scope, {
      ...(requirements !== undefined ? { requirements } : {}),
      cellId,
      source,
      table: staging,
      timeoutMs: rt.options.statementTimeoutMs,
      signal: rt.signal,
      models: true,
      onProgress: (message) => {
        stage = message;
        rt.heartbeat(message);
      },
    });
    if (r.mode === 'unsandboxed') say('python: ran WITHOUT a sandbox (the admin allowed it: STAGEBOOK_PYTHON_UNSANDBOXED)');
    for (const line of r.stdout.trimEnd().split('\n').filter(Boolean).slice(-20)) say(`python> ${line}`);
    say(`python: ${r.rowsIn.toLocaleString('en-US')} rows in, ${r.rowCount.toLocaleString('en-US')} out (${r.columns.join(', ')}) in ${seconds(performance.now() - t0)}`);
    models = r.models;
    rowCount = r.rowCount;
  } catch (err) {
    // Its message starts `python cell <id>:`; logs and the audit name cells, not ids.
    if (err instanceof PythonCellError && !rt.signal.aborted) throw new BuildStepError('failed', `${label}: ${err.message.replace(/^python cell [^:]+: /, '')}`);
    if (err instanceof PythonSetupError) throw new BuildStepError('failed', `${label}: ${err.message}`);
    const e = err as { code?: unknown; message?: unknown };
    if (typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code) && !/^(08|40|57)/.test(e.code)) {
      throw new BuildStepError('failed', `${label}: ${String(e.message)}`);
    }
    throw err;
  } finally {
    clearInterval(beat);
  }
  return { rowCount, model: await registerCellModels(db, run, { cellId, label, inputs: declaredPythonInputs(source) }, models, rt, say) };
}

/** A production build installs the requirements its bundle carries (undefined: a design build, or a bundle from before they were carried: the project's list). */
async function bundleRequirementsOf(db: Db, run: BuildRunContext) {
  if (run.environment !== 'production' || !run.bundleHash) return undefined;
  return bundleRequirements(parseManifest((await findBundle(db, run.projectId, run.bundleHash)).manifest));
}

async function registerCellModels(db: Db, run: BuildRunContext, { cellId, label, inputs }: { cellId: string; label: string; inputs: string[] }, models: PythonCellModel[], rt: StepRuntime, say: (line: string) => void): Promise<ModelOutcome | null> {
  let first: ModelOutcome | null = null;
  for (const m of models) {
    rt.heartbeat(`registering model "${m.entry.name}"`);
    const e = m.entry;
    say(
      `python: model "${e.name}": converted with skl2onnx (${e.inputTensor} inputs), onnxruntime equals predict_proba on ${e.check.rows.toLocaleString('en-US')} rows ` +
        `(max |diff| ${e.check.maxAbsDiff.toExponential(1)}) in ${e.seconds.convertAndCheck.toFixed(2)}s`,
    );
    const registered = await asStepFailure(rt, label, () =>
      registerPythonModel({
        ctx: workflowCtx(db, run, rt),
        input: { projectId: run.projectId, cellId, entry: e, bytes: m.bytes, estimate: m.estimate, frame: m.frame, environment: run.environment, inputs },
      }),
    );
    const v = registered.version;
    const auc = v.auc?.auc ?? null;
    say(`registered "${registered.modelName}" version ${v.version}${auc === null ? '' : ` (holdout AUC ${auc.toFixed(3)} on ${e.holdout.y.length.toLocaleString('en-US')} rows)`}${registered.becameChampion ? ', the champion (first version)' : ''}`);
    first ??= {
      result: { kind: 'train', model: registered.modelName, version: v.version, versionId: v.id, metric: 'auc', value: auc },
      progress: { stage: 'registered', fraction: 1, message: `version ${v.version}`, updatedAt: new Date().toISOString() },
    };
  }
  return first;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)}s`;
}
