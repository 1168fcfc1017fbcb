import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { pythonSettings } from '@/server/python/venv';
import { buildPythonTable } from '@/server/services/cells/build-python-table';
import { schemaNameOf } from '@/server/services/datasets/storage';
import { withSandboxSession } from '@/server/services/datasets/sql-sandbox';
import { uploadDataset } from '@/server/services/datasets/upload-dataset';
import { ctxFor } from '../helpers/api';
import type { TestDatabase } from '../helpers/db';
import { python, setNotebookCells } from '../helpers/pipeline';
import { pythonCellVenv, writeTestWheel } from '../helpers/python';
import { scenarioHarness, type ScenarioHarness } from '../helpers/scenarios';

/**
 * A promoted bundle carries the project's Python requirements of that moment, and the production
 * runs of the deployed bundle install exactly those, whatever the project's list says later. Real
 * pip (from a --find-links directory of wheels written here: sbtiny 1.0.0 and 1.1.0), Python under
 * bubblewrap, Postgres and Temporal: the production build is a scenario's build step.
 */
let h: ScenarioHarness;
let t: TestDatabase;
let projectId: string;
let scratch: string;
let notebookId: string;
const previousFindLinks = process.env.STAGEBOOK_PYTHON_FIND_LINKS;

const CELL = python('ver', ['names'], 'versions', 'import sbtiny\nversions = pd.DataFrame({"name": names["name"], "version": sbtiny.VERSION})\n');
const cells = [CELL, { id: 's_build', kind: 'scenario' as const, source: 'name: rebuild\ntriggers:\n  - type: manual\nsteps:\n  - type: build\n' }];
const productionVersions = async () => (await t.query(`select distinct version from "${schemaNameOf(projectId, 'production')}".versions`)).map((r) => r.version);
const setRequirements = (requirements: string) => h.caller().projects.setPythonRequirements({ projectId, requirements });

beforeAll(async () => {
  pythonCellVenv();
  scratch = mkdtempSync(path.join(tmpdir(), 'sb-bundle-reqs-'));
  chmodSync(scratch, 0o755);
  const wheels = path.join(scratch, 'wheels');
  mkdirSync(wheels, { mode: 0o755 });
  for (const v of ['1.0.0', '1.1.0']) writeTestWheel(wheels, 'sbtiny', v, { 'sbtiny.py': `VERSION = "${v}"\n` });
  // pythonSettings() reads the environment on every run: the worker below installs from here.
  process.env.STAGEBOOK_PYTHON_FIND_LINKS = wheels;
  h = await scenarioHarness('python-bundle-reqs');
  ({ t, projectId } = h);
  for (const environment of ['design', 'production'] as const) {
    await uploadDataset({ ctx: ctxFor(t.db, h.admin), input: { projectId, name: 'names', environment }, csv: Readable.from(['name\nada\ngrace\n']) });
  }
  await h.startWorker();
  notebookId = (await h.caller().notebooks.create({ projectId, name: 'versions' })).id;
  await setNotebookCells(t.db, notebookId, cells);
}, 900_000);

afterAll(async () => {
  await h?.close();
  if (previousFindLinks === undefined) delete process.env.STAGEBOOK_PYTHON_FIND_LINKS;
  else process.env.STAGEBOOK_PYTHON_FIND_LINKS = previousFindLinks;
  if (scratch) rmSync(scratch, { recursive: true, force: true });
}, 60_000);

it('a promoted bundle carries the requirements it was built with; the promote diff shows a change of them', async () => {
  await setRequirements('sbtiny==1.0.0\n');
  const promoted = await h.caller().bundles.promote({ projectId, notebookId, releaseNotes: 'on 1.0.0', confirmFailedBuild: true });
  const detail = await h.caller().bundles.get({ projectId, hash: promoted.bundle.hash });
  expect(detail.manifest.python).toEqual({ requirements: 'sbtiny==1.0.0\n' });
  await h.caller().deployments.deploy({ projectId, bundleHash: promoted.bundle.hash, reason: 'on 1.0.0' });

  // The same notebook with other requirements is other content: another hash, and the diff says what changed.
  await setRequirements('sbtiny==1.1.0\n');
  const preview = await h.caller().bundles.preview({ projectId, notebookId });
  expect(preview.manifestHash).not.toBe(promoted.bundle.hash);
  expect(preview.diff!.requirements).toEqual({
    status: 'changed',
    from: 'sbtiny==1.0.0\n',
    to: 'sbtiny==1.1.0\n',
    lines: [
      { op: 'del', text: 'sbtiny==1.0.0' },
      { op: 'add', text: 'sbtiny==1.1.0' },
    ],
  });
  expect(preview.diff!.cells.every((c) => c.status === 'unchanged')).toBe(true);
  await setRequirements('sbtiny==1.0.0\n');
  expect((await h.caller().bundles.preview({ projectId, notebookId })).manifestHash).toBe(promoted.bundle.hash);
});

it("after the project's requirements change, the deployed bundle's production build still installs and uses the bundle's list; design runs use the project's", { timeout: 600_000 }, async () => {
  await setRequirements('sbtiny==1.1.0\n');
  const { run } = await h.runToEnd('rebuild');
  expect(run.status, JSON.stringify(run.steps.map((s) => [s.error, s.log]), null, 1)).toBe('succeeded');
  expect(await productionVersions()).toEqual(['1.0.0']);

  // A design run of the same cell gets the project's list of today.
  const scope = { projectId, environment: 'design' as const };
  await buildPythonTable(t.db, scope, { cellId: 'ver', source: CELL.source, table: 'versions_now', timeoutMs: 120_000 });
  const design = await withSandboxSession(t.db, scope, { timeoutMs: 10_000 }, (q) => q('select distinct version from versions_now'));
  expect(design.rows).toEqual([{ version: '1.1.0' }]);

  // Both lists stay installed (neither run prunes the other's), so the next production build needs no pip.
  const layers = path.join(pythonSettings().layersDir, projectId);
  expect(readdirSync(layers).filter((n) => /^[0-9a-f]{64}$/.test(n))).toHaveLength(2);
  const again = await h.runToEnd('rebuild');
  expect(again.run.status).toBe('succeeded');
  expect(await productionVersions()).toEqual(['1.0.0']);
});
