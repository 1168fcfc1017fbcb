import { createHash, randomBytes } from 'node:crypto';

export const SESSION_COOKIE = 'sb_session';
export const SESSION_TTL_MS = 30 * 24 * 3600 * 1000;

export function newSecret(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

export function sha256Hex(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}
