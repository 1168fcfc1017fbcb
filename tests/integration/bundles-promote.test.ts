import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditEvents, runs, teamMembers } from '@/db/schema';
import { and, eq } from 'drizzle-orm';
import type { Actor } from '@/server/services/context';
import { callerFor, newUser, trpcCode } from '../helpers/api';
import { endpointCell, registerTinyVersion } from '../helpers/bundles';
import { drivers, openTestDatabase, type TestDatabase } from '../helpers/db';
import { setNotebookCells, sql, type TestCell } from '../helpers/pipeline';
import { uploadCredit } from '../helpers/models';

describe.each(drivers)('promoting a notebook to a bundle (%s)', (driver) => {
  let t: TestDatabase;
  let editor: Extract<Actor, { type: 'user' }>;
  let viewer: Extract<Actor, { type: 'user' }>;
  let projectId: string;
  let notebookId: string;
  const base: TestCell[] = [
    { id: 'notes', kind: 'markdown', source: '# Credit scoring' },
    sql('clean', 'clean_credit', 'select * from credit where amount is not null'),
    { id: 'nightly', kind: 'scenario', source: 'name: nightly\ntriggers:\n  - type: schedule\n    cron: "0 2 * * *"\nsteps:\n  - type: build\n' },
    endpointCell('ep', `score-${driver}`, 'risk', 'Scores applications'),
  ];

  beforeAll(async () => {
    t = await openTestDatabase(driver);
    editor = await newUser(t.db, 'promoter');
    viewer = await newUser(t.db, 'watcher');
    const team = await callerFor(t.db, editor).teams.create({ name: 'Bundles' });
    await t.db.insert(teamMembers).values({ teamId: team.id, userId: viewer.userId, role: 'viewer' });
    projectId = (await callerFor(t.db, editor).projects.create({ teamId: team.id, name: 'Credit' })).id;
    await uploadCredit(t.db, editor, projectId);
    await registerTinyVersion(t.db, editor, projectId, 'risk', 1);
    notebookId = (await callerFor(t.db, editor).notebooks.create({ projectId, name: 'Model' })).id;
    await setNotebookCells(t.db, notebookId, base);
  }, 120_000);
  afterAll(async () => {
    await t?.dispose();
  });

  const promote = (releaseNotes: string, confirmFailedBuild = true, actor: Actor = editor) =>
    callerFor(t.db, actor).bundles.promote({ projectId, notebookId, releaseNotes, confirmFailedBuild });

  it('seals the notebook into a bundle whose hash is the sha256 of its canonical manifest and depends only on content', async () => {
    const first = await promote('first release');
    expect(first.created).toBe(true);
    const detail = await callerFor(t.db, viewer).bundles.get({ projectId, hash: first.bundle.hash });
    const [row] = await t.query('select manifest from bundles where hash = $1', [first.bundle.hash]);
    expect(createHash('sha256').update(row!.manifest as string).digest('hex')).toBe(first.bundle.hash);
    expect(detail.manifest.cells.map((c) => c.id)).toEqual(['notes', 'clean', 'nightly', 'ep']);
    expect(detail.manifest.scenarios).toEqual([{ cellId: 'nightly', source: base[2]!.source }]);
    expect(detail.manifest.endpoints).toEqual([{ name: `score-${driver}`, model: 'risk', description: 'Scores applications', cellId: 'ep' }]);
    expect(detail.manifest.models).toHaveLength(1);
    expect(detail.manifest.models[0]).toMatchObject({ name: 'risk', version: 1, usedBy: ['ep'], artifact: { sha256: expect.stringMatching(/^[0-9a-f]{64}$/) } });
    expect(detail.manifest.models[0]!.metrics).toHaveProperty('evaluation.auc.auc');

    // Unchanged content, new notes: the same bundle, nothing written.
    const again = await promote('same thing, other words');
    expect(again).toMatchObject({ created: false, bundle: { hash: first.bundle.hash, releaseNotes: 'first release' } });
    expect(await callerFor(t.db, viewer).bundles.list({ projectId })).toHaveLength(1);

    // Any change to content is a new hash.
    await setNotebookCells(t.db, notebookId, [...base.slice(0, 3), endpointCell('ep', `score-${driver}`, 'risk', 'Scores loan applications')]);
    const changed = await promote('reworded endpoint');
    expect(changed.created).toBe(true);
    expect(changed.bundle.hash).not.toBe(first.bundle.hash);
    await setNotebookCells(t.db, notebookId, base);
    expect((await promote('back')).bundle.hash).toBe(first.bundle.hash);

    const audit = await t.db.select().from(auditEvents).where(and(eq(auditEvents.action, 'bundle.promote'), eq(auditEvents.projectId, projectId))).orderBy(auditEvents.seq);
    expect(audit.map((a) => a.details.bundleHash)).toEqual([first.bundle.hash, changed.bundle.hash]);
    expect(audit[0]!.targetId).toBe(first.bundle.hash);
  });

  it('cannot be changed or removed: the database refuses UPDATE, DELETE and TRUNCATE', async () => {
    const [b] = await callerFor(t.db, viewer).bundles.list({ projectId });
    await expect(t.query(`update bundles set release_notes = 'edited' where hash = $1`, [b!.hash])).rejects.toThrow(/bundles are immutable: UPDATE/);
    await expect(t.query(`update bundles set manifest = '{}' where hash = $1`, [b!.hash])).rejects.toThrow(/immutable/);
    await expect(t.query(`delete from bundles where hash = $1`, [b!.hash])).rejects.toThrow(/bundles are immutable: DELETE/);
    await expect(t.query(`truncate bundles cascade`)).rejects.toThrow(/immutable/);
    expect(await callerFor(t.db, viewer).bundles.get({ projectId, hash: b!.hash })).toMatchObject({ hash: b!.hash });
  });

  it('previews the diff against the last bundle: cells with line diffs, models with metrics side by side, scenarios and endpoints', async () => {
    const last = (await callerFor(t.db, viewer).bundles.list({ projectId }))[0]!;
    await registerTinyVersion(t.db, editor, projectId, 'risk', 0.01);
    await callerFor(t.db, editor).models.setChampion({ projectId, name: 'risk', version: 2 }).catch(() => undefined);
    // setChampion needs a deployer: make the new version champion as the admin of the team would.
    const owner = await t.query(`select m.id as model_id, v.id as version_id from models m join model_versions v on v.model_id = m.id where m.project_id = $1 and v.version = 2`, [projectId]);
    await t.query('update models set champion_version_id = $1 where id = $2', [owner[0]!.version_id, owner[0]!.model_id]);
    await registerTinyVersion(t.db, editor, projectId, 'fraud', 3);
    await setNotebookCells(t.db, notebookId, [
      base[0]!,
      sql('clean', 'clean_credit', 'select * from credit\nwhere amount is not null\n  and amount > 0'),
      { id: 'weekly', kind: 'scenario', source: 'name: weekly\ntriggers:\n  - type: schedule\n    cron: "0 3 * * 1"\nsteps:\n  - type: build\n' },
      endpointCell('ep', `score-${driver}`, 'risk', 'Scores applications'),
      endpointCell('ep2', `fraud-${driver}`, 'fraud'),
    ]);
    const preview = await callerFor(t.db, viewer).bundles.preview({ projectId, notebookId });
    expect(preview).toMatchObject({ compileOk: true, promotable: true, against: { hash: last.hash }, existing: null, lastBuild: null, buildConcern: expect.stringMatching(/never been built/) });
    expect(preview.manifestHash).toMatch(/^[0-9a-f]{64}$/);
    const diff = preview.diff!;
    const cell = (id: string) => diff.cells.find((c) => c.id === id)!;
    expect(cell('clean').status).toBe('changed');
    expect(cell('clean').lines.filter((l) => l.op !== 'context').map((l) => `${l.op} ${l.text}`)).toEqual([
      'del select * from credit where amount is not null',
      'add select * from credit',
      'add where amount is not null',
      'add   and amount > 0',
    ]);
    expect(cell('nightly').status).toBe('removed');
    expect(cell('weekly').status).toBe('added');
    expect(cell('ep2').status).toBe('added');
    expect(cell('notes').status).toBe('unchanged');
    const risk = diff.models.find((m) => m.name === 'risk')!;
    expect(risk.status).toBe('changed');
    expect(risk.from).toMatchObject({ version: 1, auc: expect.any(Number), logLoss: expect.any(Number) });
    expect(risk.to).toMatchObject({ version: 2, auc: expect.any(Number), logLoss: expect.any(Number) });
    expect(risk.from!.artifactSha256).not.toBe(risk.to!.artifactSha256);
    expect(diff.models.find((m) => m.name === 'fraud')).toMatchObject({ status: 'added', from: null, to: { version: 1 } });
    expect(diff.endpoints).toEqual([
      { name: `fraud-${driver}`, status: 'added', from: null, to: { model: 'fraud', description: '', cellId: 'ep2' } },
      // The last bundle created is the one with the reworded description.
      { name: `score-${driver}`, status: 'changed', from: { model: 'risk', description: 'Scores loan applications', cellId: 'ep' }, to: { model: 'risk', description: 'Scores applications', cellId: 'ep' } },
    ]);
    // Named by their YAML's name: (the removed one by its old source).
    expect(diff.scenarios.map((s) => [s.cellId, s.name, s.status])).toEqual([
      ['nightly', 'nightly', 'removed'],
      ['weekly', 'weekly', 'added'],
    ]);
    expect(diff.graphChanged).toBe(true);
    // Previewing changes nothing.
    expect(await callerFor(t.db, viewer).bundles.list({ projectId })).toHaveLength(2);
  });

  it('needs confirmFailedBuild to promote over a failed or missing build, and records it on the bundle and in the audit', async () => {
    const preview = await callerFor(t.db, viewer).bundles.preview({ projectId, notebookId });
    expect(await trpcCode(promote('no build', false))).toBe('PRECONDITION_FAILED');
    await expect(promote('no build', false)).rejects.toThrow(/never been built.*confirmFailedBuild/);
    const run = async (status: 'failed' | 'succeeded') => {
      const [r] = await t.db
        .insert(runs)
        .values({ projectId, kind: 'build', status, workflowId: `build-test-${status}-${Date.now()}`, createdBy: 'test', notebookId, input: { environment: 'design', graphHash: preview.graphHash } })
        .returning();
      return r!;
    };
    const failed = await run('failed');
    expect((await callerFor(t.db, viewer).bundles.preview({ projectId, notebookId })).lastBuild).toMatchObject({ runId: failed.id, status: 'failed', matchesCurrent: true });
    await expect(promote('over a failure', false)).rejects.toThrow(/the last build was failed/);
    expect(await callerFor(t.db, viewer).bundles.list({ projectId })).toHaveLength(2);
    const confirmed = await promote('over a failure, knowingly', true);
    expect(confirmed).toMatchObject({ created: true, bundle: { builtOverFailure: true, releaseNotes: 'over a failure, knowingly' } });
    const [event] = await t.db.select().from(auditEvents).where(and(eq(auditEvents.action, 'bundle.promote'), eq(auditEvents.targetId, confirmed.bundle.hash)));
    expect(event!.details).toMatchObject({ builtOverFailure: true, buildConcern: 'the last build was failed', lastBuild: { runId: failed.id, status: 'failed' } });

    await new Promise((r) => setTimeout(r, 5));
    await run('succeeded');
    await setNotebookCells(t.db, notebookId, base);
    await setNotebookCells(t.db, notebookId, [...base, { id: 'more', kind: 'markdown', source: 'notes' }]);
    const clean = await promote('after a good build', false);
    expect(clean).toMatchObject({ created: true, bundle: { builtOverFailure: false } });
  });

  it('refuses to promote when a cell names a model with no version or an endpoint cell is malformed, naming the cell and line', async () => {
    await setNotebookCells(t.db, notebookId, [...base, endpointCell('ghost', `ghost-${driver}`, 'nobody')]);
    const err = await promote('ghost').catch((e: unknown) => e as { code: string; message: string; data?: unknown });
    expect(err).toMatchObject({ code: 'PRECONDITION_FAILED', message: expect.stringMatching(/cell ghost line 2: model "nobody" has no version/) });
    await setNotebookCells(t.db, notebookId, [...base, { id: 'bad', kind: 'endpoint', source: 'name: Bad Name\nmodel: risk\ncolour: red\n' }]);
    const preview = await callerFor(t.db, viewer).bundles.preview({ projectId, notebookId });
    expect(preview).toMatchObject({ compileOk: true, promotable: false, manifestHash: null, diff: null });
    const bad = preview.diagnostics.filter((d) => d.cellId === 'bad').sort((a, b) => a.line - b.line);
    expect(bad.map((d) => [d.line, d.message])).toEqual([
      [1, expect.stringMatching(/^endpoint cell: name: endpoint name must be a lowercase name/)],
      [3, expect.stringMatching(/^endpoint cell: unknown key "colour"/)],
    ]);
    await setNotebookCells(t.db, notebookId, [...base, { id: 'train', kind: 'train', source: 'dataset: clean_credit\nalgorithm: logistic_regression\n' }]);
    expect((await callerFor(t.db, viewer).bundles.preview({ projectId, notebookId })).diagnostics.some((d) => d.cellId === 'train' && /model/.test(d.message))).toBe(true);
    await setNotebookCells(t.db, notebookId, base);
  });

  it('lets only editors promote (viewers get FORBIDDEN), and viewers preview', async () => {
    expect(await trpcCode(promote('by a viewer', true, viewer))).toBe('FORBIDDEN');
    expect(await trpcCode(callerFor(t.db, viewer).bundles.preview({ projectId, notebookId }))).toBe('OK');
  });
});
