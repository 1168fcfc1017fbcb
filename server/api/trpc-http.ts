import { getErrorShape, getTRPCErrorFromUnknown, transformTRPCResponse, TRPCError, type AnyTRPCProcedure, type AnyTRPCRouter, type inferRouterContext } from '@trpc/server';
import { fastifyRequestHandler } from '@trpc/server/adapters/fastify';
import { getHTTPStatusCode } from '@trpc/server/http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

export type TrpcHttpOptions<TRouter extends AnyTRPCRouter> = {
  router: TRouter;
  createContext: (req: FastifyRequest, reply: FastifyReply) => Promise<inferRouterContext<TRouter>>;
  onError?: (o: { error: TRPCError; path: string | undefined }) => void;
  /** Procedures' own fast paths, by procedure path (see FastPath). */
  fastPaths?: Record<string, FastPath>;
};

/**
 * A mutation's own fast path for a single unbatched POST with a JSON body and no superjson meta:
 * given the request and the input as sent, it answers with the procedure's result, or null when it
 * cannot answer without an error; the call then takes the direct path below and gets its exact
 * answer (so a fast path must note nothing before it knows it answers). It must keep the
 * procedure's semantics: the same authentication, policy, input validation and side effects.
 * `plain`: the data holds only strings, finite numbers, booleans, null, arrays and plain objects,
 * so superjson would leave it as it is and it is sent without the transformer's pass over it.
 * `schema`: the JSON schema of plain data, to serialise it with fastify's compiled serializer
 * (fast-json-stringify, compiled once) instead of JSON.stringify.
 */
export type FastPath = (req: FastifyRequest, input: unknown) => Promise<FastAnswer | null>;

export type FastAnswer = { data: unknown; plain: boolean; schema?: Record<string, unknown> };

/** A call the direct path serves: one procedure, its input already parsed and deserialised. */
type DirectCall = { procedure: AnyTRPCProcedure; type: 'query' | 'mutation'; input: unknown };

const SIMPLE_PATH = /^[\w.]+$/;

/**
 * `/trpc/:path` on fastify. tRPC's fastify adapter turns every request into a web `Request`
 * (headers copied, AbortSignals, a body stream) and every answer into a web `Response` read back
 * through a stream: on a single-record predict that machinery cost about 4x the scoring itself
 * (bench/scoring.ts). The direct path here answers the common case (one query over GET, one
 * mutation over POST with a JSON body, no batching, no streaming) straight from fastify's
 * request, with tRPC's own pieces: the same procedure call (middlewares, validation, policy),
 * `getErrorShape` with our formatter, `transformTRPCResponse` (superjson), `getHTTPStatusCode`.
 * Everything else (batches, `jsonl` streaming, form data, subscriptions, unknown or lazy paths,
 * method mismatches, bodies that do not parse) goes to tRPC's adapter unchanged, so odd requests
 * get tRPC's exact answers. The direct path speaks tRPC's unbatched wire format (what `httpLink` and
 * plain HTTP clients send); `httpBatchLink` always sends `?batch=1` and takes the adapter. One
 * difference a client cannot notice: fastify adds `; charset=utf-8` to the JSON content type.
 */
export async function registerTrpc<TRouter extends AnyTRPCRouter>(app: FastifyInstance, prefix: string, opts: TrpcHttpOptions<TRouter>): Promise<void> {
  const config = opts.router._def._config;
  const procedures = opts.router._def.procedures as Record<string, AnyTRPCProcedure | undefined>;

  const directCall = (req: FastifyRequest, path: string): DirectCall | null => {
    if (!SIMPLE_PATH.test(path)) return null;
    const procedure = procedures[path];
    if (typeof procedure !== 'function') return null;
    const type = procedure._def.type;
    const h = req.headers;
    if (h['trpc-accept'] !== undefined || (typeof h.accept === 'string' && h.accept.includes('application/jsonl'))) return null;
    const contentType = h['content-type'];
    const json = contentType === undefined ? null : contentType.split(';', 1)[0]!.trim().toLowerCase() === 'application/json';
    const query = req.query as Record<string, unknown>;
    let raw: string | undefined;
    if (req.method === 'POST' && type === 'mutation' && json === true && typeof req.body === 'string') {
      if (req.url.includes('?')) return null;
      raw = req.body;
    } else if (req.method === 'GET' && type === 'query' && json !== false) {
      for (const k in query) if (k !== 'input') return null;
      if (query.input !== undefined && typeof query.input !== 'string') return null;
      raw = query.input === '' ? undefined : (query.input as string | undefined);
    } else {
      return null;
    }
    if (raw === undefined) return { procedure, type, input: undefined };
    try {
      return { procedure, type, input: config.transformer.input.deserialize(JSON.parse(raw)) };
    } catch {
      return null; // tRPC's adapter phrases the error
    }
  };

  // Procedures that check a password (meta `unbatched`) are refused inside a batch: a batch of 40
  // guesses would otherwise be one request to every per-request defence in front of the server.
  const unbatchedInBatch = (req: FastifyRequest, path: string): string | null => {
    const query = req.query as Record<string, unknown>;
    const paths = path.split(',');
    if (paths.length === 1 && query.batch === undefined) return null;
    return paths.find((p) => (procedures[p]?._def.meta as { unbatched?: boolean } | undefined)?.unbatched === true) ?? null;
  };

  const answer = async (req: FastifyRequest, reply: FastifyReply, path: string, call: DirectCall): Promise<void> => {
    const { procedure, type, input } = call;
    let inputRead = false;
    let ctx: inferRouterContext<TRouter> | undefined;
    let body: unknown;
    let status = 200;
    try {
      ctx = await opts.createContext(req, reply);
      const data: unknown = await procedure({
        path,
        ctx,
        type,
        batchIndex: 0,
        signal: undefined,
        getRawInput: () => {
          inputRead = true;
          return Promise.resolve(input);
        },
      });
      if (isDataStream(data)) {
        throw new TRPCError({ code: 'UNSUPPORTED_MEDIA_TYPE', message: 'Cannot use stream-like response in non-streaming request - use httpBatchStreamLink' });
      }
      body = transformTRPCResponse(config, { result: { data } });
    } catch (cause) {
      const error = getTRPCErrorFromUnknown(cause);
      const seen = inputRead ? input : undefined;
      opts.onError?.({ error, path });
      const shape = getErrorShape({ config, error, type, path, input: seen, ctx });
      status = getHTTPStatusCode({ error: shape });
      body = transformTRPCResponse(config, { error: shape });
    }
    await reply.status(status).header('vary', 'trpc-accept, accept').header('content-type', 'application/json').send(JSON.stringify(body));
  };

  /** True when the fast path answered (its data, or a 500 when it threw). */
  const answerFast = async (req: FastifyRequest, reply: FastifyReply, path: string, fast: FastPath): Promise<boolean> => {
    const h = req.headers;
    if (req.method !== 'POST' || typeof req.body !== 'string' || req.url.includes('?')) return false;
    if (h['content-type']?.split(';', 1)[0]!.trim().toLowerCase() !== 'application/json') return false;
    if (h['trpc-accept'] !== undefined || (typeof h.accept === 'string' && h.accept.includes('application/jsonl'))) return false;
    let sent: unknown;
    try {
      sent = JSON.parse(req.body);
    } catch {
      return false;
    }
    if (typeof sent !== 'object' || sent === null || Array.isArray(sent)) return false;
    for (const k in sent) if (k !== 'json') return false;
    let answer: FastAnswer | null;
    let body: string;
    let status = 200;
    try {
      answer = await fast(req, (sent as { json?: unknown }).json);
      if (!answer) return false;
      if (answer.plain) {
        const json = answer.schema ? reply.serializeInput(answer.data as Record<string, unknown>, answer.schema) : JSON.stringify(answer.data);
        body = `{"result":{"data":{"json":${json}}}}`;
      } else {
        body = JSON.stringify(transformTRPCResponse(config, { result: { data: answer.data } }));
      }
    } catch (cause) {
      const error = getTRPCErrorFromUnknown(cause);
      opts.onError?.({ error, path });
      const shape = getErrorShape({ config, error, type: 'mutation', path, input: undefined, ctx: undefined });
      status = getHTTPStatusCode({ error: shape });
      body = JSON.stringify(transformTRPCResponse(config, { error: shape }));
    }
    await reply.status(status).header('vary', 'trpc-accept, accept').header('content-type', 'application/json').send(body);
    return true;
  };

  await app.register(async (scope) => {
    // As tRPC's plugin: bodies reach the handler as the string sent (tRPC parses them itself).
    scope.removeContentTypeParser('application/json');
    scope.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => done(null, body));
    scope.removeContentTypeParser('multipart/form-data');
    scope.addContentTypeParser('multipart/form-data', {}, (_req, body, done) => done(null, body));
    scope.all(`${prefix}/:path`, async (req, reply) => {
      const { path } = req.params as { path: string };
      const refused = unbatchedInBatch(req, path);
      if (refused) {
        const error = new TRPCError({ code: 'BAD_REQUEST', message: `${refused} cannot be batched: send it as a request of its own` });
        const shape = getErrorShape({ config, error, type: 'unknown', path: refused, input: undefined, ctx: undefined });
        await reply.status(400).header('content-type', 'application/json').send(JSON.stringify(transformTRPCResponse(config, { error: shape })));
        return;
      }
      const fast = opts.fastPaths?.[path];
      if (fast && (await answerFast(req, reply, path, fast))) return;
      const call = directCall(req, path);
      if (call) return answer(req, reply, path, call);
      await fastifyRequestHandler({
        router: opts.router,
        createContext: ({ req: r, res }) => opts.createContext(r, res),
        onError: ({ error, path: p }) => opts.onError?.({ error, path: p }),
        req,
        res: reply,
        path,
      });
    });
  });
}

/** tRPC's test for answers only a streaming link can carry (promises or async iterables inside). */
function isDataStream(v: unknown): boolean {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  if (Symbol.asyncIterator in v) return true;
  for (const x of Object.values(v)) {
    if (typeof x !== 'object' || x === null) continue;
    if (Symbol.asyncIterator in x || (typeof (x as { then?: unknown }).then === 'function' && typeof (x as { catch?: unknown }).catch === 'function')) return true;
  }
  return false;
}
