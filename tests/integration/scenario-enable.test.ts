/**
 * Disabling a deployed scenario without a new bundle, on the real Temporal dev server and Postgres:
 * its Schedule is paused (and does not fire at the next cron time), its dataset watcher stopped,
 * manual runs are refused, the change is audited, the flag survives a deploy, and enabling resumes
 * the Schedule and starts the watcher again. (Who may do it: tests/security/scenario-enable.test.ts.)
 */
import { WorkflowNotFoundError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { syncScenarioTriggers } from '@/server/services/scenarios/triggers/sync-triggers';
import { scenarioScheduleId, scenarioWatcherId } from '@/workflows/shared/scenario';
import { scenarioHarness, type ScenarioHarness } from '../helpers/scenarios';

const source = (extra = '') =>
  `name: minutely\ndescription: every minute${extra}\ntriggers:\n  - type: schedule\n    cron: "* * * * *"\n    timezone: Europe/Paris\n  - type: dataset_change\n    dataset: sales\n    every: 5s\n  - type: manual\nsteps:\n  - type: sql\n    sql: select 1\n`;

describe('enabling and disabling a deployed scenario', () => {
  let h: ScenarioHarness;
  const scheduleId = () => scenarioScheduleId(h.projectId, 'minutely', 0);
  const watcherId = () => scenarioWatcherId(h.projectId, 'minutely', 1);
  const schedule = () => h.client.schedule.getHandle(scheduleId()).describe();
  const watcherRunning = async () => {
    try {
      return (await h.client.workflow.getHandle(watcherId()).describe()).status.name === 'RUNNING';
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return false;
      throw err;
    }
  };
  const auditOf = (action: string) =>
    h.t.query(`select actor_type, actor_id, target_type, target_id, details from audit_events where project_id = '${h.projectId}' and action = '${action}' order by seq`);

  beforeAll(async () => {
    h = await scenarioHarness('enable');
    await h.deploy([{ id: 'minutely', kind: 'scenario', source: source() }], 'first');
  }, 180_000);
  afterAll(async () => {
    if (h) await syncScenarioTriggers({ client: h.client, taskQueue: h.taskQueue, projectId: h.projectId, scenarios: [] }).catch(() => undefined);
    await h?.close();
  }, 60_000);

  it('a deployed scenario starts enabled, with its Schedule running and its watcher started', async () => {
    expect((await h.caller().scenarios.list({ projectId: h.projectId }))[0]).toMatchObject({ name: 'minutely', enabled: true });
    expect((await schedule()).state.paused).toBe(false);
    expect(await watcherRunning()).toBe(true);
  });

  it('disabling pauses the Schedule, stops the watcher, refuses runs and is audited', async () => {
    const result = await h.caller().scenarios.setEnabled({ projectId: h.projectId, scenario: 'minutely', enabled: false, reason: 'supplier feed broken' });
    expect(result).toMatchObject({ scenario: 'minutely', enabled: false, changed: true, triggers: { status: 'ok' } });
    expect(result.triggers.message).toContain('1 paused');
    const d = await schedule();
    expect(d.state.paused).toBe(true);
    expect(d.state.note).toContain('disabled');
    expect(await watcherRunning()).toBe(false);
    expect(await auditOf('scenario.disable')).toEqual([
      { actor_type: 'user', actor_id: h.deployer.userId, target_type: 'scenario', target_id: 'minutely', details: expect.objectContaining({ scenario: 'minutely', reason: 'supplier feed broken' }) },
    ]);
    expect((await h.caller().scenarios.list({ projectId: h.projectId }))[0]!.enabled).toBe(false);
    const manual = await h.caller().scenarios.run({ projectId: h.projectId, scenario: 'minutely' });
    expect(manual).toMatchObject({ status: 'skipped', reason: 'scenario "minutely" is disabled' });
    // Asking again changes nothing and audits nothing.
    expect((await h.caller().scenarios.setEnabled({ projectId: h.projectId, scenario: 'minutely', enabled: false })).changed).toBe(false);
    expect(await auditOf('scenario.disable')).toHaveLength(1);
  });

  it('the paused Schedule does not fire at its next cron time', async () => {
    // `* * * * *`: wait until a minute boundary has passed (plus Temporal's jitter), then look.
    const nextMinute = Math.ceil((Date.now() + 1) / 60_000) * 60_000;
    await new Promise((resolve) => setTimeout(resolve, nextMinute - Date.now() + 5_000));
    expect((await schedule()).info.recentActions).toEqual([]);
    const runs = await h.t.query(`select status, input->'trigger'->>'kind' as kind from runs where project_id = '${h.projectId}' and kind = 'scenario'`);
    expect(runs).toEqual([{ status: 'skipped', kind: 'manual' }]);
  }, 80_000);

  it('a deploy that keeps the scenario keeps it disabled and its Schedule paused', async () => {
    await h.deploy([{ id: 'minutely', kind: 'scenario', source: source(' (v2)') }], 'second');
    expect((await h.caller().scenarios.list({ projectId: h.projectId }))[0]).toMatchObject({ description: 'every minute (v2)', enabled: false });
    expect((await schedule()).state.paused).toBe(true);
    expect(await watcherRunning()).toBe(false);
  }, 60_000);

  it('enabling resumes the Schedule and starts the watcher again; audited', async () => {
    const result = await h.caller().scenarios.setEnabled({ projectId: h.projectId, scenario: 'minutely', enabled: true });
    expect(result).toMatchObject({ enabled: true, changed: true, triggers: { status: 'ok' } });
    const d = await schedule();
    expect(d.state.paused).toBe(false);
    expect(d.state.note).toContain('declared by bundle');
    await vi.waitFor(async () => expect(await watcherRunning()).toBe(true), { timeout: 10_000, interval: 200 });
    expect(await auditOf('scenario.enable')).toEqual([expect.objectContaining({ actor_id: h.deployer.userId, target_id: 'minutely' })]);
  });

  it('an unknown scenario is a not-found naming it', async () => {
    await expect(h.caller().scenarios.setEnabled({ projectId: h.projectId, scenario: 'nope', enabled: false })).rejects.toThrow('deployed scenario "nope" was not found');
  });
});
