import { desc, eq } from 'drizzle-orm';
import { z } from 'zod';
import type { DbOrTx } from '@/db/client';
import { auditEvents, instanceSettings } from '@/db/schema';
import { bubblewrapStatus } from '@/server/python/sandbox';
import { pythonSettings } from '@/server/python/venv';
import { emitAudit } from '../audit/emit';
import { auditMetaOf, type ServiceCtx } from '../context';

const PYTHON_UNSANDBOXED = 'python.unsandboxed';

export const SetPythonUnsandboxedInput = z.object({ allowed: z.boolean() });

/** Whether an instance admin allowed Python cells to run without a sandbox where bubblewrap is unusable. */
export async function pythonUnsandboxedSetting(db: DbOrTx): Promise<boolean> {
  const [row] = await db.select({ value: instanceSettings.value }).from(instanceSettings).where(eq(instanceSettings.key, PYTHON_UNSANDBOXED));
  return row?.value === true;
}

/**
 * How Python cells run on this machine, for the banner on every Python cell: in bubblewrap, without
 * a sandbox (allowed by an instance admin or the operator's STAGEBOOK_PYTHON_UNSANDBOXED=1), or not
 * at all (the message says how to enable it). Read where the caller's server runs; a worker on
 * another machine decides for itself the same way.
 */
export type PythonSandboxStatus =
  | { mode: 'bubblewrap' }
  | { mode: 'unsandboxed'; allowedBy: 'setting' | 'environment'; why: string }
  | { mode: 'unavailable'; why: string };

export async function pythonSandboxStatus(db: DbOrTx): Promise<PythonSandboxStatus> {
  const settings = pythonSettings();
  const status = bubblewrapStatus(settings.bwrap);
  if (status.ok) return { mode: 'bubblewrap' };
  if (settings.allowUnsandboxed) return { mode: 'unsandboxed', allowedBy: 'environment', why: status.why };
  if (await pythonUnsandboxedSetting(db)) return { mode: 'unsandboxed', allowedBy: 'setting', why: status.why };
  return { mode: 'unavailable', why: status.why };
}

export type InstanceSettingsView = {
  pythonUnsandboxed: boolean;
  /** STAGEBOOK_PYTHON_UNSANDBOXED=1: the operator's override, which the setting cannot turn off. */
  pythonUnsandboxedByEnvironment: boolean;
  sandbox: PythonSandboxStatus;
  history: { at: string; by: string; allowed: boolean }[];
};

export async function getInstanceSettings({ ctx }: { ctx: ServiceCtx }): Promise<InstanceSettingsView> {
  const history = await ctx.db
    .select({ at: auditEvents.at, by: auditEvents.actorLabel, details: auditEvents.details })
    .from(auditEvents)
    .where(eq(auditEvents.action, 'system.python_unsandboxed_change'))
    .orderBy(desc(auditEvents.seq))
    .limit(20);
  return {
    pythonUnsandboxed: await pythonUnsandboxedSetting(ctx.db),
    pythonUnsandboxedByEnvironment: pythonSettings().allowUnsandboxed,
    sandbox: await pythonSandboxStatus(ctx.db),
    history: history.map((h) => ({ at: h.at, by: h.by, allowed: h.details.after === true })),
  };
}

/**
 * Allows (or stops allowing) Python cells to run without a sandbox where bubblewrap is unusable: for
 * a single-user laptop, never a shared server. Instance admins only; audited with before and after.
 * Where bubblewrap works, cells run in it whatever this says.
 */
export async function setPythonUnsandboxed({ ctx, input }: { ctx: ServiceCtx; input: z.output<typeof SetPythonUnsandboxedInput> }): Promise<InstanceSettingsView> {
  await ctx.db.transaction(async (tx) => {
    const before = await pythonUnsandboxedSetting(tx);
    if (before === input.allowed) return;
    const updatedBy = ctx.actor?.type === 'user' ? ctx.actor.userId : null;
    await tx
      .insert(instanceSettings)
      .values({ key: PYTHON_UNSANDBOXED, value: input.allowed, updatedBy })
      .onConflictDoUpdate({ target: instanceSettings.key, set: { value: input.allowed, updatedBy, updatedAt: new Date() } });
    await emitAudit(tx, auditMetaOf(ctx), {
      action: 'system.python_unsandboxed_change',
      target: { type: 'instance', id: PYTHON_UNSANDBOXED },
      details: { before, after: input.allowed },
    });
  });
  return getInstanceSettings({ ctx });
}
