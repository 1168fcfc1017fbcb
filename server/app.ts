import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import fastifyCookie from '@fastify/cookie';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Db } from '@/db/client';
import { appRouter } from './api/root';
import { createRequestCtx, type AppDeps } from './api/context';
import { COOKIE_PLUGIN_OPTIONS, cookieJar } from './api/cookies';
import { registerTrpc } from './api/trpc-http';
import { scoringPredictFastPath } from './api/routers/scoring';
import { openApiDocument } from './api/rest/openapi';
import { errorBody, registerRestRoutes, sendError } from './api/rest/plugin';
import { registerPredictRoute } from './api/rest/predict-route';
import { restRoutes } from './api/rest/routes';
import { CollabServer, type CollabServerOptions } from './collab/server';
import { answerUpgrade } from './collab/upgrade';
import { crossSiteRefusal } from './api/same-origin';
import { commonSecurityHeaders, newNonce, pageCsp } from './api/security-headers';
import { LIVENESS_PATH, READINESS_PATH, checkHealth } from './health';
import { traceLogFields } from './telemetry/log-context';
import { registerSpanRoutes } from './telemetry/span-route';
import { registerHttpMetrics } from './metrics/http';
import { watchCollab } from './metrics/registry';
import { VERSION } from './version';
import { scoringRuntime } from './services/scoring/runtime';
import type { WorkflowStarter } from './services/workflow-starter';

export type ServerRole = 'all' | 'web' | 'api' | 'worker';

export type AppOptions = {
  db: Db;
  driver: string;
  role: ServerRole;
  workflows?: WorkflowStarter | undefined;
  checkTemporal?: (() => Promise<void>) | undefined;
  secureCookies?: boolean;
  /** The Next.js request handler; absent in API-only roles and in API tests. */
  nextHandler?: ((req: IncomingMessage, res: ServerResponse) => Promise<void>) | undefined;
  /** `stream`: where log lines go instead of stdout (tests read them to check no secret is logged). */
  logger?: boolean | { level: string; stream?: { write: (line: string) => void } };
  bodyLimit?: number;
  /** Proxies (addresses or CIDRs) whose X-Forwarded-For/-Proto/-Host are believed; none by default. */
  trustProxy?: readonly string[] | undefined;
  /** Tuning of the collaboration server (tests shorten its timers). */
  collab?: Omit<CollabServerOptions, 'db' | 'log' | 'publicUrl'>;
  /** STAGEBOOK_PUBLIC_URL: the origin browsers use (WebSocket Origin checks). */
  publicUrl?: string | undefined;
};

declare module 'fastify' {
  interface FastifyInstance {
    /** The collaboration server (roles web and all). */
    collab: CollabServer | null;
  }
}

export const DEFAULT_BODY_LIMIT = 1024 * 1024;
/** The common security headers as fastify keeps reply headers (lower-case names). */
const securityHeaders: Record<string, string> = Object.fromEntries(Object.entries(commonSecurityHeaders).map(([name, value]) => [name.toLowerCase(), value]));
const TRPC_PREFIX = '/trpc';

export async function buildApp(opts: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: opts.logger ? { ...(opts.logger === true ? { level: 'info' } : opts.logger), mixin: traceLogFields } : false,
    bodyLimit: opts.bodyLimit ?? DEFAULT_BODY_LIMIT,
    // tRPC batches put every call in the URL.
    routerOptions: { maxParamLength: 5000 },
    // Request ids and client addresses go into audit events: the server makes the id (a client's
    // own is kept apart, see clientRequestIdOf) and believes forwarded headers from configured proxies only.
    requestIdHeader: false,
    genReqId: () => randomUUID(),
    trustProxy: opts.trustProxy?.length ? [...opts.trustProxy] : false,
    // Malformed URLs and the like (FST_ERR_BAD_URL) get the same error body as every other 4xx.
    frameworkErrors: (err, req, reply) => void sendError(reply, err, req),
  });
  await app.register(fastifyCookie, COOKIE_PLUGIN_OPTIONS);
  const serves = (r: 'web' | 'api') => opts.role === 'all' || opts.role === r;
  const collab = serves('web') ? new CollabServer({ db: opts.db, log: app.log, publicUrl: opts.publicUrl, ...opts.collab }) : null;
  const deps: AppDeps = { db: opts.db, workflows: opts.workflows, secureCookies: opts.secureCookies ?? false, liveNotebooks: collab ?? undefined };
  app.decorate('collab', collab);
  // Every upgrade request is answered here, in every role: Node gives them to no other handler, and
  // an unanswered one holds its socket forever.
  app.server.on('upgrade', (req, socket, head) => {
    if (!collab?.handleUpgrade(req, socket, head)) answerUpgrade(socket, 404, `no WebSocket endpoint at ${(req.url ?? '').split('?')[0]}`);
  });
  if (collab) {
    const unwatch = watchCollab(() => collab.stats());
    app.addHook('onClose', async () => void unwatch());
    // preClose, not onClose: the HTTP server only finishes closing once its upgraded sockets are gone.
    app.addHook('preClose', async () => {
      await collab.close();
    });
  }

  if (serves('api') || serves('web')) {
    // Scoring caches follow changes made by other processes (LISTEN/NOTIFY on Postgres).
    const scoring = scoringRuntime(opts.db).listen((err) => app.log.warn({ err }, 'scoring change listener: connection lost, reconnecting'));
    app.addHook('onClose', () => scoring.release());
  }

  registerHttpMetrics(app);
  registerSpanRoutes(app, serves('web') ? { trpc: { prefix: TRPC_PREFIX, procedures: Object.keys(appRouter._def.procedures) } } : {});

  // Callback style, not async: every request passes here, and a promise per hook is measurable on
  // the scoring hot path (bench/scoring-layers.ts). A refusal answers without calling done.
  app.addHook('onRequest', (req, reply, done) => {
    // Among fastify's own headers, not on the raw response: a header set on the raw response sends
    // Node's writeHead down its slow path (every header set and validated again, each lookup
    // lower-cased), about a microsecond a request. Hijacked replies (Next.js pages) never write
    // these: toNext sets them on the raw response itself.
    reply.headers(securityHeaders);
    const refusal = crossSiteRefusal(req.raw, opts.publicUrl);
    if (refusal) return void reply.status(403).send(errorBody('cross_site_request', refusal));
    done();
  });

  app.setErrorHandler((err, req, reply) => sendError(reply, err, req));
  app.setNotFoundHandler((req, reply) => reply.status(404).send(errorBody('not_found', `no route for ${req.method} ${req.url.split('?')[0]}`)));

  // Liveness: the process answers, nothing else is checked. A database or Temporal outage makes
  // /api/health (readiness) 503 and takes the process out of its Service; restarting it would not help.
  app.get(LIVENESS_PATH, async () => ({ status: 'alive', role: opts.role, version: VERSION }));

  app.get(READINESS_PATH, async (_req, reply) => {
    const health = await checkHealth({ db: opts.db, driver: opts.driver, checkTemporal: opts.checkTemporal, version: VERSION, role: opts.role });
    return reply.status(health.status === 'ok' ? 200 : 503).send(health);
  });

  if (serves('api')) {
    const doc = openApiDocument(restRoutes);
    app.get('/api/openapi.json', async () => doc);
    await app.register(async (scope) => {
      // The API speaks JSON only; anything else is a 415, not a string the schema then rejects.
      scope.removeContentTypeParser('text/plain');
      registerRestRoutes(scope, deps, restRoutes);
      registerPredictRoute(scope, deps);
    });
  }

  if (serves('web')) {
    await registerTrpc(app, TRPC_PREFIX, {
      router: appRouter,
      fastPaths: { 'scoring.predict': scoringPredictFastPath(deps) },
      createContext: (req, reply) => createRequestCtx(deps, req, cookieJar(req, reply, deps.secureCookies ?? false)),
      onError: ({ error, path }) => {
        if (error.code === 'INTERNAL_SERVER_ERROR') app.log.error({ err: error.cause ?? error, path }, 'tRPC error');
      },
    });
    const next = opts.nextHandler;
    if (next) {
      // Everything that is not an API goes to Next.js, which reads the raw request itself.
      await app.register(async (scope) => {
        scope.removeAllContentTypeParsers();
        scope.addContentTypeParser('*', (_req, _payload, done) => done(null, undefined));
        const toNext = async (req: { raw: IncomingMessage }, reply: { raw: ServerResponse; hijack: () => void }) => {
          reply.hijack();
          // Next.js reads the nonce for its own inline scripts from the request's CSP header.
          const csp = pageCsp(newNonce());
          req.raw.headers['content-security-policy'] = csp;
          for (const name in securityHeaders) reply.raw.setHeader(name, securityHeaders[name]!);
          reply.raw.setHeader('Content-Security-Policy', csp);
          await next(req.raw, reply.raw);
        };
        scope.all('/', toNext);
        scope.all('/*', toNext);
      });
    }
  }
  return app;
}

export type { Db };
