import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';

/** How long a refused socket may take to read its answer before it is destroyed anyway. */
const ANSWER_GRACE_MS = 2_000;

/**
 * Answers an upgrade request that will not become a WebSocket with a plain HTTP response, then
 * closes the socket. Node hands upgrade requests to the 'upgrade' listeners only: one that neither
 * answers nor destroys the socket leaves it open for good (20,000 of them exhausted the process's
 * file descriptors).
 */
export function answerUpgrade(socket: Duplex, status: number, message: string): void {
  if (socket.destroyed) return;
  socket.on('error', () => socket.destroy());
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const body = JSON.stringify({ error: { code: (STATUS_CODES[status] ?? 'error').toLowerCase().replaceAll(' ', '_'), message } });
  const timer = setTimeout(() => socket.destroy(), ANSWER_GRACE_MS);
  timer.unref();
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nConnection: close\r\nContent-Type: application/json; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    () => {
      clearTimeout(timer);
      socket.destroy();
    },
  );
}

/**
 * Whether a WebSocket upgrade may proceed given its `Origin` (cross-site WebSocket hijacking: a page
 * on another site opens our socket and the browser attaches the victim's session cookie).
 *
 * - With a public URL configured, the Origin must be exactly its origin (scheme, host and port).
 * - Without one, the Origin's host must equal the Host header the request came to (the page and the
 *   socket are served by this same server, whatever name it is reached by).
 * - No Origin header at all is allowed: browsers always send one on WebSocket handshakes, so its
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
