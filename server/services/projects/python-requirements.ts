import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { and, eq, isNull } from 'drizzle-orm';
import { z } from 'zod';
import type { Db } from '@/db/client';
import { bundles, deployments, projectPythonRequirements, users, type PythonInstallState } from '@/db/schema';
import { describeRequirementProblems, normalizePackageName, parsePythonRequirements } from '@/server/domain/python-requirements';
import type { ProjectRequirements } from '@/server/python/project-layer';
import { REQUIREMENTS_FILE } from '@/server/python/venv';
import { emitAudit } from '../audit/emit';
import { auditMetaOf, type ServiceCtx } from '../context';
import { notFound, ServiceError } from '../errors';
import { teamOfProject } from './project-team';
import { ProjectRef } from './schemas';

export const SetPythonRequirementsInput = ProjectRef.extend({
  requirements: z.string().max(20_000, 'requirements must be at most 20,000 characters'),
});

/** The managed Python's pins (server/python/requirements.txt), normalised name -> version. */
export const managedPythonPins: ReadonlyMap<string, string> = new Map(
  readFileSync(REQUIREMENTS_FILE, 'utf8')
    .split('\n')
    .map((l) => /^([A-Za-z0-9._-]+)==(\S+)/.exec(l.trim()))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => [normalizePackageName(m[1]!), m[2]!] as const),
);

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

export type PythonRequirementsView = {
  requirements: string;
  sha256: string | null;
  updatedAt: Date | null;
  updatedBy: string | null;
  install: { state: PythonInstallState; log: string | null; at: Date | null } | null;
  managed: { name: string; version: string }[];
};

/** What the project's Python page shows: the requirements, who changed them, the last install (with pip's log when it failed). */
export async function getPythonRequirements({ ctx, input }: { ctx: ServiceCtx; input: z.output<typeof ProjectRef> }): Promise<PythonRequirementsView> {
  const [row] = await ctx.db
    .select({ r: projectPythonRequirements, by: users.name })
    .from(projectPythonRequirements)
    .leftJoin(users, eq(users.id, projectPythonRequirements.updatedBy))
    .where(eq(projectPythonRequirements.projectId, input.projectId));
  const managed = [...managedPythonPins].map(([name, version]) => ({ name, version }));
  if (!row) return { requirements: '', sha256: null, updatedAt: null, updatedBy: null, install: null, managed };
  const r = row.r;
  const current = r.installSha256 === r.sha256;
  return {
    requirements: r.requirements,
    sha256: r.sha256,
    updatedAt: r.updatedAt,
    updatedBy: row.by,
    install: r.requirements === '' ? null : { state: current ? r.installState : 'pending', log: current ? r.installLog : null, at: current ? r.installedAt : null },
    managed,
  };
}

/**
 * Replaces the project's extra Python packages. Every line must be `name==version` (no URLs, options
 * or paths); a bad line changes nothing and the error names each one (details.problems). Stored
 * normalised, audited (`project.python_requirements_change` with what was added and removed); the
 * next Python run of the project installs them (server/python/project-layer.ts).
 */
export async function setPythonRequirements({ ctx, input }: { ctx: ServiceCtx; input: z.output<typeof SetPythonRequirementsInput> }): Promise<PythonRequirementsView> {
  const parsed = parsePythonRequirements(input.requirements, managedPythonPins);
  if (!parsed.ok) throw new ServiceError('Invalid', `these requirements cannot be installed:\n${describeRequirementProblems(parsed.problems)}`, 'requirements', { problems: parsed.problems });
  const teamId = await teamOfProject(ctx.db, input.projectId);
  if (!teamId) throw notFound('project');
  const hash = sha256(parsed.text);
  await ctx.db.transaction(async (tx) => {
    const [before] = await tx.select().from(projectPythonRequirements).where(eq(projectPythonRequirements.projectId, input.projectId)).for('update');
    if ((before?.requirements ?? '') === parsed.text) return;
    const userId = ctx.actor?.type === 'user' ? ctx.actor.userId : null;
    const values = { requirements: parsed.text, sha256: hash, updatedBy: userId, updatedAt: new Date() };
    await tx
      .insert(projectPythonRequirements)
      .values({ projectId: input.projectId, ...values })
      .onConflictDoUpdate({ target: projectPythonRequirements.projectId, set: values });
    const old = new Set((before?.requirements ?? '').split('\n').filter(Boolean));
    const now = new Set(parsed.text.split('\n').filter(Boolean));
    await emitAudit(tx, auditMetaOf(ctx), {
      action: 'project.python_requirements_change',
      target: { type: 'project', id: input.projectId },
      teamId,
      projectId: input.projectId,
      details: { added: [...now].filter((l) => !old.has(l)), removed: [...old].filter((l) => !now.has(l)), sha256: hash },
    });
  });
  return getPythonRequirements({ ctx, input: { projectId: input.projectId } });
}

/** The requirements a Python run of the project installs first, or null when it has none. */
export async function requirementsForRun(db: Db, projectId: string): Promise<ProjectRequirements | null> {
  const [row] = await db
    .select({ text: projectPythonRequirements.requirements, sha256: projectPythonRequirements.sha256 })
    .from(projectPythonRequirements)
    .where(eq(projectPythonRequirements.projectId, projectId));
  return row && row.text !== '' ? row : null;
}

/**
 * The requirements production runs of the project's deployed bundle install: the bundle's own (null:
 * none), or the project's current list for a bundle from before bundles carried them (and when
 * nothing is deployed).
 */
export async function deployedRequirements(db: Db, projectId: string): Promise<ProjectRequirements | null> {
  // Read from the tables: bundles are a higher tier (server/README.md, "Tiers"); the field is bundles/manifest.ts's `python`.
  const [row] = await db
    .select({ manifest: bundles.manifest })
    .from(deployments)
    .innerJoin(bundles, and(eq(bundles.projectId, deployments.projectId), eq(bundles.hash, deployments.bundleHash)))
    .where(and(eq(deployments.projectId, projectId), eq(deployments.environment, 'production'), isNull(deployments.deactivatedAt)));
  const carried = row ? (JSON.parse(row.manifest) as { python?: { requirements?: unknown } }).python?.requirements : undefined;
  if (typeof carried !== 'string') return requirementsForRun(db, projectId);
  return carried === '' ? null : { text: carried, sha256: sha256(carried) };
}

/** Records how the install of exactly these requirements went (a change meanwhile is left alone). */
export async function recordRequirementsInstall(db: Db, projectId: string, hash: string, state: PythonInstallState, log: string | null = null): Promise<void> {
  await db
    .update(projectPythonRequirements)
    .set({ installState: state, installSha256: hash, installLog: log, installedAt: state === 'installing' ? null : new Date() })
    .where(and(eq(projectPythonRequirements.projectId, projectId), eq(projectPythonRequirements.sha256, hash)));
}
