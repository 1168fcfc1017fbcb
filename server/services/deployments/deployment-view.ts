import type { deployments } from '@/db/schema';

export type DeploymentView = {
  id: string;
  projectId: string;
  bundleHash: string;
  environment: 'production';
  kind: 'deploy' | 'rollback';
  activatedBy: string;
  reason: string;
  activatedAt: string;
  deactivatedAt: string | null;
  active: boolean;
  /** The bundle's release notes. */
  releaseNotes: string;
};

export function deploymentView(row: typeof deployments.$inferSelect, releaseNotes: string): DeploymentView {
  return {
    id: row.id,
    projectId: row.projectId,
    bundleHash: row.bundleHash,
    environment: row.environment,
    kind: row.kind,
    activatedBy: row.activatedBy,
    reason: row.reason,
    activatedAt: new Date(row.activatedAt).toISOString(),
    deactivatedAt: row.deactivatedAt ? new Date(row.deactivatedAt).toISOString() : null,
    active: row.deactivatedAt === null,
    releaseNotes,
  };
}
