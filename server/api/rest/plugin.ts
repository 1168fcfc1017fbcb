import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ZodError, type z } from 'zod';
import { authorize } from '../authorize';
import { DATABASE_RETRY_AFTER_SECONDS, DATABASE_UNAVAILABLE_MESSAGE, httpStatusOf, isDatabaseUnavailable, ServiceError } from '../../services/errors';
import { RecordInputError } from '../../services/scoring/predict-records';
import { createRequestCtx, type AppDeps } from '../context';
import { cookieJar } from '../cookies';
import { describeZodError } from '../trpc';
import type { RestRoute } from './route';
import { unstorableTextError } from '../storable-text';

export type RestErrorBody = { error: { code: string; message: string; field?: string; issues?: { path: string; message: string }[] } };

export function errorBody(code: string, message: string, extra: Partial<RestErrorBody['error']> = {}): RestErrorBody {
  return { error: { code, message, ...extra } };
}

function parse<S extends z.ZodType>(schema: S | undefined, value: unknown, where: string): z.output<S> {
  if (!schema) return undefined as z.output<S>;
  const r = schema.safeParse(value ?? {});
  if (!r.success) throw Object.assign(r.error, { where });
  return r.data;
}

function isStream(v: unknown): boolean {
  return typeof v === 'object' && v !== null && typeof (v as { pipe?: unknown }).pipe === 'function';
}

export function sendError(reply: FastifyReply, err: unknown, req: FastifyRequest): FastifyReply {
  if (err instanceof ZodError) {
    const where = (err as ZodError & { where?: string }).where ?? 'request';
    const issues = err.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
    return reply
      .status(400)
      .send(errorBody('invalid_input', `invalid ${where}: ${describeZodError(err)}`, { field: issues[0]?.path || undefined, issues }));
  }
  if (err instanceof RecordInputError) {
    // Scoring records: every issue (up to 100) with its record index and field.
    const issues = err.issues.map((i) => ({ path: `records[${i.record}]${i.field ? `.${i.field}` : ''}`, message: i.message }));
    return reply.status(400).send(errorBody('invalid_input', err.message, { field: err.field, issues }));
  }
  if (err instanceof ServiceError) {
    return reply.status(httpStatusOf[err.kind]).send(errorBody(err.kind.replace(/[A-Z]/g, (c, i: number) => (i ? '_' : '') + c.toLowerCase()), err.message, { field: err.field }));
  }
  const fe = err as { statusCode?: number; code?: string; message?: string };
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    // Fastify's own refusals: malformed JSON, body too large, unsupported content type.
    const code = fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE' ? 'payload_too_large' : fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' ? 'unsupported_media_type' : 'bad_request';
    return reply.status(fe.statusCode).send(errorBody(code, fe.message ?? 'bad request'));
  }
  if (isDatabaseUnavailable(err)) {
    req.log.warn({ err }, 'database unavailable');
    return reply.status(503).header('retry-after', String(DATABASE_RETRY_AFTER_SECONDS)).send(errorBody('unavailable', DATABASE_UNAVAILABLE_MESSAGE));
  }
  req.log.error({ err }, 'request failed');
  return reply.status(500).send(errorBody('internal', 'Internal server error'));
}

function unsupportedMediaType(route: RestRoute): Error {
  const types = route.rawBody?.contentTypes.join(' or ') ?? 'application/json';
  return Object.assign(new Error(`send the body as ${types}`), { statusCode: 415, code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE' });
}

export function registerRestRoutes(app: FastifyInstance, deps: AppDeps, routes: RestRoute[]) {
  // Streamed bodies pass through untouched; only routes declaring the type accept them (below).
  for (const type of new Set(routes.flatMap((r) => r.rawBody?.contentTypes ?? []))) {
    if (!app.hasContentTypeParser(type)) app.addContentTypeParser(type, (_req, payload, done) => done(null, payload));
  }
  for (const route of routes) {
    if (route.custom) continue;
    app.route({
      method: route.method,
      url: route.path.replace(/\{(\w+)\}/g, ':$1'),
      handler: async (req, reply) => {
        // Text Postgres cannot store (NUL, unpaired surrogates) is a 400 naming the field, before anything
        // reads it; named like validation errors name fields (`name`, `records.3.age`), without a prefix.
        const unstorable = unstorableTextError(req.params) ?? unstorableTextError(req.query) ?? (route.rawBody || isStream(req.body) ? null : unstorableTextError(req.body));
        if (unstorable) throw unstorable;
        const ctx = await createRequestCtx(deps, req, cookieJar(req, reply, deps.secureCookies ?? false));
        // Who may call comes first: a stranger learns nothing from validation messages.
        await authorize(ctx, route.policy, { ...(req.query as object), ...(req.params as object) });
        const params = parse(route.params, req.params, 'path parameters');
        const query = parse(route.query, req.query, 'query');
        let raw: AsyncIterable<Buffer> | undefined;
        if (route.rawBody) {
          const mediaType = String(req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
          if (!route.rawBody.contentTypes.includes(mediaType)) throw unsupportedMediaType(route);
          raw = req.body as AsyncIterable<Buffer>;
        } else if (isStream(req.body)) {
          // A streamed type sent to a JSON route.
          throw unsupportedMediaType(route);
        }
        const body = parse(route.body, req.body, 'body');
        const result = await route.handler({ ctx, params, query, body, raw });
        if (route.rawResponse) reply.type(route.rawResponse.contentType);
        if (route.rawResponse?.attachment) {
          const name = route.rawResponse.attachment(req.params as Record<string, string>).replace(/[^A-Za-z0-9._-]/g, '_');
          reply.header('content-disposition', `attachment; filename="${name}"`);
        }
        return reply.status(route.successStatus ?? 200).send(result);
      },
    });
  }
}
