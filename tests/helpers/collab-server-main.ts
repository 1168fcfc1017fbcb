/**
 * The collaboration server as its own process, for the kill tests: `node --import tsx
 * tests/helpers/collab-server-main.ts` with DATABASE_URL (already migrated) and PORT. Role web
 * without Next: /trpc and /collab. SIGTERM closes it gracefully; SIGKILL is the point of the test.
 * COLLAB_FLUSH_DELAY_MS overrides the persistence batching window; STAGEBOOK_COLLAB_RELAY=postgres relays
 * between such processes (it says `listening` once its LISTEN is in place).
 */
import { openDatabase } from '@/db/client';
import { buildApp } from '@/server/app';
import { loadEnv } from '@/server/env';

async function main(): Promise<void> {
  const env = loadEnv();
  if (!env.DATABASE_URL) throw new Error('DATABASE_URL is required');
  const flushDelayMs = process.env.COLLAB_FLUSH_DELAY_MS ? Number(process.env.COLLAB_FLUSH_DELAY_MS) : undefined;
  const database = await openDatabase({ url: env.DATABASE_URL, poolSize: 5 });
  const app = await buildApp({
    db: database.db,
    driver: database.driver,
    role: 'web',
    collab: { relay: env.STAGEBOOK_COLLAB_RELAY === 'postgres', ...(flushDelayMs === undefined ? {} : { persistence: { flushDelayMs } }) },
  });
  await app.listen({ port: env.PORT, host: '127.0.0.1' });
  await app.collab?.relayReady();
  console.log(`collab-server: listening on ${env.PORT}, pid ${process.pid}`);
  process.once('SIGTERM', () => {
    void app
      .close()
      .then(() => database.close())
      .then(() => {
        console.log('collab-server: stopped');
        process.exit(0);
      });
  });
}

main().catch((err: unknown) => {
  console.error('collab-server: fatal', err);
  process.exit(1);
});
