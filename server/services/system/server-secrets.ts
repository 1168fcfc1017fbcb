import { randomBytes } from 'node:crypto';
import { eq } from 'drizzle-orm';
import type { Db } from '@/db/client';
import { serverSecrets } from '@/db/schema';

const cache = new WeakMap<Db, Map<string, Promise<Buffer>>>();

/**
 * A named secret shared by every process on this database, created on first use. The first writer
 * wins (ON CONFLICT DO NOTHING) and everyone then reads the stored value, so concurrent first starts
 * agree. Cached per process: a secret never changes once created.
 */
export function serverSecret(db: Db, name: string): Promise<Buffer> {
  let byName = cache.get(db);
  if (!byName) cache.set(db, (byName = new Map()));
  let secret = byName.get(name);
  if (!secret) {
    secret = loadOrCreate(db, name);
    byName.set(name, secret);
    secret.catch(() => byName.delete(name));
  }
  return secret;
}

async function loadOrCreate(db: Db, name: string): Promise<Buffer> {
  await db.insert(serverSecrets).values({ name, secret: randomBytes(32) }).onConflictDoNothing();
  const [row] = await db.select({ secret: serverSecrets.secret }).from(serverSecrets).where(eq(serverSecrets.name, name));
  if (!row) throw new Error(`server secret ${name} could not be read back`);
  return Buffer.from(row.secret);
}
