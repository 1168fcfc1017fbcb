import { eq } from 'drizzle-orm';
import type { DbOrTx } from '@/db/client';
import { artifacts, type TrainingDataRef } from '@/db/schema';
import { decodeSeenRows, encodeSeenRows, SEEN_ROWS_MEDIA_TYPE, seenRowSet } from '@/server/ml/seen-rows';
import { putArtifact } from './artifacts';

/** Stores the hashes of a version's training rows as an artifact (once per content); the reference goes into `trainingData.seenRows`. */
export async function storeSeenRows(tx: DbOrTx, hashes: Int32Array, trainRows: ArrayLike<number>): Promise<NonNullable<TrainingDataRef['seenRows']>> {
  const set = seenRowSet(hashes, trainRows);
  return { sha256: await putArtifact(tx, encodeSeenRows(set), SEEN_ROWS_MEDIA_TYPE), count: set.length };
}

/**
 * The rows a version trained on, or null when that is not known: an imported ONNX file, or a version
 * trained before digests existed. (A bundle carries the digest with its trained versions.)
 */
export async function loadSeenRows(db: DbOrTx, trainingData: TrainingDataRef | null): Promise<Uint32Array | null> {
  if (!trainingData?.seenRows) return null;
  const [row] = await db.select({ content: artifacts.content }).from(artifacts).where(eq(artifacts.sha256, trainingData.seenRows.sha256));
  return row ? decodeSeenRows(row.content) : null;
}
