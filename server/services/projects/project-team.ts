import { eq } from 'drizzle-orm';
import type { Db } from '@/db/client';
import { projects } from '@/db/schema';
import { TtlLru } from '../ttl-lru';

/**
 * A project never changes team and is never deleted (no service does either), so the team owning
 * a project can be remembered; the TTL is only a net should that ever change. Unknown ids are not
 * remembered: a project created a moment later is found at once.
 */
const TTL_MS = 10 * 60_000;
const caches = new WeakMap<Db, TtlLru<string, string>>();

/** The id of the team owning the project, or null when there is no such project. */
export async function teamOfProject(db: Db, projectId: string): Promise<string | null> {
  let cache = caches.get(db);
  if (!cache) caches.set(db, (cache = new TtlLru(10_000, TTL_MS)));
  const hit = cache.get(projectId);
  if (hit) return hit;
  const [p] = await db.select({ teamId: projects.teamId }).from(projects).where(eq(projects.id, projectId));
  if (p) cache.set(projectId, p.teamId);
  return p?.teamId ?? null;
}
