import type { z } from 'zod';
import type { ServiceCtx } from '../context';
import { actorName } from './cancel-scenario-run';
import type { RunScenarioInput } from './schemas';
import { startScenarioRun, type StartedScenarioRun } from './start-scenario-run';

/** The manual trigger (button, tRPC, REST): a run of a deployed scenario, under its overlap policy. */
export function runScenario({ ctx, input }: { ctx: ServiceCtx; input: z.output<typeof RunScenarioInput> }): Promise<StartedScenarioRun> {
  return startScenarioRun({ ctx, projectId: input.projectId, scenario: input.scenario, trigger: { kind: 'manual', detail: { by: actorName(ctx) }, firedAt: new Date().toISOString() } });
}
