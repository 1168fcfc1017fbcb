import { beforeAll, describe, expect, it } from 'vitest';
import { compileNotebook, type NotebookSnapshot } from '@/server/pipeline';

const notebook = (cells: { id: string; kind: string; source: string }[]) => ({ cells }) as unknown as NotebookSnapshot;
const sources = [{ name: 'credit', columns: [{ name: 'status', type: 'text' as const, nullable: true }] }];
const base = [
  { id: 'clean', kind: 'sql', source: '-- writes: clean\nselect * from credit' },
  { id: 'chk', kind: 'check', source: 'dataset: clean\nchecks:\n  - type: row_count\n    min: 1' },
];
const codes = async (cells: { id: string; kind: string; source: string }[], models?: string[]) =>
  (await compileNotebook(notebook([...base, ...cells]), sources as never, models ? { models } : {})).diagnostics.map((d) => [d.cellId, d.line, d.severity, d.code, d.message]);

describe('scenario cells in the compiler', () => {
  beforeAll(async () => {
    await compileNotebook(notebook([]), []);
  });

  it('reports the YAML spec problems inline, at their line', async () => {
    expect(await codes([{ id: 's', kind: 'scenario', source: 'name: x\ntriggers:\n  - type: cron\nsteps:\n  - type: build\n' }])).toEqual([
      ['s', 3, 'error', 'invalid-scenario', 'triggers.0.type: trigger type must be one of schedule, dataset_change, after_scenario, manual'],
    ]);
    expect((await codes([{ id: 's', kind: 'scenario', source: 'name: [x\n' }]))[0]).toMatchObject(['s', expect.any(Number), 'error', 'invalid-yaml', expect.stringMatching(/^invalid YAML: /)]);
  });

  it('checks the names a scenario uses against the notebook: datasets, check cells, scenarios (errors) and models (warnings)', async () => {
    const scenario = `name: nightly
triggers:
  - type: after_scenario
    scenario: ingets
steps:
  - type: build
    datasets: [clen]
  - type: checks
    dataset: credit
  - type: retrain
    model: risk
  - type: metrics
    dataset: sales
  - type: run_scenario
    scenario: ingest
`;
    const ingest = 'name: ingest\ntriggers:\n  - type: manual\nsteps:\n  - type: build\n';
    expect(await codes([{ id: 's', kind: 'scenario', source: scenario }, { id: 'i', kind: 'scenario', source: ingest }], ['risk-model'])).toEqual([
      ['s', 4, 'error', 'unknown-scenario', 'unknown scenario "ingets": did you mean "ingest"?'],
      ['s', 7, 'error', 'unknown-dataset', 'no cell of this notebook builds "clen": did you mean "clean"?'],
      ['s', 9, 'error', 'unknown-dataset', 'no check cell checks "credit"'],
      ['s', 11, 'warning', 'unknown-model', 'unknown model "risk": no model of that name is registered or trained by this notebook'],
      ['s', 13, 'warning', 'unknown-dataset', 'unknown dataset "sales" (no source or cell provides it here)'],
    ]);
  });

  it('refuses two scenarios of one name and run_scenario loops', async () => {
    const a = 'name: a\ntriggers:\n  - type: manual\nsteps:\n  - type: run_scenario\n    scenario: b\n';
    const b = 'name: b\ntriggers:\n  - type: manual\nsteps:\n  - type: run_scenario\n    scenario: a\n';
    const c = 'name: b\ntriggers:\n  - type: manual\nsteps:\n  - type: build\n';
    const duplicates = await codes([{ id: 'sb', kind: 'scenario', source: b }, { id: 'sc', kind: 'scenario', source: c }]);
    expect(duplicates.filter((d) => d[3] === 'duplicate-scenario').map((d) => d[0])).toEqual(['sb', 'sc']);
    const found = await codes([{ id: 'sa', kind: 'scenario', source: a }, { id: 'sb', kind: 'scenario', source: b }]);
    expect(found.filter((d) => d[3] === 'scenario-cycle').map((d) => [d[0], d[4]])).toEqual([
      ['sa', 'run_scenario steps loop: "a" -> "b" -> "a"'],
      ['sb', 'run_scenario steps loop: "b" -> "a" -> "b"'],
    ]);
  });
});

describe('scenario reporters in the compiler', () => {
  const scenario = `name: nightly
triggers:
  - type: manual
steps:
  - type: build
reporters:
  - channel: ops
  - channel: opz
    on: [success]
`;
  const diagnostics = async (channels?: string[]) =>
    (await compileNotebook(notebook([...base, { id: 's', kind: 'scenario', source: scenario }]), sources as never, channels ? { channels } : {})).diagnostics.map((d) => [d.line, d.severity, d.code, d.message]);

  it('warns, at its line, about a reporter naming a channel the project does not have', async () => {
    expect(await diagnostics(['ops', 'ml-team'])).toEqual([[8, 'warning', 'unknown-channel', 'unknown notification channel "opz": did you mean "ops"?']]);
    expect(await diagnostics([])).toEqual([
      [7, 'warning', 'unknown-channel', `unknown notification channel "ops": create it under the project's notification channels`],
      [8, 'warning', 'unknown-channel', `unknown notification channel "opz": create it under the project's notification channels`],
    ]);
  });

  it('checks no channel when compiled without the project (the channels are unknown then)', async () => {
    expect(await diagnostics()).toEqual([]);
  });

  it('warns, at its shadow, when a retrain shadows a model no endpoint cell of the notebook serves', async () => {
    const shadowed = (model: string) => `name: retrain
triggers:
  - type: manual
steps:
  - type: retrain
    model: ${model}
    shadow:
      for: 10m
`;
    const endpoint = { id: 'ep', kind: 'endpoint', source: 'name: risk-live\nmodel: risk\n' };
    expect(await codes([endpoint, { id: 's', kind: 'scenario', source: shadowed('risk') }], ['risk', 'other'])).toEqual([]);
    expect(await codes([endpoint, { id: 's', kind: 'scenario', source: shadowed('other') }], ['risk', 'other'])).toEqual([
      ['s', 8, 'warning', 'shadow-without-endpoint', 'no endpoint cell of this notebook serves "other": there is no live traffic to shadow, so a challenger that passes the gate is promoted at once'],
    ]);
  });
});
