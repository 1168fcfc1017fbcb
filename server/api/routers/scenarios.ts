import { cancelScenarioRun, rerunScenarioRun } from '../../services/scenarios/cancel-scenario-run';
import { runScenario } from '../../services/scenarios/run-scenario';
import { setScenarioEnabled } from '../../services/scenarios/set-scenario-enabled';
import { getScenarioRun, listScenarioRuns, listScenarios } from '../../services/scenarios/scenario-view';
import { ListScenarioRunsInput, ListScenariosInput, RunScenarioInput, ScenarioRunRef, SetScenarioEnabledInput } from '../../services/scenarios/schemas';
import { procedure, router } from '../trpc';

const read = { kind: 'member', role: 'viewer', scope: 'read' } as const;
/** Running production scenarios: deployers, or automation with a `run` key. */
const operate = { kind: 'member', role: 'deployer', scope: 'run' } as const;

/** Deployed scenarios and their runs (Temporal workflows `scenario-<runId>`). */
export const scenariosRouter = router({
  list: procedure.meta({ policy: read }).input(ListScenariosInput).query(({ ctx, input }) => listScenarios({ ctx, input })),
  run: procedure.meta({ policy: operate }).input(RunScenarioInput).mutation(({ ctx, input }) => runScenario({ ctx, input })),
  runs: procedure.meta({ policy: read }).input(ListScenarioRunsInput).query(({ ctx, input }) => listScenarioRuns({ ctx, input })),
  getRun: procedure.meta({ policy: read }).input(ScenarioRunRef).query(({ ctx, input }) => getScenarioRun({ ctx, input })),
  cancelRun: procedure.meta({ policy: operate }).input(ScenarioRunRef).mutation(({ ctx, input }) => cancelScenarioRun({ ctx, input })),
  /** Pause or resume a deployed scenario (its Schedules and watchers) without a new bundle; audited. */
  setEnabled: procedure.meta({ policy: operate }).input(SetScenarioEnabledInput).mutation(({ ctx, input }) => setScenarioEnabled({ ctx, input })),
  rerun: procedure.meta({ policy: operate }).input(ScenarioRunRef).mutation(({ ctx, input }) => rerunScenarioRun({ ctx, input })),
});
