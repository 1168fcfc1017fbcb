import type { ScenarioSpec } from '@/server/pipeline';
import type { ScenarioTriggerInfo } from '@/workflows/shared/scenario';

/** A scenario run as its steps see it (loaded by run-state's `loadScenarioRun`). */
export type ScenarioRunContext = { runId: string; projectId: string; scenario: string; bundleHash: string; spec: ScenarioSpec; trigger: ScenarioTriggerInfo };
