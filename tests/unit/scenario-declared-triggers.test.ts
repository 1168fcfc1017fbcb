import { describe, expect, it } from 'vitest';
import { BUNDLE_FORMAT, type BundleManifest } from '@/server/services/bundles/manifest';
import { desiredTriggers, scenariosOfManifest } from '@/server/services/scenarios/triggers/declared-triggers';

const projectId = '00000000-0000-4000-8000-000000000001';
const manifest = (scenarios: { cellId: string; source: string }[]): BundleManifest =>
  ({ format: BUNDLE_FORMAT, graph: { hash: 'g', graph: {} }, cells: [], models: [], endpoints: [], scenarios }) as unknown as BundleManifest;

const both = `name: nightly
triggers:
  - type: manual
  - type: schedule
    cron: "0 6 * * *"
    timezone: Europe/Paris
  - type: dataset_change
    dataset: sales
    sql: select max(id) from sales
    every: 2m
overlap: queue_one
steps:
  - type: sql
    sql: select 1
`;

describe('the Schedules and watchers a bundle declares', () => {
  it('gives one Schedule per schedule trigger and one watcher per dataset_change trigger, ids by trigger position', () => {
    const { scenarios, problems } = scenariosOfManifest(manifest([{ cellId: 'c1', source: both }]), 'h'.repeat(64));
    expect(problems).toEqual([]);
    const { schedules, watchers } = desiredTriggers(projectId, scenarios);
    expect(schedules).toEqual([
      expect.objectContaining({
        scheduleId: `scenario-schedule-${projectId}-nightly-1`,
        spec: { cronExpressions: ['0 6 * * *'], timezone: 'Europe/Paris' },
        summary: 'schedule "0 6 * * *" (Europe/Paris)',
        overlap: 'BUFFER_ONE',
        runInput: { projectId, scenario: 'nightly', trigger: { kind: 'schedule', detail: { cron: '0 6 * * *', timezone: 'Europe/Paris', triggerIndex: 1 } } },
      }),
    ]);
    expect(watchers).toEqual([
      expect.objectContaining({
        workflowId: `scenario-watch-${projectId}-nightly-2`,
        input: { projectId, dataset: 'sales', sql: 'select max(id) from sales', scenario: 'nightly', triggerIndex: 2, everyMs: 120_000, bundleHash: 'h'.repeat(64) },
      }),
    ]);
  });

  it('keeps definitions independent of the bundle, so redeploying the same triggers changes nothing', () => {
    const a = desiredTriggers(projectId, scenariosOfManifest(manifest([{ cellId: 'c1', source: both }]), 'a'.repeat(64)).scenarios);
    const b = desiredTriggers(projectId, scenariosOfManifest(manifest([{ cellId: 'c9', source: both }]), 'b'.repeat(64)).scenarios);
    expect(b.schedules.map((s) => s.definition)).toEqual(a.schedules.map((s) => s.definition));
    expect(b.watchers.map((w) => w.definition)).toEqual(a.watchers.map((w) => w.definition));
    const slower = desiredTriggers(projectId, scenariosOfManifest(manifest([{ cellId: 'c1', source: both.replace('every: 2m', 'every: 5m') }]), 'a'.repeat(64)).scenarios);
    expect(slower.watchers[0]!.definition).not.toBe(a.watchers[0]!.definition);
    expect(slower.watchers[0]!.fingerprintDefinition).toBe(a.watchers[0]!.fingerprintDefinition);
  });

  it('reports a scenario cell that does not parse instead of deploying it', () => {
    const { scenarios, problems } = scenariosOfManifest(manifest([{ cellId: 'bad', source: 'name: x\ntriggers: []\n' }]), 'h'.repeat(64));
    expect(scenarios).toEqual([]);
    expect(problems[0]).toMatch(/^scenario cell bad: /);
  });
});
