'use client';

import { formatSpan, Timeline } from '../timeline';
import { isLive, type Build, type BuildStep } from './build-types';

export { formatSpan };

/** A build on the shared timeline: its steps (parallel branches side by side in time). */
export function RunTimeline({ build, stepLabel }: { build: Build; stepLabel: (step: BuildStep) => string }) {
  return (
    <Timeline
      live={isLive(build.status)}
      run={build}
      items={build.steps.map((s) => ({
        key: s.stepId,
        label: stepLabel(s),
        status: s.status,
        startedAt: s.startedAt,
        finishedAt: s.finishedAt,
        ...(s.progress ? { runningDetail: `${s.progress.stage}, ${s.progress.message}` } : {}),
      }))}
    />
  );
}
