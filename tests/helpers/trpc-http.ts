/** A tRPC call over HTTP as the web app makes it (superjson envelope), keeping the session cookie. */
export function trpcHttpClient(initialBaseUrl: string) {
  let baseUrl = initialBaseUrl;
  let cookie = '';
  const call = async (kind: 'query' | 'mutation', proc: string, input: unknown) => {
    const url = `${baseUrl}/trpc/${proc}` + (kind === 'query' ? `?input=${encodeURIComponent(JSON.stringify({ json: input }))}` : '');
    const res = await fetch(url, {
      method: kind === 'query' ? 'GET' : 'POST',
      headers: { 'content-type': 'application/json', ...(cookie ? { cookie } : {}) },
      body: kind === 'mutation' ? JSON.stringify({ json: input }) : undefined,
    });
    const setCookie = res.headers.get('set-cookie');
    if (setCookie) cookie = setCookie.split(';')[0]!;
    const body = (await res.json()) as { result?: { data?: { json?: unknown } }; error?: { json?: { message?: string } } };
    if (!res.ok) throw new Error(`${proc}: ${res.status} ${body.error?.json?.message}`);
    return body.result?.data?.json as Record<string, unknown>;
  };
  return {
    query: (p: string, i?: unknown) => call('query', p, i),
    mutate: (p: string, i?: unknown) => call('mutation', p, i),
    /** The same browser, pointed at a restarted server. */
    rebase: (url: string) => void (baseUrl = url),
  };
}
