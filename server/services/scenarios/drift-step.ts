import type { ScenarioStep } from '@/server/pipeline';
import { computeDrift } from '../drift/compute-drift';
import type { StepEnv, StepResult } from './steps';

/**
 * A drift step: computes and stores the endpoint's drift report over the window (as the endpoint
 * page's Compute now does), then judges it: the largest PSI (features and predictions) above the
 * threshold, or the AUC below minAuc, fails the step (severity error; so `when: failure` steps run)
 * or is a warning in `output.warnings`. No predictions in the window, or no reference, fails the step.
 */
export async function runDriftStep(env: StepEnv, step: Extract<ScenarioStep, { type: 'drift' }>): Promise<StepResult> {
  const report = await computeDrift({
    ctx: env.ctx,
    input: { projectId: env.run.projectId, name: step.endpoint, window: { last: step.window }, ...(step.labels ? { labels: { ...step.labels, environment: 'production' } } : {}) },
  });
  const drifted = report.features.filter((f) => f.psi > step.threshold).map((f) => f.feature);
  if (report.predictionPsi !== null && report.predictionPsi > step.threshold) drifted.push('(prediction)');
  const problems: string[] = [];
  if (report.maxPsi !== null && report.maxPsi > step.threshold) problems.push(`PSI ${report.maxPsi.toFixed(3)} > ${step.threshold} (${drifted.join(', ')})`);
  if (step.minAuc !== undefined && report.auc !== null && report.auc < step.minAuc) problems.push(`AUC ${report.auc.toFixed(3)} < ${step.minAuc}`);
  env.say(
    `drift of "${step.endpoint}" over ${report.rows.toLocaleString('en-US')} predictions: max PSI ${report.maxPsi?.toFixed(3) ?? 'n/a'}, prediction PSI ${report.predictionPsi?.toFixed(3) ?? 'n/a'}${report.auc !== null ? `, AUC ${report.auc.toFixed(3)} on ${report.labelledRows} labelled` : ''}`,
  );
  const output = { endpoint: step.endpoint, reportId: report.id, version: report.version, rows: report.rows, maxPsi: report.maxPsi, predictionPsi: report.predictionPsi, auc: report.auc, threshold: step.threshold, drifted, warnings: step.severity === 'warning' ? problems : [] };
  if (problems.length && step.severity === 'error') return { output, failure: `drift on endpoint "${step.endpoint}": ${problems.join('; ')}` };
  return { output };
}
