import { STATUS_CODES } from 'node:http';
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
