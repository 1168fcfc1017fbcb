import { bundleHref, productionHref } from './bundles/production-page';
import { buildHref } from './builds/build-types';
import { datasetHref, productionDatasetHref } from './datasets/format';
import { endpointHref, modelHref } from './models/types';
import { notebookHref } from './notebooks-section';
import { scenarioRunHref } from './scenarios/scenario-types';
import type { AuditEvent } from './types';

type Target = AuditEvent['target'];

/** Where an audit target lives in the app, when it has a page of its own and still exists. */
export function auditTargetHref(t: Target, projectId: string | null): string | null {
  if (!t.name && t.type !== 'bundle' && t.type !== 'scenario' && t.type !== 'deployment') return null;
  if (t.type === 'project') return `/projects/${t.id}`;
  if (t.type === 'team') return `/teams/${t.id}`;
  if (!projectId) return null;
  switch (t.type) {
    case 'dataset':
      return t.environment === 'production' ? productionDatasetHref(projectId, t.name!) : datasetHref(projectId, t.name!);
    case 'model':
      return modelHref(projectId, t.name!);
    case 'modelVersion':
      return t.model ? modelHref(projectId, t.model, t.version) : null;
    case 'endpoint':
      return endpointHref(projectId, t.name!);
    case 'notebook':
      return notebookHref(projectId, t.id);
    case 'run':
      return t.runKind === 'build' ? buildHref(projectId, t.id) : t.runKind === 'scenario' ? scenarioRunHref(projectId, t.id) : null;
    case 'scenario':
      return `/projects/${projectId}/production#scenarios`;
    case 'deployment':
      return productionHref(projectId);
    case 'bundle':
      return bundleHref(projectId, t.id);
    case 'apiKey':
      return `/projects/${projectId}/api-keys`;
    case 'notificationChannel':
      return `/projects/${projectId}/notifications`;
    default:
      return null;
  }
}

/** The target in words: its name ("credit_clean", "credit-risk v3", "build of Credit model (run 12)"), else its type and short id. */
export function auditTargetText(t: Target): string {
  if (t.name) return t.name;
  if (t.type === 'scenario') return t.id;
  if (t.type === 'bundle') return t.id.slice(0, 12);
  return `${t.id.slice(0, 8)}${t.id.length > 8 ? '…' : ''}`;
}
