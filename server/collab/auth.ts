import type { IncomingMessage } from 'node:http';
import { and, eq, isNull } from 'drizzle-orm';
import type { Db } from '@/db/client';
import { notebooks, projects, users } from '@/db/schema';
import { resolveSession } from '../services/auth/session';
import { SESSION_COOKIE } from '../services/auth/tokens';
import type { Actor, UserId } from '../services/context';
import { ServiceError } from '../services/errors';
import { verifyCollabToken } from '../services/notebooks/collab-token';
import { authorizeByTeam, roleRank } from '../services/policy';
import type { TeamRole } from '@/db/schema';
import { CloseCode } from './protocol';

export type CollabAccess = { notebookId: string; projectId: string; teamId: string; user: Extract<Actor, { type: 'user' }>; role: TeamRole; canWrite: boolean };
export type CollabRefusal = { code: number; reason: string };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** `/collab/<notebookId>` (the stock client appends the room name to the URL it was given). */
export function notebookIdOfPath(pathname: string): string | null {
  const m = /^\/collab\/([^/]+)\/?$/.exec(pathname);
  return m && UUID.test(m[1]!) ? m[1]!.toLowerCase() : null;
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) {
      try {
        return decodeURIComponent(part.slice(eq + 1).trim());
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

async function actorOf(db: Db, req: IncomingMessage, url: URL, notebookId: string): Promise<Extract<Actor, { type: 'user' }> | null> {
  const token = url.searchParams.get('token');
  if (token) {
    const userId = await verifyCollabToken(db, token, notebookId);
    if (!userId || !UUID.test(userId)) return null;
    const [u] = await db.select({ id: users.id, email: users.email, name: users.name }).from(users).where(eq(users.id, userId));
    return u ? { type: 'user', userId: u.id as UserId, email: u.email, name: u.name } : null;
  }
  return resolveSession(db, cookieValue(req.headers.cookie, SESSION_COOKIE));
}

/**
 * Who is opening which notebook, decided by the same policy module as every other entry point:
 * 4401 without valid credentials, 4404 for an unknown or deleted notebook, 4403 for a non-member.
 * Viewers may connect (they receive updates); only editors and above may write.
 */
export async function authorizeCollab(db: Db, req: IncomingMessage): Promise<CollabAccess | CollabRefusal> {
  const url = new URL(req.url ?? '/', 'http://collab.invalid');
  const notebookId = notebookIdOfPath(url.pathname);
  const user = await actorOf(db, req, url, notebookId ?? '');
  if (!user) return { code: CloseCode.unauthorized, reason: 'sign in or pass a valid token' };
  if (!notebookId) return { code: CloseCode.notFound, reason: 'no such notebook' };
  const [nb] = await db
    .select({ projectId: notebooks.projectId, teamId: projects.teamId })
    .from(notebooks)
    .innerJoin(projects, eq(projects.id, notebooks.projectId))
    .where(and(eq(notebooks.id, notebookId), isNull(notebooks.deletedAt)));
  if (!nb) return { code: CloseCode.notFound, reason: 'no such notebook' };
  const access = await recheckCollabAccess(db, user, nb.projectId);
  return 'role' in access ? { notebookId, projectId: nb.projectId, teamId: nb.teamId, user, ...access } : access;
}

/**
 * The role a user holds on a project now, for a connection being opened or one already open whose
 * membership changed (the role is re-checked then, not only at connect).
 */
export async function recheckCollabAccess(db: Db, user: CollabAccess['user'], projectId: string): Promise<Pick<CollabAccess, 'role' | 'canWrite'> | CollabRefusal> {
  try {
    const { role } = await authorizeByTeam({ db, actor: user, requestId: null, clientIp: null }, { kind: 'member', role: 'viewer' }, { projectId });
    if (!role) return { code: CloseCode.forbidden, reason: 'not a member of this team' };
    return { role, canWrite: roleRank(role) >= roleRank('editor') };
  } catch (err) {
    if (!(err instanceof ServiceError)) throw err;
    switch (err.kind) {
      case 'Unauthenticated':
        return { code: CloseCode.unauthorized, reason: err.message };
      case 'NotFound':
        return { code: CloseCode.notFound, reason: err.message };
      default:
        return { code: CloseCode.forbidden, reason: err.message };
    }
  }
}
