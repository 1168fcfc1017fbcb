import { and, eq, gt, isNull } from 'drizzle-orm';
import type { DbOrTx } from '@/db/client';
import { accountTokens, type AccountTokenPurpose } from '@/db/schema';
import { invalid } from '../errors';
import { newSecret, sha256Hex } from './tokens';

export const ACCOUNT_TOKEN_TTL_MS: Record<AccountTokenPurpose, number> = {
  verify_email: 48 * 3600 * 1000,
  // A reset link is a password for an hour: short, and single use.
  reset_password: 3600 * 1000,
};

/** A new single-use token for an emailed link; only its sha256 is stored. */
export async function issueAccountToken(tx: DbOrTx, userId: string, purpose: AccountTokenPurpose): Promise<string> {
  const token = newSecret();
  await tx.insert(accountTokens).values({ tokenHash: sha256Hex(token), userId, purpose, expiresAt: new Date(Date.now() + ACCOUNT_TOKEN_TTL_MS[purpose]) });
  return token;
}

/**
 * Uses up a token: marks it used in the same statement that checks it is unused and unexpired, so
 * two requests with one token cannot both succeed. Returns its user, or a 400 that does not say
 * which of unknown, used or expired it was.
 */
export async function consumeAccountToken(tx: DbOrTx, token: string, purpose: AccountTokenPurpose): Promise<string> {
  const [row] = await tx
    .update(accountTokens)
    .set({ usedAt: new Date() })
    .where(and(eq(accountTokens.tokenHash, sha256Hex(token)), eq(accountTokens.purpose, purpose), isNull(accountTokens.usedAt), gt(accountTokens.expiresAt, new Date())))
    .returning({ userId: accountTokens.userId });
  if (!row) throw invalid('this link is invalid, already used or expired; ask for a new one', 'token');
  return row.userId;
}
