import { availableParallelism } from 'node:os';
import { eq, sql } from 'drizzle-orm';
import type { Db } from '@/db/client';
import { loadEnv, type Env } from '@/server/env';
import { endpoints, models, modelVersions, projects } from '@/db/schema';
import { FeatureSchema } from '@/server/ml/onnx/feature-schema';
import { type BatchModel, openBatchModel } from '@/server/scoring/category-codes';
import { BATCH_SESSION_OPTIONS, SESSION_OPTIONS, SessionCache, verifiedModelBytes, type Offload } from '@/server/scoring/session-cache';
import { ScoringPool } from '@/server/scoring/worker-pool';
import { apiKeyHashOf, findApiKeyByHash, type ApiKeyActor } from '../api-keys/resolve-api-key';
import { findSessionByHash, sessionHashOf, type UserActor } from '../auth/session';
import { driverOf } from '../datasets/storage';
import { notFound, preconditionFailed, ServiceError } from '../errors';
import { readArtifact } from '../models/artifacts';
import { onScoringChange, type ScoringChange } from './changes';
import type { EndpointConfig, ShadowConfig } from './endpoint-config';
import { LastUsedRecorder } from './last-used';
import { type ChangeListener, listenForScoringChanges } from './listener';
import { TtlLru } from '../ttl-lru';
import { PredictionLogRecorder } from './prediction-log-recorder';
import { RequestStatsRecorder } from './request-stats-recorder';
import { ShadowScorer } from './shadow-scorer';

export type { EndpointConfig, ShadowConfig } from './endpoint-config';

/** Entries live this long even without a change notification (the safety net, see lru.ts). */
const CACHE_TTL_MS = 60_000;
/** Unknown keys and endpoints are remembered briefly, so a bad client costs one query per 5 s. */
const NEGATIVE_TTL_MS = 5_000;
/**
 * Sessions are remembered this long (never past their expiry). Sign-out invalidates at once like a
 * key revocation; the short life bounds what a lost notification could cost.
 */
const SESSION_TTL_MS = 10_000;

/**
 * The scoring hot path's in-memory state for one database: API keys by hash (for every route that
 * takes a key, see api/context.ts), signed-in sessions by token hash, endpoint configs by name,
 * ONNX sessions by artifact sha256. One per Db per process (`scoringRuntime(db)`), shared by the
 * REST routes, tRPC and batch scoring. Entries are promises, stored
 * before they resolve, so concurrent first requests share one load, and an invalidation that
 * arrives while a load is in flight removes it: later requests load again.
 */
/**
 * Predict runs over this many records go to a worker thread (server/scoring/worker-pool.ts), so
 * they do not stall the one-record requests served meanwhile; smaller ones run on the main thread,
 * where a thread hop would cost more than the run.
 */
export const POOL_MIN_RECORDS = 1_000;

/** `STAGEBOOK_SCORING_THREADS`: threads of the pool (0: none); default one per core but one, at least one. */
export function scoringThreads(env: Pick<Env, 'STAGEBOOK_SCORING_THREADS'> = loadEnv()): number {
  return env.STAGEBOOK_SCORING_THREADS ?? Math.max(1, availableParallelism() - 1);
}

export class ScoringRuntime {
  readonly sessions = new SessionCache();
  /** The same models for batch scoring, with intra-op threads (BATCH_SESSION_OPTIONS); few at a time. */
  batchSessions = new SessionCache<BatchModel>({ maxSessions: 4, sessionOptions: BATCH_SESSION_OPTIONS, open: openBatchModel });
  /** Worker threads for large predict runs. */
  readonly pool = new ScoringPool({ threads: scoringThreads(), minRecords: POOL_MIN_RECORDS, sessionOptions: { ...SESSION_OPTIONS } });
  readonly lastUsed: LastUsedRecorder;
  /** Per-endpoint request counts and latencies, written every 5 s (endpoints.stats reads them). */
  readonly requestStats: RequestStatsRecorder;
  /** What endpoints answered, buffered and written every 2 s (drift reads it). */
  readonly predictionLog: PredictionLogRecorder;
  /** Scores answered requests again with the endpoint's shadow version, off the response path. */
  readonly shadow: ShadowScorer;
  /** `actor` once the look-up has answered: a hit then needs no await (knownApiKey). */
  private readonly keys = new TtlLru<string, { promise: Promise<ApiKeyActor | null>; actor?: ApiKeyActor | null }>(10_000, CACHE_TTL_MS);
  /** Live sessions only: a signed-in user's next request after sign-in must never see a stale miss. */
  private readonly userSessions = new TtlLru<string, Promise<UserActor | null>>(10_000, SESSION_TTL_MS);
  /** Loaded configs only: a name joins once its load succeeds, so lookups of names that do not exist never evict one. */
  private readonly endpoints = new TtlLru<string, { config: Promise<EndpointConfig>; loaded: EndpointConfig; modelId: string }>(1_000, CACHE_TTL_MS);
  /** Loads in flight, one per name (concurrent first requests share it); bounded by the requests in flight. */
  private readonly loadingEndpoints = new Map<string, Promise<EndpointConfig>>();
  /** Names that do not exist, remembered briefly and apart from the loaded ones (their own bound). */
  private readonly missingEndpoints = new TtlLru<string, Promise<EndpointConfig>>(10_000, NEGATIVE_TTL_MS);
  private listener: ChangeListener | null = null;
  private listenerUsers = 0;
  /** Other in-memory state that follows the same changes (the collab server's live permissions); null = forget everything. */
  private readonly subscribers = new Set<(change: ScoringChange | null) => void>();

  constructor(private readonly db: Db) {
    this.lastUsed = new LastUsedRecorder(db);
    this.requestStats = new RequestStatsRecorder(db);
    this.predictionLog = new PredictionLogRecorder(db);
    this.shadow = new ShadowScorer(this.predictionLog);
  }

  /** Writes what the hot path only noted in memory (on close, and in tests). */
  async flushRecorders(): Promise<void> {
    await this.shadow.settled();
    await Promise.all([this.lastUsed.flush(), this.requestStats.flush(), this.predictionLog.flush()]);
  }

  /** The active key behind a bearer secret, or null. */
  apiKey(secret: string): Promise<ApiKeyActor | null> {
    const hash = apiKeyHashOf(secret);
    if (!hash) return Promise.resolve(null);
    const hit = this.keys.get(hash);
    if (hit) return hit.promise;
    const loading = findApiKeyByHash(this.db, hash);
    const entry: { promise: Promise<ApiKeyActor | null>; actor?: ApiKeyActor | null } = { promise: loading };
    this.keys.set(hash, entry);
    loading.then(
      (actor) => {
        entry.actor = actor;
        if (!actor && this.keys.get(hash) === entry) this.keys.set(hash, entry, NEGATIVE_TTL_MS);
      },
      () => {
        if (this.keys.get(hash) === entry) this.keys.delete(hash);
      },
    );
    return loading;
  }

  /**
   * What `apiKey(secret)` resolves to when the cache already holds the answer (the active key, or
   * null for an unknown or revoked one), without a promise; undefined when only a look-up would tell.
   */
  knownApiKey(secret: string): { actor: ApiKeyActor | null } | undefined {
    const hash = apiKeyHashOf(secret);
    if (!hash) return { actor: null };
    const actor = this.keys.get(hash)?.actor;
    return actor === undefined ? undefined : { actor };
  }

  /** The signed-in user behind a session token, or null (unknown, expired or signed out). */
  userSession(token: string | undefined): Promise<UserActor | null> {
    const hash = sessionHashOf(token);
    if (!hash) return Promise.resolve(null);
    const hit = this.userSessions.get(hash);
    if (hit) return hit;
    const loading = findSessionByHash(this.db, hash).then((s) => {
      if (!s) {
        if (this.userSessions.get(hash) === actor) this.userSessions.delete(hash);
        return null;
      }
      const left = s.expiresAt.getTime() - Date.now();
      if (this.userSessions.get(hash) === actor && left < SESSION_TTL_MS) this.userSessions.set(hash, actor, Math.max(left, 0));
      return s.actor;
    });
    const actor: Promise<UserActor | null> = loading.catch((err: unknown) => {
      if (this.userSessions.get(hash) === actor) this.userSessions.delete(hash);
      throw err;
    });
    this.userSessions.set(hash, actor);
    return actor;
  }

  /** The endpoint's current config with its session loaded; NotFound when there is no such endpoint. */
  endpoint(name: string): Promise<EndpointConfig> {
    const hit = this.endpoints.get(name)?.config ?? this.loadingEndpoints.get(name) ?? this.missingEndpoints.get(name);
    if (hit) return hit;
    const config = this.loadEndpoint(name);
    this.loadingEndpoints.set(name, config);
    config.then(
      (c) => {
        // An invalidation while loading removed it: the config may predate the change.
        if (this.loadingEndpoints.get(name) !== config) return;
        this.loadingEndpoints.delete(name);
        this.endpoints.set(name, { config, loaded: c, modelId: c.modelId });
      },
      (err: unknown) => {
        if (this.loadingEndpoints.get(name) !== config) return;
        this.loadingEndpoints.delete(name);
        if (err instanceof ServiceError && err.kind === 'NotFound') this.missingEndpoints.set(name, config);
      },
    );
    return config;
  }

  /** The config if this process has it loaded already; never reads the database. */
  loadedEndpoint(name: string): Promise<EndpointConfig> | undefined {
    return this.endpoints.get(name)?.config;
  }

  /** What `endpoint(name)` resolves to when it is loaded already, without a promise; else undefined. */
  knownEndpoint(name: string): EndpointConfig | undefined {
    return this.endpoints.get(name)?.loaded;
  }

  private async loadEndpoint(name: string): Promise<EndpointConfig> {
    const [row] = await this.db
      .select({
        endpointId: endpoints.id,
        projectId: endpoints.projectId,
        teamId: projects.teamId,
        modelId: models.id,
        modelName: models.name,
        pinnedVersionId: endpoints.pinnedVersionId,
        versionId: modelVersions.id,
        version: modelVersions.version,
        artifactSha256: modelVersions.artifactSha256,
        featureSchema: modelVersions.featureSchema,
        bundleHash: endpoints.bundleHash,
        shadowVersionId: endpoints.shadowVersionId,
        threshold: endpoints.threshold,
      })
      .from(endpoints)
      .innerJoin(projects, eq(projects.id, endpoints.projectId))
      .innerJoin(models, eq(models.id, endpoints.modelId))
      .leftJoin(modelVersions, eq(modelVersions.id, sql`coalesce(${endpoints.pinnedVersionId}, ${models.championVersionId})`))
      .where(eq(endpoints.name, name));
    if (!row) throw notFound(`endpoint "${name}"`);
    if (!row.versionId || row.version === null || !row.artifactSha256 || !row.featureSchema) {
      throw preconditionFailed(`endpoint "${name}" has no model version to serve: model "${row.modelName}" has no champion`);
    }
    const schema = FeatureSchema.parse(row.featureSchema);
    const sha = row.artifactSha256;
    const session = await this.sessions.get(sha, () => readArtifact(this.db, sha));
    return {
      endpointId: row.endpointId,
      name,
      projectId: row.projectId,
      teamId: row.teamId,
      modelId: row.modelId,
      modelName: row.modelName,
      versionId: row.versionId,
      version: row.version,
      serving: row.pinnedVersionId ? 'pinned' : 'champion',
      artifactSha256: sha,
      schema,
      session,
      negativeClass: schema.classes[1 - schema.positiveIndex]!,
      positiveClass: schema.classes[schema.positiveIndex]!,
      threshold: row.threshold,
      bundleHash: row.bundleHash,
      shadow: row.shadowVersionId && row.shadowVersionId !== row.versionId ? await this.loadShadow(name, row.shadowVersionId) : null,
      offload: this.offload(sha),
    };
  }

  /** Large runs of artifact `sha` go to the pool, which loads its bytes (checked again) on first use in each thread. */
  offload(sha: string): Offload {
    return (columns, outputs) => {
      if (!this.pool.takes(columns[0]?.dims[0] ?? 0)) return null;
      return this.pool.run(sha, async () => verifiedModelBytes(sha, await readArtifact(this.db, sha)), columns, outputs);
    };
  }

  /** A shadow version that cannot load is logged and skipped: it must never keep the endpoint from serving. */
  private async loadShadow(name: string, versionId: string): Promise<ShadowConfig | null> {
    try {
      const [v] = await this.db
        .select({ version: modelVersions.version, artifactSha256: modelVersions.artifactSha256, featureSchema: modelVersions.featureSchema })
        .from(modelVersions)
        .where(eq(modelVersions.id, versionId));
      if (!v) return null;
      const schema = FeatureSchema.parse(v.featureSchema);
      const session = await this.sessions.get(v.artifactSha256, () => readArtifact(this.db, v.artifactSha256));
      return { versionId, version: v.version, schema, session, positiveClass: schema.classes[schema.positiveIndex]!, offload: this.offload(v.artifactSha256) };
    } catch (err) {
      console.error(`endpoint "${name}": could not load its shadow version; serving without it`, err);
      return null;
    }
  }

  /** Called with every change applied here (and null when every cache is reset); returns the unsubscribe. */
  subscribe(fn: (change: ScoringChange | null) => void): () => void {
    this.subscribers.add(fn);
    return () => this.subscribers.delete(fn);
  }

  /** Forgets what a change makes stale. */
  invalidate(change: ScoringChange): void {
    for (const fn of this.subscribers) fn(change);
    switch (change.kind) {
      case 'apiKey':
        this.keys.delete(change.keyHash);
        return;
      case 'session':
        this.userSessions.delete(change.tokenHash);
        return;
      case 'endpoint':
        this.endpoints.delete(change.name);
        this.loadingEndpoints.delete(change.name);
        this.missingEndpoints.delete(change.name);
        return;
      case 'model':
        // The configs of that model go, and so do loads still in flight (their model is not known
        // yet, and they may have read the database before the change committed).
        this.endpoints.deleteWhere((e) => e.modelId === change.modelId);
        this.loadingEndpoints.clear();
        return;
    }
  }

  clear(): void {
    for (const fn of this.subscribers) fn(null);
    this.keys.clear();
    this.userSessions.clear();
    this.endpoints.clear();
    this.loadingEndpoints.clear();
    this.missingEndpoints.clear();
  }

  /**
   * Starts listening for other processes' changes (LISTEN/NOTIFY). Reference-counted: apps sharing a
   * Db share one listener.
   */
  listen(onError?: (err: Error) => void): { ready: Promise<void>; release: () => Promise<void> } {
    this.listenerUsers++;
    this.listener ??= listenForScoringChanges(driverOf(this.db).pool, {
      onChange: (c) => this.invalidate(c),
      onReset: () => this.clear(),
      ...(onError ? { onError } : {}),
    });
    const listener = this.listener;
    let released = false;
    return {
      ready: listener.ready,
      release: async () => {
        if (released) return;
        released = true;
        await this.flushRecorders();
        if (--this.listenerUsers > 0) return;
        this.listener = null;
        await Promise.all([listener.close(), this.pool.close()]);
      },
    };
  }
}

const runtimes = new WeakMap<Db, ScoringRuntime>();

export function scoringRuntime(db: Db): ScoringRuntime {
  let r = runtimes.get(db);
  if (!r) {
    const runtime = (r = new ScoringRuntime(db));
    runtimes.set(db, runtime);
    // The runtime lives as long as its Db (the WeakMap key), so the subscription needs no release.
    onScoringChange(db, (change) => runtime.invalidate(change));
  }
  return r;
}
