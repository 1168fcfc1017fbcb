import { eq } from 'drizzle-orm';
import type { DbOrTx } from '@/db/client';
import { artifacts, type TrainingDataRef } from '@/db/schema';
import { decodeSeenRows, encodeSeenRows, SEEN_ROWS_MEDIA_TYPE, seenRowSet } from '@/server/ml/seen-rows';
import { putArtifact } from './artifacts';

/** Stores the hashes of a version's training rows as an artifact (once per content); the reference goes into `trainingData.seenRows`. */
export async function storeSeenRows(tx: DbOrTx, hashes: Int32Array, trainRows: ArrayLike<number>, of?: 'model-frame'): Promise<NonNullable<TrainingDataRef['seenRows']>> {
  const set = seenRowSet(hashes, trainRows);
  return { sha256: await putArtifact(tx, encodeSeenRows(set), SEEN_ROWS_MEDIA_TYPE), count: set.length, ...(of ? { of } : {}) };
}

/**
 * The rows a version trained on, or null when that is not known: an imported ONNX file, a version
 * trained before digests existed, or a digest of the other kind than `of` asks for. (A bundle carries the digest with its trained versions.)
 */
export async function loadSeenRows(db: DbOrTx, trainingData: TrainingDataRef | null, of?: 'model-frame'): Promise<Uint32Array | null> {
  // Hashes of dataset rows and of a Python model's frame rows name rows differently: never mixed.
  if (!trainingData?.seenRows || trainingData.seenRows.of !== of) return null;
  const [row] = await db.select({ content: artifacts.content }).from(artifacts).where(eq(artifacts.sha256, trainingData.seenRows.sha256));
  return row ? decodeSeenRows(row.content) : null;
}
