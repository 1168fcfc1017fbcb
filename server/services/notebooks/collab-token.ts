import { createHmac, timingSafeEqual } from 'node:crypto';
import type { z } from 'zod';
import type { Db } from '@/db/client';
import { requireUser, type ServiceCtx } from '../context';
import { serverSecret } from '../system/server-secrets';
import { requireNotebook } from './notebook-rows';
import type { NotebookRef } from './schemas';

/** Long enough to open (and re-open after a blip) a connection; a page asks for a new one when it reconnects later. */
export const COLLAB_TOKEN_TTL_MS = 10 * 60_000;
const SECRET_NAME = 'collab-token-v1';

const b64url = (b: Buffer) => b.toString('base64url');

function sign(secret: Buffer, body: string): string {
  return b64url(createHmac('sha256', secret).update(`collab:${body}`).digest());
}

/**
 * A token that opens /collab/<notebookId> as this user without the session cookie (other origins,
 * scripts, native clients). It authenticates only: membership and role are checked again when the
 * socket opens. Format `v1.<notebookId>.<userId>.<expiresAtMs>.<hmac>`; the HMAC key is a
 * server secret stored in the database, so every process accepts every process's tokens.
 */
export async function issueCollabToken({ ctx, input }: { ctx: ServiceCtx; input: z.infer<typeof NotebookRef> }) {
  const user = requireUser(ctx);
  const notebook = await requireNotebook(ctx.db, input.projectId, input.notebookId);
  const expiresAt = new Date(Date.now() + COLLAB_TOKEN_TTL_MS);
  const body = `v1.${notebook.id}.${user.userId}.${expiresAt.getTime()}`;
  return { token: `${body}.${sign(await serverSecret(ctx.db, SECRET_NAME), body)}`, expiresAt };
}

/** The user id a token vouches for, when it is genuine, unexpired and for this notebook; else null. */
export async function verifyCollabToken(db: Db, token: string, notebookId: string, now = Date.now()): Promise<string | null> {
  if (token.length > 300) return null;
  const parts = token.split('.');
  if (parts.length !== 5 || parts[0] !== 'v1') return null;
  const [, nb, userId, exp, mac] = parts as [string, string, string, string, string];
  const body = `v1.${nb}.${userId}.${exp}`;
  const expected = Buffer.from(sign(await serverSecret(db, SECRET_NAME), body));
  const given = Buffer.from(mac);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
  if (nb !== notebookId || !(Number(exp) > now)) return null;
  return userId;
}
