import type { FastifyReply, FastifyRequest } from 'fastify';
import type { CookieJar } from './context';

/**
 * Options of @fastify/cookie: the `Cookie` header is parsed when a jar is first read (cookiesOf), not
 * by a hook on every request; most requests (scoring with an API key, assets) never look at it.
 */
export const COOKIE_PLUGIN_OPTIONS = { hook: false } as const;

/** httpOnly, SameSite=Lax session cookies; Secure when the server is behind HTTPS. */
export function cookieJar(req: FastifyRequest, reply: FastifyReply, secure: boolean): CookieJar {
  return {
    get: (name) => cookiesOf(req)[name],
    set: (name, value, expires) => void reply.setCookie(name, value, { httpOnly: true, sameSite: 'lax', secure, path: '/', expires }),
    clear: (name) => void reply.clearCookie(name, { path: '/' }),
  };
}

/** The request's cookies, parsed on first use (null until then: the plugin runs without its hook). */
function cookiesOf(req: FastifyRequest): Record<string, string | undefined> {
  const parsed = req.cookies as FastifyRequest['cookies'] | null;
  if (parsed) return parsed;
  const header = req.headers.cookie;
  return (req.cookies = header ? req.server.parseCookie(header) : {});
}
