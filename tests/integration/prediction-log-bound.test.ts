/**
 * The prediction log's crash bound: a prediction is committed within one flush interval of being
 * recorded, so a SIGKILL loses at most the predictions of the last interval (the crash test checks
 * the same against real kills). Waiting a whole interval before writing, as the recorder once did,
 * left each row in memory for an interval plus its write, and a crash during that write lost two
 * windows' worth.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PredictionLogRecorder } from '@/server/services/scoring/prediction-log-recorder';
import { callerFor, newUser } from '../helpers/api';
import { openTestDatabase, type TestDatabase } from '../helpers/db';
import { disposeWithProjectRoles } from '../helpers/datasets';
import { tinyEndpoint } from '../helpers/models';

const INTERVAL_MS = 600;

let t: TestDatabase;
let endpointId: string;
let versionId: string;

beforeAll(async () => {
  t = await openTestDatabase('postgres');
  const user = await newUser(t.db, 'bound');
  const a = callerFor(t.db, user);
  const team = await a.teams.create({ name: 'Bound' });
  const project = await a.projects.create({ teamId: team.id, name: 'Bound' });
  const { endpoint } = await tinyEndpoint(t.db, user, project.id, 'bound');
  endpointId = endpoint.id;
  versionId = String((await t.query('select id from model_versions order by created_at desc limit 1'))[0]!.id);
}, 120_000);

afterAll(async () => {
  if (t) await disposeWithProjectRoles(t);
});

describe('the prediction log on a Postgres server', () => {
  it('commits every prediction within one flush interval of recording it, in the order served', async () => {
    const log = new PredictionLogRecorder(t.db, { intervalMs: INTERVAL_MS });
    const recordedAt = new Map<string, number>();
    const committedAt = new Map<string, number>();
    const started = Date.now();
    let n = 0;
    // Rows arrive steadily for three intervals, so some land while a write is in flight.
    while (Date.now() - started < 3 * INTERVAL_MS) {
      const requestId = `bound-${n++}`;
      recordedAt.set(requestId, Date.now());
      log.record({ endpointId, versionId, bundleHash: null, at: Date.now(), requestId, record: { x: n, kind: 'a' }, probability: 0.5, label: 'no' });
      const rows = await t.query(`select request_id from prediction_log where request_id like 'bound-%'`);
      const now = Date.now();
      for (const r of rows) if (!committedAt.has(String(r.request_id))) committedAt.set(String(r.request_id), now);
      await new Promise((r) => setTimeout(r, 15));
    }
    const deadline = Date.now() + 5 * INTERVAL_MS;
    while (committedAt.size < recordedAt.size && Date.now() < deadline) {
      const now = Date.now();
      for (const r of await t.query(`select request_id from prediction_log where request_id like 'bound-%'`)) if (!committedAt.has(String(r.request_id))) committedAt.set(String(r.request_id), now);
      await new Promise((r) => setTimeout(r, 15));
    }
    expect(committedAt.size).toBe(recordedAt.size);
    // Seen committed (at the first poll that found it) no later than one interval after it was recorded.
    const late = [...recordedAt].map(([id, at]) => ({ id, ms: committedAt.get(id)! - at })).filter((r) => r.ms > INTERVAL_MS);
    expect(late, 'predictions that stayed in memory past one flush interval').toEqual([]);
    // What a crash leaves is a prefix: no prediction is committed before one served earlier.
    const seen = [...recordedAt.keys()].map((id) => committedAt.get(id)!);
    const outOfOrder = seen.flatMap((at, i) => (i > 0 && at < seen[i - 1]! ? [i] : []));
    expect(outOfOrder).toEqual([]);
  }, 60_000);
});
