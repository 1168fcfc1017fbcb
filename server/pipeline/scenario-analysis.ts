import type { Analyzed, Diag } from './analysis-types';
import type { ParsedScenarioCell, ScenarioSpec } from './scenario-cell';
import { closestName } from './text';
import { assertNever } from '../domain/assert-never';

/** What a scenario may name, as the notebook and the project know it. */
export type ScenarioScope = {
  /** Source datasets and datasets the notebook's cells write. */
  datasets: ReadonlySet<string>;
  /** Datasets some cell of the notebook writes (what a build step can select). */
  built: ReadonlySet<string>;
  /** Datasets some check cell checks. */
  checked: ReadonlySet<string>;
  /** Models the notebook trains, plus the registry's when the caller passed them. */
  models: ReadonlySet<string> | null;
  /** The project's notification channels, when the caller passed them. */
  channels?: ReadonlySet<string> | null;
  /** Models the notebook's endpoint cells serve (what a retrain's shadow scores live traffic on). */
  served?: ReadonlySet<string>;
};

type Scenario = { a: Analyzed; parsed: ParsedScenarioCell; spec: ScenarioSpec };

const didYouMean = (name: string, known: Iterable<string>) => {
  const guess = closestName(name, known);
  return guess ? `: did you mean "${guess}"?` : '';
};

/**
 * Cross-cell checks of scenario cells (their own shape is checked when they are parsed): names are
 * unique in the notebook (they are what triggers and the API address); a scenario names only
 * scenarios of the notebook (a bundle deploys them together), never in a loop of run_scenario steps;
 * a build step selects datasets the notebook builds and a checks step a dataset some check cell
 * checks (errors: the run could not do anything else); other datasets and models may appear in
 * production later, so those are warnings.
 */
export function checkScenarios(analyzed: Analyzed[], scope: ScenarioScope, diag: Diag): void {
  const scenarios: Scenario[] = [];
  for (const a of analyzed) if (a.scenario?.spec) scenarios.push({ a, parsed: a.scenario, spec: a.scenario.spec });

  const byName = new Map<string, Scenario[]>();
  for (const s of scenarios) (byName.get(s.spec.name) ?? byName.set(s.spec.name, []).get(s.spec.name)!).push(s);
  for (const [name, list] of byName) {
    if (list.length < 2) continue;
    for (const s of list) {
      const others = list.filter((o) => o !== s).map((o) => `"${o.a.cell.id}"`);
      diag(s.a.cell.id, s.parsed.positionOf(['name']), 'duplicate-scenario', `scenario "${name}" is also declared by cell ${others.join(', ')}; scenario names are unique`);
    }
  }
  const names = new Set(byName.keys());

  for (const { a, parsed, spec } of scenarios) {
    const c: ScenarioCheck = { cellId: a.cell.id, at: (path) => parsed.positionOf(path), scope, names, diag };
    spec.triggers.forEach((t, i) => {
      if (t.type === 'after_scenario' && !names.has(t.scenario)) {
        diag(c.cellId, c.at(['triggers', i, 'scenario']), 'unknown-scenario', `unknown scenario "${t.scenario}"${didYouMean(t.scenario, names)}`);
      }
      if (t.type === 'dataset_change' && !scope.datasets.has(t.dataset)) {
        diag(c.cellId, c.at(['triggers', i, 'dataset']), 'unknown-dataset', `unknown dataset "${t.dataset}"${didYouMean(t.dataset, scope.datasets)} (no source or cell provides it here)`, 'warning');
      }
    });
    spec.steps.forEach((st, i) => checkStep(c, st, i));

    // A warning: the channel may be created before the bundle runs; a run records a missing one on its reports.
    (spec.reporters ?? []).forEach((r, i) => {
      if (!scope.channels || scope.channels.has(r.channel)) return;
      diag(c.cellId, c.at(['reporters', i, 'channel']), 'unknown-channel', `unknown notification channel "${r.channel}"${didYouMean(r.channel, scope.channels) || ': create it under the project\'s notification channels'}`, 'warning');
    });
  }

  reportRunLoops(scenarios, diag);
}

/** One scenario cell being checked: where its diagnostics go, and what it may name. */
type ScenarioCheck = { cellId: string; at: (path: (string | number)[]) => ReturnType<ParsedScenarioCell['positionOf']>; scope: ScenarioScope; names: ReadonlySet<string>; diag: Diag };

/** What one step names: datasets a build or checks step can select, models, scenarios. */
function checkStep(c: ScenarioCheck, st: ScenarioSpec['steps'][number], i: number): void {
  const { cellId, at, scope, names, diag } = c;
  switch (st.type) {
    case 'build':
      (st.datasets ?? []).forEach((d, j) => {
        if (!scope.built.has(d)) diag(cellId, at(['steps', i, 'datasets', j]), 'unknown-dataset', `no cell of this notebook builds "${d}"${didYouMean(d, scope.built)}`);
      });
      return;
    case 'checks':
      if (!scope.checked.has(st.dataset)) diag(cellId, at(['steps', i, 'dataset']), 'unknown-dataset', `no check cell checks "${st.dataset}"${didYouMean(st.dataset, scope.checked)}`);
      return;
    case 'metrics':
    case 'score':
      if (!scope.datasets.has(st.dataset)) {
        diag(cellId, at(['steps', i, 'dataset']), 'unknown-dataset', `unknown dataset "${st.dataset}"${didYouMean(st.dataset, scope.datasets)} (no source or cell provides it here)`, 'warning');
      }
      if (st.type === 'score') {
        if (scope.built.has(st.output)) {
          diag(cellId, at(['steps', i, 'output']), 'duplicate-writer', `a cell of this notebook already writes "${st.output}"; score into a dataset of its own`);
        }
        checkModel(c, st.model, ['steps', i, 'model']);
      }
      return;
    case 'retrain':
      checkModel(c, st.model, ['steps', i, 'model']);
      if (st.shadow && scope.served && !scope.served.has(st.model)) {
        diag(
          cellId,
          at(['steps', i, 'shadow']),
          'shadow-without-endpoint',
          `no endpoint cell of this notebook serves "${st.model}": there is no live traffic to shadow, so a challenger that passes the gate is promoted at once`,
          'warning',
        );
      }
      return;
    case 'run_scenario':
      if (!names.has(st.scenario)) diag(cellId, at(['steps', i, 'scenario']), 'unknown-scenario', `unknown scenario "${st.scenario}"${didYouMean(st.scenario, names)}`);
      return;
    case 'sql':
    case 'notify':
    case 'drift':
      return;
    default:
      assertNever(st, 'scenario step type');
  }
}

function checkModel(c: ScenarioCheck, model: string, path: (string | number)[]): void {
  if (!c.scope.models || c.scope.models.has(model)) return;
  c.diag(c.cellId, c.at(path), 'unknown-model', `unknown model "${model}"${didYouMean(model, c.scope.models) || ': no model of that name is registered or trained by this notebook'}`, 'warning');
}

/** A run_scenario step that (through others) runs its own scenario again would never finish. */
function reportRunLoops(scenarios: Scenario[], diag: Diag): void {
  const runs = new Map<string, string[]>();
  for (const s of scenarios) runs.set(s.spec.name, s.spec.steps.flatMap((st) => (st.type === 'run_scenario' ? [st.scenario] : [])));
  for (const s of scenarios) {
    const path = loopFrom(s.spec.name, runs);
    if (!path) continue;
    const i = s.spec.steps.findIndex((st) => st.type === 'run_scenario' && st.scenario === path[1]);
    diag(s.a.cell.id, s.parsed.positionOf(['steps', i, 'scenario']), 'scenario-cycle', `run_scenario steps loop: ${path.map((n) => `"${n}"`).join(' -> ')}`);
  }
}

function loopFrom(start: string, runs: Map<string, string[]>): string[] | null {
  const stack: string[][] = [[start]];
  const seen = new Set<string>();
  while (stack.length) {
    const path = stack.pop()!;
    for (const next of runs.get(path[path.length - 1]!) ?? []) {
      if (next === start) return [...path, next];
      if (seen.has(next)) continue;
      seen.add(next);
      stack.push([...path, next]);
    }
  }
  return null;
}
