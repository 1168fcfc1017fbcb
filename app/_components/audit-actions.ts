import type { AuditAction } from './types';

/**
 * Labels for the action filter. Partial on purpose: the server's list grows with each feature; an
 * action without a label still shows in the table, by its code, but the filter does not offer it.
 */
export const auditActionLabels: Partial<Record<AuditAction, string>> = {
  'user.signup': 'Account created',
  'user.signup_existing': 'Sign-up with a taken email',
  'user.signin': 'Signed in',
  'user.signin_failed': 'Sign-in failed',
  'user.signout': 'Signed out',
  'team.create': 'Team created',
  'team.member_invite': 'Member invited',
  'team.invitation_accept': 'Invitation accepted',
  'team.invitation_revoke': 'Invitation revoked',
  'team.member_role_change': 'Role changed',
  'team.member_remove': 'Member removed',
  'project.create': 'Project created',
  'project.python_requirements_change': 'Python requirements changed',
  'system.python_unsandboxed_change': 'Unsandboxed Python switched',
  'apikey.create': 'API key created',
  'apikey.revoke': 'API key revoked',
  'run.start': 'Run started',
  'run.complete': 'Run finished',
  'notebook.create': 'Notebook created',
  'notebook.rename': 'Notebook renamed',
  'notebook.duplicate': 'Notebook duplicated',
  'notebook.delete': 'Notebook deleted',
  'notebook.version_save': 'Notebook version saved',
  'notebook.version_restore': 'Notebook version restored',
  'model.train': 'Model trained',
  'model.import': 'Model imported',
  'model.champion_change': 'Champion changed',
  'model.batch_score': 'Dataset scored',
  'model.gate_decision': 'Retrain gate decided',
  'model.shadow_start': 'Challenger shadow-scoring',
  'scenario.enable': 'Scenario enabled',
  'scenario.disable': 'Scenario disabled',
  'endpoint.create': 'Endpoint created',
  'endpoint.update': 'Endpoint changed',
  'endpoint.delete': 'Endpoint deleted',
  'user.email_verify': 'Email verified',
  'user.password_reset_request': 'Password reset asked',
  'user.password_reset': 'Password reset',
  'team.invitation_approve': 'Invitation approved',
  'build.start': 'Build started',
  'build.cancel': 'Build cancelled',
  'build.complete': 'Build finished',
  'dataset.create': 'Dataset created',
  'dataset.upload': 'Dataset uploaded',
  'dataset.append': 'Rows appended',
  'dataset.column_type_change': 'Column type changed',
  'dataset.publish': 'Dataset published',
  'dataset.download': 'Dataset downloaded',
  'notebook.result_download': 'Cell result downloaded',
  'endpoint.drift_compute': 'Drift computed',
  'bundle.promote': 'Bundle promoted',
  'bundle.import': 'Bundle imported',
  'deployment.activate': 'Bundle deployed',
  'deployment.rollback': 'Rolled back',
  'notification_channel.create': 'Channel created',
  'notification_channel.delete': 'Channel deleted',
  'notification_channel.test': 'Channel tested',
  'scenario.run_start': 'Scenario run started',
  'scenario.run_skip': 'Scenario run skipped',
  'scenario.run_cancel': 'Scenario run cancelled',
  'scenario.run_complete': 'Scenario run finished',
  'system.bootstrap': 'System bootstrap',
};

export const auditActions = Object.keys(auditActionLabels) as AuditAction[];

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function formatValue(v: unknown): string {
  const text = Array.isArray(v) ? v.map(formatValue).join(',') : typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v);
  return text.length > 80 ? `${text.slice(0, 79)}…` : text;
}

/**
 * The details of an event on one line: `email=a@b.c · role=editor`, a change as `role: editor → viewer`,
 * nested values one level deep (`input.message=hi`).
 */
export function summarizeDetails(details: unknown): string {
  if (!isRecord(details)) return '';
  const parts: string[] = [];
  const { before, after, ...rest } = details;
  if (isRecord(before) && isRecord(after)) {
    for (const k of new Set([...Object.keys(before), ...Object.keys(after)])) {
      parts.push(`${k}: ${formatValue(before[k] ?? '—')} → ${formatValue(after[k] ?? '—')}`);
    }
  } else {
    if (before !== undefined) rest.before = before;
    if (after !== undefined) rest.after = after;
  }
  for (const [k, v] of Object.entries(rest)) {
    if (v === null || v === undefined || v === '') continue;
    if (isRecord(v)) {
      for (const [k2, v2] of Object.entries(v)) if (v2 !== null && v2 !== undefined) parts.push(`${k}.${k2}=${formatValue(v2)}`);
    } else {
      parts.push(`${k}=${formatValue(v)}`);
    }
  }
  return parts.join(' · ');
}
