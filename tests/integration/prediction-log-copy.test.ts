/**
 * What the prediction log stores is what was recorded: every field as given (binary COPY writes
 * uuids, times, doubles and UTF-8 text without escaping or formatting), rows of an endpoint that no
 * longer exists left out, a NUL stored as U+FFFD, a row Postgres refuses for its data left out and
 * reported (the rest written, nothing retried forever), and a chunk that fails for another reason
 * kept in memory for the next flush, never a crash or a half-written chunk.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PredictionLogRecorder, type LoggedPrediction } from '@/server/services/scoring/prediction-log-recorder';
import { callerFor, newUser } from '../helpers/api';
import { disposeWithProjectRoles } from '../helpers/datasets';
import { drivers, openTestDatabase, type TestDatabase } from '../helpers/db';
import { tinyEndpoint } from '../helpers/models';

describe.each(drivers)('the prediction log written by COPY on %s', (driver) => {
  let t: TestDatabase;
  let endpointId: string;
  let versionId: string;

  beforeAll(async () => {
    t = await openTestDatabase(driver);
    const user = await newUser(t.db, 'copylog');
    const a = callerFor(t.db, user);
    const team = await a.teams.create({ name: 'Copy log' });
    const project = await a.projects.create({ teamId: team.id, name: 'Copy log' });
    const { endpoint } = await tinyEndpoint(t.db, user, project.id, 'copylog');
    endpointId = endpoint.id;
    versionId = String((await t.query('select id from model_versions order by created_at desc limit 1'))[0]!.id);
  }, 120_000);

  afterAll(async () => {
    if (t) await disposeWithProjectRoles(t);
  });

  const stored = async (prefix: string) =>
    (
      await t.query(
        `select endpoint_id::text, model_version_id::text, bundle_hash, (extract(epoch from logged_at) * 1000)::float8 as at, request_id, record::text as record, probability, label, shadow, pair_id
         from prediction_log where request_id like $1 or (request_id is null and record::text like $2) order by logged_at, request_id`,
        [`${prefix}%`, `%${prefix}%`],
      )
    ).map((r): Record<string, unknown> => ({ ...r, probability: Number(r.probability) }));

  it('stores each field as recorded: text with quotes, tabs, newlines, backslashes and emoji, nulls, NaN and times to the millisecond', async () => {
    const log = new PredictionLogRecorder(t.db, { intervalMs: 60_000, chunkRows: 3 });
    // Recent: each flush may run the retention pass, which deletes rows older than 30 days.
    const base = Date.now() - 60_000;
    const rows: LoggedPrediction[] = [
      { endpointId, versionId, bundleHash: 'abc123', at: base, requestId: 'f-1', record: { x: 1.5, kind: 'a "quoted"\tword\nand \\ back', note: 'déjà vu 🙂' }, probability: 0.25, label: 'yes' },
      { endpointId, versionId, bundleHash: null, at: base + 1, requestId: null, record: { marker: 'f-null-request', n: null }, probability: Number.NaN, label: 'ünïcode\tlabel', shadow: true, pairId: 'p-1:0' },
      { endpointId, versionId, bundleHash: null, at: base + 2, requestId: 'f-3', record: [1, 2, 3], probability: Infinity, label: 'no', shadow: false, pairId: null },
      { endpointId, versionId, bundleHash: null, at: base - 3_600_007, requestId: 'f-4', record: { old: true }, probability: 1, label: 'back\\slash' },
    ];
    for (const r of rows) log.record(r);
    await log.flush();
    expect(log.written).toBe(rows.length);
    const got = await stored('f-');
    const expected = rows
      .map((r) => ({
        endpoint_id: endpointId,
        model_version_id: versionId,
        bundle_hash: r.bundleHash,
        at: r.at,
        request_id: r.requestId,
        record: JSON.stringify(r.record),
        // Non-finite probabilities are stored as NaN.
        probability: Number.isFinite(r.probability) ? r.probability : Number.NaN,
        label: r.label,
        shadow: r.shadow === true,
        pair_id: r.pairId ?? null,
      }))
      .sort((a, b) => a.at - b.at);
    expect(got).toEqual(expected);
  });

  it('leaves out the rows of an endpoint that does not exist and writes the others', async () => {
    const log = new PredictionLogRecorder(t.db, { intervalMs: 60_000 });
    const gone = '00000000-0000-4000-8000-000000000000';
    log.record({ endpointId, versionId, bundleHash: null, at: Date.now(), requestId: 'g-kept-1', record: {}, probability: 0.5, label: 'no' });
    log.record({ endpointId: gone, versionId, bundleHash: null, at: Date.now(), requestId: 'g-gone', record: {}, probability: 0.5, label: 'no' });
    log.record({ endpointId, versionId, bundleHash: null, at: Date.now(), requestId: 'g-kept-2', record: {}, probability: 0.5, label: 'no' });
    await log.flush();
    expect((await stored('g-')).map((r) => r.request_id)).toEqual(['g-kept-1', 'g-kept-2']);
    expect(log.buffered).toBe(0);
  });

  const quietErrors = async (run: () => Promise<void>): Promise<string[]> => {
    const errors: string[] = [];
    const original = console.error;
    console.error = (...args: unknown[]) => void errors.push(args.map(String).join(' '));
    try {
      await run();
    } finally {
      console.error = original;
    }
    return errors;
  };

  it('stores a NUL, which Postgres text cannot hold, as U+FFFD instead of refusing the row', async () => {
    const log = new PredictionLogRecorder(t.db, { intervalMs: 60_000 });
    log.record({ endpointId, versionId, bundleHash: null, at: Date.now(), requestId: 'n-1', record: { s: 'a\u0000b' }, probability: 0.5, label: 'bad\u0000label' });
    log.record({ endpointId, versionId, bundleHash: null, at: Date.now() + 1, requestId: 'n-2', record: {}, probability: 0.5, label: '\u0000' });
    await log.flush();
    expect(log.written).toBe(2);
    expect((await stored('n-')).map((r) => [r.request_id, r.label, r.record])).toEqual([
      ['n-1', 'bad\ufffdlabel', '{"s":"a\\u0000b"}'],
      ['n-2', '\ufffd', '{}'],
    ]);
  });

  it('writes every row but the ones Postgres refuses for their data, reports those once and never retries them', async () => {
    await t.query(`alter table prediction_log add constraint test_refuse check (label <> 'refuse-me') not valid`);
    try {
      const log = new PredictionLogRecorder(t.db, { intervalMs: 60_000, chunkRows: 4 });
      const labels = ['no', 'refuse-me', 'yes', 'no', 'no', 'yes', 'refuse-me', 'no', 'yes'];
      labels.forEach((label, i) => log.record({ endpointId, versionId, bundleHash: null, at: Date.now() + i, requestId: `r-${i}`, record: {}, probability: 0.5, label }));
      const errors = await quietErrors(() => log.flush());
      expect(errors).toHaveLength(2);
      expect(errors[0]).toContain('request r-1 ');
      expect(errors[1]).toContain('request r-6 ');
      expect(errors[0]).toContain('test_refuse');
      expect(log.refused).toBe(2);
      expect(log.written).toBe(7);
      expect(log.buffered).toBe(0);
      expect((await stored('r-')).map((r) => r.request_id)).toEqual(['r-0', 'r-2', 'r-3', 'r-4', 'r-5', 'r-7', 'r-8']);
      // Nothing is retried: a later flush writes only what is new.
      log.record({ endpointId, versionId, bundleHash: null, at: Date.now() + 20, requestId: 'r-9', record: {}, probability: 0.5, label: 'no' });
      expect(await quietErrors(() => log.flush())).toEqual([]);
      expect(log.written).toBe(8);
      expect((await stored('r-')).map((r) => r.request_id)).toHaveLength(8);
    } finally {
      await t.query('alter table prediction_log drop constraint test_refuse');
    }
  });

  it('keeps a chunk in memory when the write fails for another reason, and writes it once it can', async () => {
    const log = new PredictionLogRecorder(t.db, { intervalMs: 60_000 });
    log.record({ endpointId, versionId, bundleHash: null, at: Date.now(), requestId: 'h-1', record: {}, probability: 0.5, label: 'no' });
    log.record({ endpointId, versionId, bundleHash: null, at: Date.now() + 1, requestId: 'h-2', record: {}, probability: 0.5, label: 'yes' });
    await t.query('alter table prediction_log rename to prediction_log_away');
    let errors: string[];
    try {
      errors = await quietErrors(() => log.flush());
    } finally {
      await t.query('alter table prediction_log_away rename to prediction_log');
    }
    // (the retention pass, due on a new recorder's first flush, fails the same way and says so apart)
    const writes = errors.filter((e) => e.startsWith('could not write the prediction log'));
    expect(writes).toHaveLength(1);
    expect(writes[0]).toMatch(/relation "prediction_log" does not exist/);
    expect(log.buffered).toBe(2);
    expect(log.written).toBe(0);
    expect(log.refused).toBe(0);
    await log.flush();
    expect(log.buffered).toBe(0);
    expect((await stored('h-')).map((r) => r.request_id)).toEqual(['h-1', 'h-2']);
  });
});
