import type { Db } from '@/db/client';
import { SESSION_COOKIE } from '../services/auth/tokens';
import type { Actor, ServiceCtx } from '../services/context';
import type { LiveNotebooks } from '../services/notebooks/live';
import { scoringRuntime } from '../services/scoring/runtime';
import type { WorkflowStarter } from '../services/workflow-starter';

export type CookieJar = {
  get: (name: string) => string | undefined;
  set: (name: string, value: string, expires: Date) => void;
  clear: (name: string) => void;
};

/** Everything a request knows about itself, for tRPC and REST alike. */
export type RequestCtx = ServiceCtx & { sessionToken: string | undefined; cookies: CookieJar };

export type AppDeps = { db: Db; workflows?: WorkflowStarter | undefined; secureCookies?: boolean; liveNotebooks?: LiveNotebooks | undefined };

/** The secret of an `Authorization: Bearer <secret>` header, or undefined. */
export function bearerSecret(headers: Record<string, string | string[] | undefined>): string | undefined {
  const auth = headers.authorization;
  return typeof auth === 'string' && /^bearer /i.test(auth) ? auth.slice(7).trim() : undefined;
}

/**
 * The actor of a request, from the scoring runtime's caches: API keys by sha256 (a revocation
 * reaches every process at once through pg_notify, see services/scoring/changes.ts; last use is
 * written in batches) and sessions by token hash (for 10 s at most; sign-out reaches every process
 * the same way). A request with a known key or session costs no database round trip to authenticate.
 */
export async function resolveActor(deps: AppDeps, headers: Record<string, string | string[] | undefined>, sessionToken: string | undefined, where: string | null = null): Promise<Actor | null> {
  const secret = bearerSecret(headers);
  if (secret !== undefined) {
    const runtime = scoringRuntime(deps.db);
    const key = await runtime.apiKey(secret);
    if (key) runtime.lastUsed.record(key.keyId, where);
    return key;
  }
  return sessionToken ? scoringRuntime(deps.db).userSession(sessionToken) : null;
}

/** "POST /api/v1/projects/…/datasets/loans/rows from 10.0.0.7": a key's last use, without the query string. */
export function requestWhere(req: { ip: string; method?: string; url?: string }): string | null {
  if (!req.method || !req.url) return null;
  // Made on every API-key request (the scoring hot path): no array from split.
  const query = req.url.indexOf('?');
  return `${req.method} ${req.url.slice(0, Math.min(query < 0 ? req.url.length : query, 300))} from ${req.ip}`;
}

const CLIENT_REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/;

/** A client's `x-request-id`, when it looks like an id; anything else is ignored, not trusted. */
export function clientRequestIdOf(headers: Record<string, string | string[] | undefined>): string | null {
  const v = headers['x-request-id'];
  return typeof v === 'string' && CLIENT_REQUEST_ID.test(v) ? v : null;
}

export async function createRequestCtx(
  deps: AppDeps,
  req: { headers: Record<string, string | string[] | undefined>; ip: string; id: string; method?: string; url?: string },
  cookies: CookieJar,
): Promise<RequestCtx> {
  const sessionToken = cookies.get(SESSION_COOKIE);
  const actor = await resolveActor(deps, req.headers, sessionToken, requestWhere(req));
  return {
    db: deps.db,
    actor,
    requestId: req.id,
    clientRequestId: clientRequestIdOf(req.headers),
    clientIp: req.ip,
    workflows: deps.workflows,
    liveNotebooks: deps.liveNotebooks,
    sessionToken,
    cookies,
  };
}
