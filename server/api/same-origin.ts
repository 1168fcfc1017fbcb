import type { IncomingMessage } from 'node:http';
import { SESSION_COOKIE } from '../services/auth/tokens';
import { bearerSecret } from './context';

/**
 * Whether a request's `Origin` is this server's own: for WebSocket upgrades (cross-site WebSocket
 * hijacking: a page on another site opens our socket and the browser attaches the victim's session
 * cookie) and cookie-authenticated writes (CSRF).
 *
 * - With a public URL configured, the Origin must be exactly its origin (scheme, host and port).
 * - Without one, the Origin's host must equal the Host header the request came to (the page and the
 *   socket are served by this same server, whatever name it is reached by).
 * - No Origin header at all is allowed: browsers always send one on WebSocket handshakes and cross-origin POSTs, so its
 *   absence means a non-browser client (the y-websocket client in Node, scripts), which carries its
 *   credentials deliberately (a token or a cookie it was given) and cannot be a victim's browser.
 */
export function originAllowed(req: IncomingMessage, publicUrl: string | undefined): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  let parsed: URL;
  try {
    parsed = new URL(origin);
  } catch {
    return false; // includes the opaque origin "null" (sandboxed frames, file: pages)
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return false;
  if (publicUrl) return parsed.origin === new URL(publicUrl).origin;
  return typeof req.headers.host === 'string' && parsed.host === req.headers.host.toLowerCase();
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Why a state-changing request must be refused as cross-site (CSRF), or null. Applies to every
 * /trpc write (the web app is its only browser client, and refusing cookie-less ones too stops login
 * CSRF) and to /api writes that authenticate with the session cookie; requests with an
 * `Authorization: Bearer` key are unaffected (a browser attaches no key by itself). SameSite=Lax
 * cookies already stay off cross-site POSTs in current browsers; this also covers same-site
 * siblings (another subdomain) and browsers without SameSite.
 *
 * A browser says where a request comes from in `Sec-Fetch-Site` (all current ones) and `Origin` (on
 * every POST); a request with neither is not from a browser page (curl, scripts) and passes.
 */
export function crossSiteRefusal(req: IncomingMessage, publicUrl: string | undefined): string | null {
  if (SAFE_METHODS.has(req.method ?? 'GET')) return null;
  // The path's prefix, read off the URL without cutting the query string off (every write passes here).
  const url = req.url ?? '';
  const trpc = url.startsWith('/trpc/') || url === '/trpc' || url.startsWith('/trpc?');
  if (!trpc) {
    if (!url.startsWith('/api/')) return null;
    if (bearerSecret(req.headers) !== undefined || !hasSessionCookie(req.headers.cookie)) return null;
  }
  const site = req.headers['sec-fetch-site'];
  // Set by the browser itself (pages cannot forge it): the app's own page, however it was reached.
  if (site === 'same-origin') return null;
  if (site === 'cross-site' || site === 'same-site') return `cross-site request refused (Sec-Fetch-Site: ${site}): use the app, or an API key`;
  if (!originAllowed(req, publicUrl)) return `cross-site request refused: Origin ${String(req.headers.origin).slice(0, 100)} is not this server`;
  return null;
}

function hasSessionCookie(header: string | undefined): boolean {
  return !!header && header.split(';').some((part) => part.trim().startsWith(`${SESSION_COOKIE}=`));
}
