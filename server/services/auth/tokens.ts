import { hash, randomBytes } from 'node:crypto';

export const SESSION_COOKIE = 'sb_session';
export const SESSION_TTL_MS = 30 * 24 * 3600 * 1000;

export function newSecret(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

/** One-shot `hash` (no Hash object): API keys and session tokens are hashed on every request. */
export function sha256Hex(value: string): string {
  return hash('sha256', value, 'hex');
}
