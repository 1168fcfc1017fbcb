import { and, eq, isNull, lt, or } from 'drizzle-orm';
import type { Db } from '@/db/client';
import { apiKeys, projects } from '@/db/schema';
import { sha256Hex } from '../auth/tokens';
import type { Actor, ApiKeyId, ProjectId, TeamId } from '../context';
import { API_KEY_PREFIX } from './create-api-key';

/** Last use is written at most once a minute per key, so a busy key does not turn reads into writes. */
export const LAST_USED_RESOLUTION_MS = 60_000;

export type ApiKeyActor = Extract<Actor, { type: 'apiKey' }>;

/** The sha256 a key is stored under, or null for a string that cannot be one of our keys. */
export function apiKeyHashOf(secret: string): string | null {
  if (!secret.startsWith(API_KEY_PREFIX) || secret.length > 100) return null;
  return sha256Hex(secret);
}

/** The active (not revoked) key with this hash, as an actor. Reads only. */
export async function findApiKeyByHash(db: Db, hash: string): Promise<ApiKeyActor | null> {
  const [row] = await db
    .select({ id: apiKeys.id, name: apiKeys.name, scopes: apiKeys.scopes, projectId: apiKeys.projectId, teamId: projects.teamId })
    .from(apiKeys)
    .innerJoin(projects, eq(projects.id, apiKeys.projectId))
    .where(and(eq(apiKeys.keyHash, hash), isNull(apiKeys.revokedAt)));
  if (!row) return null;
  return {
    type: 'apiKey',
    keyId: row.id as ApiKeyId,
    projectId: row.projectId as ProjectId,
    teamId: row.teamId as TeamId,
    name: row.name,
    scopes: row.scopes,
  };
}

export async function resolveApiKey(db: Db, secret: string): Promise<ApiKeyActor | null> {
  const hash = apiKeyHashOf(secret);
  if (!hash) return null;
  const actor = await findApiKeyByHash(db, hash);
  if (!actor) return null;
  const now = new Date();
  await db
    .update(apiKeys)
    .set({ lastUsedAt: now })
    .where(and(eq(apiKeys.id, actor.keyId), or(isNull(apiKeys.lastUsedAt), lt(apiKeys.lastUsedAt, new Date(now.getTime() - LAST_USED_RESOLUTION_MS)))));
  return actor;
}
