import { randomBytes } from 'node:crypto';

/** On every response: pages, /trpc, /api and errors. */
export const commonSecurityHeaders: Record<string, string> = {
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'strict-origin-when-cross-origin',
  // Legacy browsers that ignore frame-ancestors.
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Opener-Policy': 'same-origin',
  // JSON and files are never documents: nothing to run, nothing to frame.
  'Content-Security-Policy': "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
};

/** A fresh nonce per page response (128 bits, base64). */
export function newNonce(): string {
  return randomBytes(16).toString('base64');
}

/**
 * The policy of the web app's pages. Scripts run only with this response's nonce (Next.js puts it
 * on its own scripts when it finds it in the request's CSP header, see server/app.ts), or when loaded
 * by such a script ('strict-dynamic': the app's chunks and Monaco's); no inline event handlers, no
 * eval. Monaco's language workers are module files from 'self' (blob: for the worker shims some
 * bundles make). Styles keep 'unsafe-inline': React and Monaco set style attributes, which a nonce
 * cannot cover, and styles cannot run code. The collab WebSocket and tRPC are same-origin.
 */
export function pageCsp(nonce: string): string {
  return [
    "default-src 'self'",
    `script-src 'self' 'nonce-${nonce}' 'strict-dynamic'`,
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "worker-src 'self' blob:",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}
