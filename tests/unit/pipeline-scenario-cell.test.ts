import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { cronProblem, parseScenarioCell, ScenarioCellSpec } from '@/server/pipeline/scenario-cell';

const nightly = `name: nightly_forecast
description: Rebuild the demand forecast every morning
triggers:
  - type: schedule
    cron: "0 6 * * *"
    timezone: Europe/Paris
  - type: dataset_change
    dataset: sales
    column: sold_at
    every: 5m
  - type: after_scenario
    scenario: ingest
  - type: manual
overlap: queue_one
steps:
  - type: build
  - type: checks
    dataset: forecast
  - type: retrain
    model: credit
    gate:
      minRows: 1000
  - type: notify
    channel: ops
    when: always
    retries: 3
`;

describe('scenario cells', () => {
  it('parses triggers and steps with their defaults', () => {
    const { spec, problems } = parseScenarioCell(nightly);
    expect(problems).toEqual([]);
    expect(spec).toMatchObject({
      name: 'nightly_forecast',
      overlap: 'queue_one',
      triggers: [
        { type: 'schedule', cron: '0 6 * * *', timezone: 'Europe/Paris' },
        { type: 'dataset_change', dataset: 'sales', column: 'sold_at', every: 300_000 },
        { type: 'after_scenario', scenario: 'ingest', outcome: 'succeeded' },
        { type: 'manual' },
      ],
      steps: [
        { type: 'build', when: 'success', retries: 0 },
        { type: 'checks', dataset: 'forecast' },
        { type: 'retrain', model: 'credit', gate: { metric: 'auc', minImprovement: 0, minRows: 1000 } },
        { type: 'notify', channel: 'ops', when: 'always', retries: 3 },
      ],
    });
  });

  it('points each mistake at its line and names the field', () => {
    const source = nightly.replace('cron: "0 6 * * *"', 'cron: "0 25 * * *"').replace('timezone: Europe/Paris', 'timezone: Mars/Olympus').replace('type: notify', 'type: notifyy');
    const { spec, problems } = parseScenarioCell(source);
    expect(spec).toBeNull();
    const lines = source.split('\n');
    const lineOf = (text: string) => lines.findIndex((l) => l.includes(text)) + 1;
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ code: 'invalid-scenario', line: lineOf('Mars/Olympus'), message: expect.stringContaining('triggers.0.timezone') }),
        expect.objectContaining({ code: 'invalid-scenario', line: lineOf('notifyy'), message: expect.stringContaining('step type must be one of') }),
      ]),
    );
  });

  it('refuses bad cron expressions with the reason, and accepts macros', () => {
    expect(cronProblem('0 6 * * *')).toBeNull();
    expect(cronProblem('@daily')).toBeNull();
    expect(cronProblem('*/15 8-18 * * 1-5', 'America/New_York')).toBeNull();
    expect(cronProblem('0 6 * *')).toMatch(/five fields/);
    expect(cronProblem('61 * * * *')).toMatch(/not a valid cron expression/);
    const { problems } = parseScenarioCell('name: s\ntriggers:\n  - type: schedule\n    cron: "61 * * * *"\nsteps:\n  - type: build\n');
    expect(problems).toEqual([expect.objectContaining({ line: 4, message: expect.stringContaining('triggers.0.cron') })]);
  });

  it('refuses a scenario that triggers after or runs itself, both column and sql, and a too-frequent watcher', () => {
    const source = `name: loop
triggers:
  - type: after_scenario
    scenario: loop
  - type: dataset_change
    dataset: sales
    column: id
    sql: select max(id) from sales
  - type: dataset_change
    dataset: sales
    every: 1s
steps:
  - type: run_scenario
    scenario: loop
`;
    const messages = parseScenarioCell(source).problems.map((p) => `${p.line}: ${p.message}`);
    expect(messages).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^4: .*cannot trigger after itself/),
        expect.stringMatching(/^8: .*column or sql, not both/),
        expect.stringMatching(/^11: .*at least 5s/),
        expect.stringMatching(/^14: .*cannot run itself/),
      ]),
    );
  });

  it('reports invalid YAML at its position', () => {
    const { problems } = parseScenarioCell('name: s\ntriggers: [\n');
    expect(problems[0]).toMatchObject({ code: 'invalid-yaml' });
    expect(problems[0]!.line).toBeGreaterThanOrEqual(2);
  });
  it('parses a drift step with its defaults, and refuses a bad threshold or labels without a label column', () => {
    const source = (step: string) => `name: watch\ntriggers:\n  - type: manual\nsteps:\n${step}\n  - type: retrain\n    model: credit\n    when: failure\n`;
    const ok = parseScenarioCell(source('  - type: drift\n    endpoint: scoring'));
    expect(ok.problems).toEqual([]);
    expect(ok.spec?.steps[0]).toEqual({ type: 'drift', endpoint: 'scoring', window: 86_400_000, threshold: 0.2, severity: 'error', when: 'success', retries: 0 });
    const full = parseScenarioCell(source('  - type: drift\n    endpoint: scoring\n    window: 6h\n    threshold: 0.1\n    minAuc: 0.7\n    severity: warning\n    labels:\n      dataset: outcomes\n      label: status'));
    expect(full.spec?.steps[0]).toMatchObject({ window: 6 * 3_600_000, threshold: 0.1, minAuc: 0.7, severity: 'warning', labels: { dataset: 'outcomes', key: 'id', label: 'status' } });
    const bad = parseScenarioCell(source('  - type: drift\n    endpoint: scoring\n    threshold: -1\n    labels:\n      dataset: outcomes'));
    expect(bad.problems.map((p) => p.message)).toEqual([expect.stringMatching(/^steps\.0\.threshold: /), 'steps.0.labels.label: label is required: the column with the true class']);
  });
});

describe('scenario reporters', () => {
  const base = `name: nightly
triggers:
  - type: manual
steps:
  - type: build
`;

  it('is optional: a scenario without reporters parses as before', () => {
    const { spec, problems } = parseScenarioCell(base);
    expect(problems).toEqual([]);
    expect(spec!.reporters).toBeUndefined();
  });

  it('reports on failure by default and keeps the listed occasions and message', () => {
    const { spec, problems } = parseScenarioCell(`${base}reporters:
  - channel: ops
  - channel: ml-team
    on: [success, gate_decision]
    message: nightly finished
`);
    expect(problems).toEqual([]);
    expect(spec!.reporters).toEqual([
      { channel: 'ops', on: ['failure'] },
      { channel: 'ml-team', on: ['success', 'gate_decision'], message: 'nightly finished' },
    ]);
  });

  it('points a bad occasion, a missing channel, an unknown key and a repeated occasion at their lines', () => {
    const source = `${base}reporters:
  - channel: ops
    on: [failure, cancelled]
  - on: [success]
  - channel: ops
    to: someone
  - channel: ops
    on: [success, success]
`;
    const { spec, problems } = parseScenarioCell(source);
    expect(spec).toBeNull();
    const lines = source.split('\n');
    const lineOf = (text: string, from = 0) => lines.findIndex((l, i) => i >= from && l.includes(text)) + 1;
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ code: 'invalid-scenario', line: lineOf('on: [failure, cancelled]'), message: expect.stringMatching(/^reporters\.0\.on\.1: on must list failure, success or gate_decision/) }),
        expect.objectContaining({ line: lineOf('- on: [success]'), message: 'reporters.1.channel: channel is required' }),
        expect.objectContaining({ line: lineOf('- channel: ops', lineOf('- on: [success]')), message: expect.stringMatching(/^reporters\.2: .*"to"/) }),
        expect.objectContaining({ line: lineOf('on: [success, success]'), message: 'reporters.3.on: on lists an occasion twice' }),
      ]),
    );
    expect(problems).toHaveLength(4);
  });

  it('refuses an empty on list and reporters that are not a list', () => {
    expect(parseScenarioCell(`${base}reporters:\n  - channel: ops\n    on: []\n`).problems.map((p) => p.message)).toEqual(['reporters.0.on: on must list at least one of failure, success, gate_decision']);
    expect(parseScenarioCell(`${base}reporters: ops\n`).problems.map((p) => [p.message, p.line])).toEqual([['reporters: reporters must be a list', 6]]);
  });

  it("is in the editor's JSON schema (cellSchemas), with its occasions and on's default", () => {
    const schema = z.toJSONSchema(ScenarioCellSpec, { io: 'input', unrepresentable: 'any' }) as { properties: Record<string, { items: { properties: Record<string, unknown>; required: string[] } }> };
    const reporter = schema.properties.reporters!.items;
    expect(reporter.required).toEqual(['channel']);
    expect(reporter.properties.on).toMatchObject({ default: ['failure'], items: { enum: ['failure', 'success', 'gate_decision'] } });
  });
});
