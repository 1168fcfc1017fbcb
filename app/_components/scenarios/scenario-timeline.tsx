'use client';

import { Timeline, useNow } from '../timeline';
import { isRunLive, type ScenarioRun } from './scenario-types';

export { useNow };

export const stepTitle = (s: { index: number; name: string }) => `${s.index + 1}. ${s.name}`;

/** A scenario run's steps on the shared timeline: they run one after another, so the slow one shows. */
export function ScenarioTimeline({ run }: { run: ScenarioRun }) {
  return (
    <Timeline
      live={isRunLive(run.status)}
      run={run}
      items={run.steps.map((s) => ({ key: String(s.index), label: stepTitle(s), labelTitle: `${stepTitle(s)} (${s.type})`, status: s.status, startedAt: s.startedAt, finishedAt: s.finishedAt }))}
    />
  );
}
