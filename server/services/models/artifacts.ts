import { createHash } from 'node:crypto';
import { eq } from 'drizzle-orm';
import type { DbOrTx } from '@/db/client';
import { artifacts } from '@/db/schema';

export const ONNX_MEDIA_TYPE = 'application/onnx';

export const sha256Of = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** Stores bytes under their sha256 (once: identical bytes are already there) and returns the hash. */
export async function putArtifact(tx: DbOrTx, bytes: Uint8Array, mediaType = ONNX_MEDIA_TYPE): Promise<string> {
  const sha256 = sha256Of(bytes);
  await tx.insert(artifacts).values({ sha256, mediaType, size: bytes.byteLength, content: bytes }).onConflictDoNothing({ target: artifacts.sha256 });
  return sha256;
}

export async function readArtifact(db: DbOrTx, sha256: string): Promise<Uint8Array> {
  const [row] = await db.select({ content: artifacts.content }).from(artifacts).where(eq(artifacts.sha256, sha256));
  if (!row) throw new Error(`artifact ${sha256} is missing`);
  return row.content;
}
