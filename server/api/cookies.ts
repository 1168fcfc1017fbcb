import type { FastifyReply, FastifyRequest } from 'fastify';
import type { CookieJar } from './context';

/** httpOnly, SameSite=Lax session cookies; Secure when the server is behind HTTPS. */
export function cookieJar(req: FastifyRequest, reply: FastifyReply, secure: boolean): CookieJar {
  return {
    get: (name) => req.cookies[name],
    set: (name, value, expires) => void reply.setCookie(name, value, { httpOnly: true, sameSite: 'lax', secure, path: '/', expires }),
    clear: (name) => void reply.clearCookie(name, { path: '/' }),
  };
}
