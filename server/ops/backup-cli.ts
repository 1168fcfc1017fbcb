import type { Env } from '../env';
import { acquireHomeLock } from '../home-lock';
import { backupHome, backupServer, restoreHome, restoreServer } from './backup';

const USAGE = `Usage:
  stagebook backup --out FILE    embedded home: stop Stagebook first; DATABASE_URL: online pg_dump
  stagebook restore FILE         replaces the database (and the embedded Temporal state) with FILE's
`;

/** After a restore, the chain says whether what came back is whole. */
async function verifyRestored(env: Env): Promise<boolean> {
  const { openEnvDatabase } = await import('../main');
  const { verifyAuditChain } = await import('../services/audit/verify-audit-chain');
  const database = await openEnvDatabase(env);
  try {
    await database.migrate();
    const result = await verifyAuditChain(database.db);
    if (result.ok) {
      console.log(`audit chain intact: ${result.events} events, head ${result.head}`);
      return true;
    }
    console.error(`audit chain BROKEN at event seq=${result.brokenAt.seq}: ${result.brokenAt.reason}`);
    return false;
  } finally {
    await database.close();
  }
}

export async function runBackupCli(command: 'backup' | 'restore', args: string[], env: Env): Promise<number> {
  let out: string | undefined;
  let file: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (command === 'backup' && a === '--out') out = args[++i];
    else if (command === 'backup' && a.startsWith('--out=')) out = a.slice('--out='.length);
    else if (command === 'restore' && !a.startsWith('-') && file === undefined) file = a;
    else {
      console.error(`unknown option ${a}\n\n${USAGE}`);
      return 2;
    }
  }
  if (command === 'backup' && !out) {
    console.error(`backup needs --out FILE\n\n${USAGE}`);
    return 2;
  }
  if (command === 'restore' && !file) {
    console.error(`restore needs the backup FILE\n\n${USAGE}`);
    return 2;
  }
  try {
    if (env.DATABASE_URL) {
      if (command === 'backup') {
        const m = await backupServer(env.DATABASE_URL, out!);
        console.log(`backed up the database (PostgreSQL ${m.postgresMajor}, pg_dump) to ${out}`);
        return 0;
      }
      await restoreServer(env.DATABASE_URL, file!);
      console.log(`restored the database from ${file}`);
      return (await verifyRestored(env)) ? 0 : 1;
    }
    // The embedded server and Temporal dev server must be stopped: the lock proves nothing runs.
    const lock = acquireHomeLock(env.homeDir);
    try {
      if (command === 'backup') {
        const m = await backupHome(env.homeDir, out!);
        console.log(`backed up ${m.files.join(', ')} of ${env.homeDir} to ${out}`);
        return 0;
      }
      const { movedTo } = await restoreHome(env.homeDir, file!);
      console.log(`restored ${env.homeDir} from ${file}${movedTo ? `; what was there is kept in ${movedTo}` : ''}`);
      return (await verifyRestored(env)) ? 0 : 1;
    } finally {
      lock.release();
    }
  } catch (err) {
    console.error(`${command} failed: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
}
