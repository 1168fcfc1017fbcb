/**
 * Where to go after signing in: `next` comes from the URL, so anyone can craft it. Only a path on
 * this origin is followed. Browsers read `\` as `/` and drop tabs and newlines, so `/\evil.com` and
 * `/\t/evil.com` are `//evil.com` to them: such strings are refused outright, and what is left must
 * resolve to the same origin under the WHATWG URL parser the browser uses.
 */
export function safeNext(next: string | null | undefined, fallback = '/teams'): string {
  if (!next || next.length > 2000 || !next.startsWith('/') || next.startsWith('//')) return fallback;
  if ([...next].some((c) => c === '\\' || c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f)) return fallback;
  const base = 'http://stagebook.invalid';
  let url: URL;
  try {
    url = new URL(next, base);
  } catch {
    return fallback;
  }
  if (url.origin !== base || url.pathname.startsWith('/sign-')) return fallback;
  return `${url.pathname}${url.search}${url.hash}`;
}
