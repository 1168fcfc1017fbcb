import type { Db } from '@/db/client';
import { resolveApiKey } from '../services/api-keys/resolve-api-key';
import { resolveSession } from '../services/auth/session';
import { SESSION_COOKIE } from '../services/auth/tokens';
import type { Actor, ServiceCtx } from '../services/context';
import type { LiveNotebooks } from '../services/notebooks/live';
import type { WorkflowStarter } from '../services/workflow-starter';

export type CookieJar = {
  get: (name: string) => string | undefined;
  set: (name: string, value: string, expires: Date) => void;
  clear: (name: string) => void;
};

/** Everything a request knows about itself, for tRPC and REST alike. */
export type RequestCtx = ServiceCtx & { sessionToken: string | undefined; cookies: CookieJar };

export type AppDeps = { db: Db; workflows?: WorkflowStarter | undefined; secureCookies?: boolean; liveNotebooks?: LiveNotebooks | undefined };

export async function createRequestCtx(
  deps: AppDeps,
  req: { headers: Record<string, string | string[] | undefined>; ip: string; id: string },
  cookies: CookieJar,
): Promise<RequestCtx> {
  const sessionToken = cookies.get(SESSION_COOKIE);
  const auth = req.headers.authorization;
  let actor: Actor | null = null;
  if (typeof auth === 'string' && /^bearer /i.test(auth)) {
    actor = await resolveApiKey(deps.db, auth.slice(7).trim());
  } else if (sessionToken) {
    actor = await resolveSession(deps.db, sessionToken);
  }
  return { db: deps.db, actor, requestId: req.id, clientIp: req.ip, workflows: deps.workflows, liveNotebooks: deps.liveNotebooks, sessionToken, cookies };
}
