import { sql } from 'drizzle-orm';
import { type AnyPgColumn, boolean, check, customType, doublePrecision, index, integer, json, jsonb, pgTable, primaryKey, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { projects } from './projects';

const bytea = customType<{ data: Uint8Array; driverData: Uint8Array }>({
  dataType: () => 'bytea',
  // node-postgres returns a Buffer, which is a Uint8Array.
  fromDriver: (v) => v,
});

/**
 * Content-addressed blobs (ONNX models; later bundle archives): the key is the sha256 of the bytes,
 * so identical bytes are stored once whoever uploads or trains them. Never updated; rows are only
 * added (and, one day, garbage-collected when nothing refers to them).
 */
export const artifacts = pgTable('artifacts', {
  sha256: text('sha256').primaryKey(),
  mediaType: text('media_type').notNull(),
  size: integer('size').notNull(),
  content: bytea('content').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
});

/** A named model of a project; its versions are the trained or imported artifacts. */
export const models = pgTable(
  'models',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    projectId: uuid('project_id')
      .notNull()
      .references(() => projects.id, { onDelete: 'cascade' }),
    /** A lowercase identifier, unique in the project. */
    name: text('name').notNull(),
    /** The version live endpoints serve unless they pin one; null only before the first version. */
    championVersionId: uuid('champion_version_id').references((): AnyPgColumn => modelVersions.id, { onDelete: 'set null' }),
    createdBy: text('created_by').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('models_project_name_uq').on(t.projectId, t.name)],
);

export const modelVersionSources = ['trained', 'imported'] as const;
export type ModelVersionSource = (typeof modelVersionSources)[number];

/** Where a trained version's data came from: enough to tell whether a retrain saw the same rows. */
export type TrainingDataRef = {
  dataset: string;
  environment: 'design' | 'production';
  fingerprint: string;
  rows: number;
  /**
   * The artifact (server/ml/seen-rows.ts) holding the hashes of the rows it trained on; absent before
   * it existed. `of`: what was hashed: the dataset's rows (`hashtext`, absent) or, for a model a Python
   * cell registered, the model frame's rows (server/ml/frame-rows.ts); digests of different kinds are
   * never compared.
   */
  seenRows?: { sha256: string; count: number; of?: 'model-frame' };
  /** A Python cell's model: the cell and the datasets it read (`dataset` is the first of them). */
  python?: { cell: string; inputs: string[] };
};

/**
 * One immutable version of a model: the ONNX artifact plus what it needs and what it scored. The
 * types of `spec`, `featureSchema` and `metrics` are owned by server/ml and server/services/models;
 * the database keeps them as JSON.
 */
export const modelVersions = pgTable(
  'model_versions',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    modelId: uuid('model_id')
      .notNull()
      .references(() => models.id, { onDelete: 'cascade' }),
    /** 1, 2, 3, ... per model. */
    version: integer('version').notNull(),
    source: text('source', { enum: modelVersionSources }).notNull(),
    artifactSha256: text('artifact_sha256')
      .notNull()
      .references(() => artifacts.sha256),
    /** `logistic_regression`, `gradient_boosted_trees`, or `onnx` for an imported file. */
    algorithm: text('algorithm').notNull(),
    /** The full train spec with defaults filled in (trained), or the import options. */
    spec: jsonb('spec').$type<Record<string, unknown>>().notNull(),
    featureSchema: jsonb('feature_schema').$type<Record<string, unknown>>().notNull(),
    /** Holdout evaluation and training facts (trained versions); null for imports. */
    metrics: jsonb('metrics').$type<Record<string, unknown>>(),
    trainingData: jsonb('training_data').$type<TrainingDataRef>(),
    /**
     * The training data's drift reference profile (server/ml/drift-reference.ts): feature bins and
     * frequencies, a value sample, the holdout's probability histogram. Null for imports and versions
     * registered before drift existed (drift then derives it from the training dataset, if any).
     */
    reference: jsonb('reference').$type<Record<string, unknown>>(),
    /**
     * A leaderboard's runner-up: the version that won the same training (fitted on the same split,
     * best by the spec's metric). Candidates are stored and listed but never become champions (nor
     * are they pinned or shadowed). Null for every other version.
     */
    candidateOf: uuid('candidate_of').references((): AnyPgColumn => modelVersions.id, { onDelete: 'set null' }),
    /** The actor's audit label (a user's email, `key:<name>`, `workflow:<id>`). */
    createdBy: text('created_by').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('model_versions_model_version_uq').on(t.modelId, t.version), index('model_versions_artifact_idx').on(t.artifactSha256)],
);

/**
 * A real-time scoring API: `POST /api/v1/endpoints/{name}/predict`. The name is unique across the
 * instance (the URL carries no project, and API key scopes name it: `score:<name>`). It serves the
 * model's champion, or `pinnedVersionId` when set. With `shadowVersionId` set, each answered request is
 * also scored by that version after the answer, and logged (`prediction_log.shadow`), never returned.
 */
export const endpoints = pgTable(
  'endpoints',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    projectId: uuid('project_id')
      .notNull()
      .references(() => projects.id, { onDelete: 'cascade' }),
    name: text('name').notNull().unique(),
    modelId: uuid('model_id')
      .notNull()
      .references(() => models.id, { onDelete: 'no action' }),
    pinnedVersionId: uuid('pinned_version_id').references(() => modelVersions.id, { onDelete: 'no action' }),
    /** A challenger version of the same model, scored in the shadow of each request (scores logged, not returned). */
    shadowVersionId: uuid('shadow_version_id').references(() => modelVersions.id, { onDelete: 'set null' }),
    description: text('description').notNull().default(''),
    /**
     * The decision threshold: the returned label is the positive class when its probability is at
     * least this, else the negative one. Null: the model's own label (0.5 for Stagebook's models).
     */
    threshold: doublePrecision('threshold'),
    /** Set on production endpoints: the hash of the deployed bundle that declares it (deployments manage it). */
    bundleHash: text('bundle_hash'),
    createdBy: text('created_by').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('endpoints_project_idx').on(t.projectId), index('endpoints_model_idx').on(t.modelId), check('endpoints_name_format', sql`${t.name} ~ '^[a-z][a-z0-9_-]{0,62}$'`), check('endpoints_threshold_range', sql`${t.threshold} is null or (${t.threshold} >= 0 and ${t.threshold} <= 1)`)],
);

/**
 * Request counts and latency per endpoint per minute, as each serving process saw them. A process
 * keeps the running totals of the current minute and upserts its own row (so a flush repeated within
 * the minute overwrites, never double counts); readers sum over processes. Latency is a histogram
 * over fixed bucket bounds (server/scoring/request-stats.ts) so percentiles can be merged.
 */
export const endpointRequestStats = pgTable(
  'endpoint_request_stats',
  {
    endpointId: uuid('endpoint_id')
      .notNull()
      .references(() => endpoints.id, { onDelete: 'cascade' }),
    minute: timestamp('minute', { withTimezone: true }).notNull(),
    /** The serving process (random per start). */
    process: text('process').notNull(),
    requests: integer('requests').notNull().default(0),
    /** Records scored by the successful requests. */
    records: integer('records').notNull().default(0),
    clientErrors: integer('client_errors').notNull().default(0),
    serverErrors: integer('server_errors').notNull().default(0),
    latencyBuckets: integer('latency_buckets').array().notNull(),
    latencySumMs: doublePrecision('latency_sum_ms').notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.endpointId, t.minute, t.process] }), index('endpoint_request_stats_minute_idx').on(t.minute)],
);

/**
 * What endpoints answered, one row per scored record, written in batches by the serving process
 * (services/scoring/prediction-log-recorder.ts) and kept 30 days. `record` is the raw input as the
 * client sent it (extra fields, such as an `id` to join labels on, included).
 */
export const predictionLog = pgTable(
  'prediction_log',
  {
    /**
     * No foreign keys (and no row id): a key check per row would cost the writes more than the rest.
     * Writes join `endpoints`, so no row names an endpoint deleted before it was written; rows of an
     * endpoint deleted later stay until retention removes them.
     */
    endpointId: uuid('endpoint_id').notNull(),
    modelVersionId: uuid('model_version_id').notNull(),
    bundleHash: text('bundle_hash'),
    loggedAt: timestamp('logged_at', { withTimezone: true }).notNull(),
    requestId: text('request_id'),
    /** json, not jsonb: stored as sent, which costs the writes far less; drift reads few rows of it. */
    record: json('record').$type<Record<string, unknown>>().notNull(),
    /** Probability of the positive class. */
    probability: doublePrecision('probability').notNull(),
    label: text('label').notNull(),
    /** Scored by the endpoint's shadow version after the answer, not returned: drift and stats skip these rows. */
    shadow: boolean('shadow').notNull().default(false),
    /**
     * Set only while a shadow version is configured: the served row and its shadow row of one record
     * share it (a random id per request and the record's index), so the two can be joined.
     */
    pairId: text('pair_id'),
  },
  // One index: every reader (drift, retention) asks by endpoint and time.
  (t) => [index('prediction_log_endpoint_logged_idx').on(t.endpointId, t.loggedAt)],
);

/** One drift computation of an endpoint over a window of its logged predictions (charted over time). */
export const driftReports = pgTable(
  'drift_reports',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    endpointId: uuid('endpoint_id')
      .notNull()
      .references(() => endpoints.id, { onDelete: 'cascade' }),
    modelVersionId: uuid('model_version_id').notNull(),
    windowStart: timestamp('window_start', { withTimezone: true }).notNull(),
    windowEnd: timestamp('window_end', { withTimezone: true }).notNull(),
    computedAt: timestamp('computed_at', { withTimezone: true }).notNull().defaultNow(),
    /** Logged records in the window that were compared. */
    rows: integer('rows').notNull(),
    /** Per feature: PSI, test (ks | chi_square), statistic, p-value (server/ml/drift.ts FeatureDrift[]). */
    features: jsonb('features').$type<Record<string, unknown>[]>().notNull(),
    maxPsi: doublePrecision('max_psi'),
    predictionPsi: doublePrecision('prediction_psi'),
    /** AUC of the logged predictions against a labels dataset, when one was given and both classes were found. */
    auc: doublePrecision('auc'),
    labelledRows: integer('labelled_rows'),
    /** Who asked: a user, a key, a scenario run. */
    computedBy: text('computed_by').notNull(),
  },
  (t) => [index('drift_reports_endpoint_computed_idx').on(t.endpointId, t.computedAt)],
);

/**
 * A model version evaluated on a dataset (any version, any dataset of its project): the metrics of
 * server/ml/evaluate.ts (AUC with interval, log loss, ROC, calibration, the confusion matrix at 0.5)
 * on that dataset's labelled rows as they were (`fingerprint`). Kept so the model page lists them
 * and compares versions on the same dataset.
 */
export const modelEvaluations = pgTable(
  'model_evaluations',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    modelVersionId: uuid('model_version_id')
      .notNull()
      .references(() => modelVersions.id, { onDelete: 'cascade' }),
    dataset: text('dataset').notNull(),
    environment: text('environment', { enum: ['design', 'production'] }).notNull(),
    fingerprint: text('fingerprint').notNull(),
    rows: integer('rows').notNull(),
    metrics: jsonb('metrics').$type<Record<string, unknown>>().notNull(),
    createdBy: text('created_by').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('model_evaluations_version_idx').on(t.modelVersionId)],
);
