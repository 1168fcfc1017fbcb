import { createHash, randomBytes } from 'node:crypto';
import { and, eq, sql } from 'drizzle-orm';
import type { z } from 'zod';
import { datasets, type DatasetColumnSpec } from '@/db/schema';
import { FeatureSchema } from '@/server/ml/onnx/feature-schema';
import type { BatchModel } from '@/server/scoring/category-codes';
import { RecordInputError, predict } from '@/server/scoring/session-cache';
import { emitAudit } from '../audit/emit';
import { auditMetaOf, type ServiceCtx } from '../context';
import { datasetView, type DatasetView } from '../datasets/dataset-view';
import { findDataset } from '../datasets/find-dataset';
import { driverOf, ensureProjectStorage, ident, schemaNameOf, type DataSession } from '../datasets/storage';
import { conflict, invalid, notFound } from '../errors';
import { scoringRuntime } from '../scoring/runtime';
import { readArtifact } from './artifacts';
import { findModel, findModelVersion, findVersionById } from './list-models';
import { selectList, withProjectRole } from './read-dataset';
import { planCopy, scoreByCopy } from './score-by-copy';
import { ScoreDatasetInput } from './schemas';

export const SCORE_BATCH_ROWS = 10_000;

export type ScoreProgress = { rowsScored: number; totalRows: number };
export type ScoreDatasetResult = { dataset: DatasetView; rows: number; model: string; version: number; seconds: number };

type Scorer = { modelName: string; version: number; artifactSha256: string; schema: FeatureSchema; model: BatchModel };

async function resolveScorer(ctx: ServiceCtx, input: z.output<typeof ScoreDatasetInput>): Promise<Scorer> {
  const runtime = scoringRuntime(ctx.db);
  const sessionOf = (sha: string) => runtime.batchSessions.get(sha, () => readArtifact(ctx.db, sha));
  if (input.endpoint) {
    const c = await runtime.endpoint(input.endpoint);
    if (c.projectId !== input.projectId) throw notFound(`endpoint "${input.endpoint}"`);
    return { modelName: c.modelName, version: c.version, artifactSha256: c.artifactSha256, schema: c.schema, model: await sessionOf(c.artifactSha256) };
  }
  const model = await findModel(ctx.db, { projectId: input.projectId, name: input.model! });
  const v = input.version ? await findModelVersion(ctx.db, model.id, model.name, input.version) : model.championVersionId ? await findVersionById(ctx.db, model.championVersionId) : null;
  if (!v) throw invalid(`model "${model.name}" has no champion: name a version`, 'version');
  const sha = v.artifactSha256;
  return { modelName: model.name, version: v.version, artifactSha256: sha, schema: FeatureSchema.parse(v.featureSchema), model: await sessionOf(sha) };
}

/** A column name not yet taken: `prediction`, else `prediction_2`, ... */
function freeName(base: string, taken: Set<string>): string {
  let name = base;
  for (let i = 2; taken.has(name); i++) name = `${base}_${i}`;
  taken.add(name);
  return name;
}

type ScoringJob = {
  s: DataSession;
  scorer: Scorer;
  source: { name: string };
  outputName: string;
  featureColumns: DatasetColumnSpec[];
  sourceTable: string;
  stagingTable: string;
  out: { prediction: string; probability: string; version: string };
  signal: AbortSignal | undefined;
  onRows: (rows: number) => void;
};

/**
 * Binary COPY out, tensors built per column, binary COPY back into the staging table
 * (score-by-copy.ts). Null when a feature column's type is not one that path decodes.
 */
async function scoreByBinaryCopy(ctx: ServiceCtx, projectId: string, job: ScoringJob, copyFromStdin: DataSession['copyFromStdin']): Promise<number | null> {
  const { s, out } = job;
  const table = (
    await s.query(`SELECT attname AS name, atttypid::int AS type_id FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`, [job.sourceTable])
  ).map((r) => ({ name: String(r.name), typeId: Number(r.type_id) }));
  const plan = planCopy(table, job.featureColumns, job.scorer.schema);
  if (!plan) return null;
  await s.query(
    `CREATE TABLE ${job.stagingTable} AS SELECT d.*, NULL::text AS ${ident(out.prediction)}, NULL::float8 AS ${ident(out.probability)}, NULL::bigint AS ${ident(out.version)} FROM ${job.sourceTable} AS d WITH NO DATA`,
  );
  const storage = await ensureProjectStorage(ctx.db, projectId);
  return scoreByCopy({
    pool: driverOf(ctx.db).pool,
    roleName: storage.roleName,
    sourceTable: job.sourceTable,
    stagingTable: job.stagingTable,
    sourceName: job.source.name,
    outputName: job.outputName,
    plan,
    model: job.scorer.model,
    // No pool thread for batch scoring: on 2 cores it measured slower (bench/batch-scoring.ts: trees
    // 0.34x vs 0.38x of the COPY floor, LR 0.42x vs 0.55x on the main thread). The session has
    // intra-op threads instead (runtime.batchSessions).
    schema: job.scorer.schema,
    version: job.scorer.version,
    copyFromStdin,
    reportBatchRows: SCORE_BATCH_ROWS,
    ...(job.signal ? { signal: job.signal } : {}),
    onRows: job.onRows,
  });
}

/**
 * For feature columns the binary COPY path does not decode: a cursor feeds batches of SCORE_BATCH_ROWS rows to onnxruntime, the results go
 * to a temporary table and the staging table is built by joining them back on ctid, so the input's
 * other columns never travel through Node.
 */
async function scoreThroughCursor(job: ScoringJob): Promise<number> {
  const { s, scorer, source, sourceTable, out } = job;
  await s.query('CREATE TEMP TABLE sb_scores (tid tid NOT NULL, prediction text NOT NULL, probability float8 NOT NULL) ON COMMIT DROP');
  await s.query(`DECLARE sb_score NO SCROLL CURSOR FOR SELECT ctid::text AS sb_tid, ${selectList(job.featureColumns)} FROM ${sourceTable}`);
  let scored = 0;
  for (;;) {
    job.signal?.throwIfAborted();
    const batch = await s.query(`FETCH ${SCORE_BATCH_ROWS} FROM sb_score`);
    if (batch.length === 0) break;
    let predictions: Awaited<ReturnType<typeof predict>>;
    try {
      predictions = await predict(scorer.model, scorer.schema, batch);
    } catch (err) {
      if (err instanceof RecordInputError) {
        const first = err.issues[0]!;
        throw invalid(`row ${scored + first.record + 1} of "${source.name}" cannot be scored: ${first.field}: ${first.message}`, 'dataset');
      }
      throw err;
    }
    await s.query('INSERT INTO sb_scores SELECT * FROM unnest($1::tid[], $2::text[], $3::float8[])', [
      batch.map((r) => r.sb_tid as string),
      predictions.map((p) => p.label),
      predictions.map((p) => p.probabilities.pos),
    ]);
    scored += batch.length;
    job.onRows(scored);
    if (batch.length < SCORE_BATCH_ROWS) break;
  }
  await s.query('CLOSE sb_score');
  await s.query(
    `CREATE TABLE ${job.stagingTable} AS SELECT d.*, sc.prediction AS ${ident(out.prediction)}, sc.probability AS ${ident(out.probability)}, ${scorer.version}::bigint AS ${ident(out.version)} FROM ${sourceTable} AS d JOIN sb_scores AS sc ON sc.tid = d.ctid`,
  );
  return scored;
}

/**
 * Scores every row of a dataset with a model (an endpoint's current version, a model's champion or
 * a named version) into a new dataset: the input's columns plus `prediction` (the label),
 * `probability` (of the positive class) and `model_version`. Rows stream in batches, each scored in
 * one onnxruntime call, into a staging table: through binary COPY both ways (scoreByBinaryCopy), or,
 * for column types that path does not decode, through a cursor and a join on ctid (scoreThroughCursor). All in one
 * transaction, as the project's role for the data and as the application for the metadata and audit: a failure leaves nothing
 * behind and the previous output (if any) as it was. Audited as `model.batch_score`.
 */
export async function scoreDataset({
  ctx,
  input: rawInput,
  control = {},
}: {
  ctx: ServiceCtx;
  input: z.input<typeof ScoreDatasetInput>;
  control?: { signal?: AbortSignal; onProgress?: (p: ScoreProgress) => void };
}): Promise<ScoreDatasetResult> {
  const started = performance.now();
  const meta = auditMetaOf(ctx);
  const input = ScoreDatasetInput.parse(rawInput);
  const scorer = await resolveScorer(ctx, input);
  const env = input.environment;
  const source = await findDataset(ctx.db, { projectId: input.projectId, environment: env, name: input.dataset });
  const byName = new Map(source.columns.map((c) => [c.name, c]));
  const missing = scorer.schema.inputs.filter((f) => !byName.has(f.name)).map((f) => f.name);
  if (missing.length) throw invalid(`dataset "${source.name}" lacks the model's features: ${missing.join(', ')}`, 'dataset');
  const featureColumns = scorer.schema.inputs.map((f) => byName.get(f.name)!);
  const taken = new Set(source.columns.map((c) => c.name));
  const out = { prediction: freeName('prediction', taken), probability: freeName('probability', taken), version: freeName('model_version', taken) };

  const schemaName = ident(schemaNameOf(input.projectId, env));
  const sourceTable = `${schemaName}.${ident(source.name)}`;
  const staging = `_sb_score_${randomBytes(8).toString('hex')}`;
  const total = Number(source.rowCount);

  const onRows = (rows: number) => control.onProgress?.({ rowsScored: rows, totalRows: Math.max(total, rows) });
  const stagingTable = `${schemaName}.${ident(staging)}`;

  return withProjectRole(ctx.db, input.projectId, async (s) => {
    const job = { s, scorer, source, outputName: input.output, featureColumns, sourceTable, stagingTable, out, signal: control.signal, onRows };
    const scored = (await scoreByBinaryCopy(ctx, input.projectId, job, s.copyFromStdin)) ?? (await scoreThroughCursor(job));
    // A cancellation after the last batch still publishes nothing.
    control.signal?.throwIfAborted();
    await s.query('RESET ROLE');

    const [current] = await s.tx
      .select()
      .from(datasets)
      .where(and(eq(datasets.projectId, input.projectId), eq(datasets.environment, env), eq(datasets.name, input.output)))
      .for('update');
    if (current?.kind === 'source') throw conflict(`"${input.output}" is an uploaded dataset; write the scores under another name`, 'output');
    await s.query(`DROP TABLE IF EXISTS ${schemaName}.${ident(input.output)}`);
    await s.query(`ALTER TABLE ${schemaName}.${ident(staging)} RENAME TO ${ident(input.output)}`);
    const columns: DatasetColumnSpec[] = [
      ...source.columns,
      { name: out.prediction, type: 'text', nullable: false },
      { name: out.probability, type: 'numeric', nullable: false },
      { name: out.version, type: 'integer', nullable: false },
    ];
    const fingerprint = createHash('sha256').update(`scored\n${source.fingerprint}\n${scorer.artifactSha256}`).digest('hex');
    const values = { columns, rowCount: scored, fingerprint, updatedAt: sql`now()` };
    const [row] = current
      ? await s.tx.update(datasets).set(values).where(eq(datasets.id, current.id)).returning()
      : await s.tx
          .insert(datasets)
          .values({ projectId: input.projectId, environment: env, name: input.output, kind: 'built', ...values })
          .returning();
    if (!row) throw new Error('dataset upsert returned no row');
    const auditBase = { target: { type: 'dataset', id: row.id }, projectId: input.projectId };
    if (!current) await emitAudit(s.tx, meta, { ...auditBase, action: 'dataset.create', details: { name: row.name, environment: env, kind: 'built', columns } });
    await emitAudit(s.tx, meta, {
      ...auditBase,
      action: 'model.batch_score',
      details: {
        model: scorer.modelName,
        version: scorer.version,
        ...(input.endpoint ? { endpoint: input.endpoint } : {}),
        input: { dataset: source.name, fingerprint: source.fingerprint },
        output: { dataset: row.name, rows: scored, fingerprint },
        environment: env,
      },
    });
    return { dataset: datasetView(row), rows: scored, model: scorer.modelName, version: scorer.version, seconds: (performance.now() - started) / 1000 };
  });
}
