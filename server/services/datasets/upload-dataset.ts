import { randomBytes } from 'node:crypto';
import { and, eq, sql } from 'drizzle-orm';
import type { z } from 'zod';
import { datasetMetrics, datasets, type DatasetColumnType, type Environment } from '@/db/schema';
import { emitAudit } from '../audit/emit';
import { auditMetaOf, type ServiceCtx } from '../context';
import { conflict, invalid, ServiceError } from '../errors';
import { pgTypeOf } from '../../domain/column-types';
import { CsvRejected, CsvTooLarge, startCsvLoad, type CsvLoad } from './csv-load';
import { metricsOfProfile, profileTable } from './dataset-profile';
import { datasetView, type DatasetView } from './dataset-view';
import type { UploadDatasetQuery } from './schemas';
import { CopyRefused, ensureProjectStorage, ident, schemaNameOf, withDataTransaction } from './storage';

export type UploadProgress = { bytesRead: number; rows: number };
export type UploadResult = { dataset: DatasetView; rows: number; bytes: number; created: boolean };

/**
 * Replaces (or creates) a source dataset from a CSV stream. The rows go into a staging table inside
 * one transaction that finally swaps it in by rename, writes the metadata and the audit events: a
 * rejected file leaves the previous data and metadata exactly as they were.
 */
export async function uploadDataset({
  ctx,
  input,
  csv,
  onProgress,
}: {
  ctx: ServiceCtx;
  input: z.output<typeof UploadDatasetQuery> & { projectId: string };
  csv: AsyncIterable<Buffer | string>;
  onProgress?: (p: UploadProgress) => void;
}): Promise<UploadResult> {
  const meta = auditMetaOf(ctx);
  const env: Environment = input.environment;
  const [existing] = await ctx.db
    .select({ kind: datasets.kind })
    .from(datasets)
    .where(and(eq(datasets.projectId, input.projectId), eq(datasets.environment, env), eq(datasets.name, input.name)));
  if (existing?.kind === 'built') throw conflict(`"${input.name}" is built by a cell; upload under another name`, 'name');
  const storage = await ensureProjectStorage(ctx.db, input.projectId);
  return loadCsv(ctx, input, csv, storage.roleName, meta, onProgress);
}

async function loadCsv(
  ctx: ServiceCtx,
  input: z.output<typeof UploadDatasetQuery> & { projectId: string },
  csv: AsyncIterable<Buffer | string>,
  roleName: string,
  meta: ReturnType<typeof auditMetaOf>,
  onProgress: ((p: UploadProgress) => void) | undefined,
): Promise<UploadResult> {
  const env: Environment = input.environment;
  let load: CsvLoad;
  try {
    load = await startCsvLoad(csv, { types: input.types as Record<string, DatasetColumnType> | undefined, encoding: input.encoding, onProgress });
  } catch (err) {
    throw asServiceError(err);
  }
  const schemaName = schemaNameOf(input.projectId, env);
  const staging = `_sb_stage_${randomBytes(8).toString('hex')}`;
  const target = `${ident(schemaName)}.${ident(staging)}`;
  try {
    return await withDataTransaction(ctx.db, async (s) => {
      // Timestamps without an offset are UTC, whatever the server's time zone.
      await s.query(`SET LOCAL timezone = 'UTC'`);
      const columnsSql = load.columns.map((c) => `${ident(c.name)} ${pgTypeOf[c.type]}`).join(', ');
      await s.query(`CREATE TABLE ${target} (${columnsSql})`);
      const copied = await s.copyCsv(target, load.batches());
      const stats = load.stats();
      if (copied !== stats.rows) throw new Error(`COPY loaded ${copied} rows of ${stats.rows}`);
      await s.query(`ALTER TABLE ${target} OWNER TO ${ident(roleName)}`);
      // Profiled before the lock below: a fresh upload has metrics and profiles at once.
      const profile = await profileTable(s.query, { projectId: input.projectId, environment: env, table: staging }, stats.columns, stats.rows);

      // Publish: lock the metadata row, swap the table in, record what happened.
      const [current] = await s.tx
        .select()
        .from(datasets)
        .where(and(eq(datasets.projectId, input.projectId), eq(datasets.environment, env), eq(datasets.name, input.name)))
        .for('update');
      if (current?.kind === 'built') throw conflict(`"${input.name}" is built by a cell; upload under another name`, 'name');
      await s.query(`DROP TABLE IF EXISTS ${ident(schemaName)}.${ident(input.name)}`);
      await s.query(`ALTER TABLE ${target} RENAME TO ${ident(input.name)}`);
      const values = { columns: stats.columns, rowCount: stats.rows, fingerprint: stats.sha256, updatedAt: sql`now()` };
      const [row] = current
        ? await s.tx.update(datasets).set(values).where(eq(datasets.id, current.id)).returning()
        : await s.tx
            .insert(datasets)
            .values({ projectId: input.projectId, environment: env, name: input.name, kind: 'source', ...values })
            .returning();
      if (!row) throw new Error('dataset upsert returned no row');
      await s.tx.insert(datasetMetrics).values({ datasetId: row.id, rowCount: stats.rows, columns: metricsOfProfile(profile), profile: profile as unknown as Record<string, unknown>[] });
      const auditBase = { target: { type: 'dataset', id: row.id }, projectId: input.projectId };
      if (!current) {
        await emitAudit(s.tx, meta, { ...auditBase, action: 'dataset.create', details: { name: row.name, environment: env, kind: 'source', columns: stats.columns } });
      }
      await emitAudit(s.tx, meta, {
        ...auditBase,
        action: 'dataset.upload',
        details: {
          name: row.name,
          environment: env,
          rows: stats.rows,
          bytes: stats.bytes,
          fingerprint: stats.sha256,
          ...(current ? { before: { rows: Number(current.rowCount), fingerprint: current.fingerprint, columns: current.columns } } : {}),
        },
      });
      return { dataset: datasetView(row), rows: stats.rows, bytes: stats.bytes, created: !current };
    });
  } catch (err) {
    load.abort();
    if (err instanceof CopyRefused) {
      const column = load.columns.findIndex((c) => c.name === err.column);
      throw asServiceError(new CsvRejected({ line: load.lineOfRow(err.row), ...(column >= 0 ? { column: column + 1, columnName: err.column } : {}), message: err.message }));
    }
    throw asServiceError(err);
  }
}

function asServiceError(err: unknown): unknown {
  if (err instanceof CsvRejected) return invalid(`the CSV was not loaded: ${err.message}`, 'body');
  if (err instanceof CsvTooLarge) return new ServiceError('PayloadTooLarge', err.message);
  return err;
}
