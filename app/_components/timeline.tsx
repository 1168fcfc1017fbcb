'use client';

import { useEffect, useState } from 'react';

const TICK_STEPS_MS = [100, 200, 500, 1_000, 2_000, 5_000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000, 900_000, 1_800_000, 3_600_000];
const MAX_TICKS = 7;

const ms = (d: string | null | undefined) => (d ? new Date(d).getTime() : null);

export function formatSpan(spanMs: number): string {
  if (spanMs < 1_000) return `${Math.round(spanMs)} ms`;
  if (spanMs < 60_000) return `${(spanMs / 1_000).toFixed(spanMs < 10_000 ? 1 : 0)} s`;
  const m = Math.floor(spanMs / 60_000);
  const s = Math.round((spanMs % 60_000) / 1_000);
  return s ? `${m} min ${s} s` : `${m} min`;
}

function tickLabel(t: number, step: number): string {
  if (step < 1_000) return `${(t / 1_000).toFixed(1)} s`;
  if (step < 60_000) return `${Math.round(t / 1_000)} s`;
  return `${Math.round(t / 60_000)} min`;
}

/** Re-renders every `intervalMs` while `on`: running bars and durations grow with the clock between polls. */
export function useNow(on: boolean, intervalMs = 250): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!on) return;
    const id = setInterval(() => setNow(Date.now()), intervalMs);
    return () => clearInterval(id);
  }, [on, intervalMs]);
  return now;
}

/** One row of a timeline: a step of a build or of a scenario run. */
export type TimelineItem = {
  key: string;
  label: string;
  /** The label's tooltip, when it says more than the label. */
  labelTitle?: string;
  status: string;
  startedAt: string | null;
  finishedAt: string | null;
  /** Appended to the bar's tooltip while it runs (a stage, a progress message). */
  runningDetail?: string;
};

/**
 * A run as a timeline: one horizontal bar per step on a shared time axis from the start of the run,
 * so waits, parallel branches and the slow step show at a glance. Running steps grow with the clock.
 */
export function Timeline({ live, run, items }: { live: boolean; run: { startedAt: string | null; createdAt: string; finishedAt: string | null }; items: TimelineItem[] }) {
  const now = useNow(live);
  const starts = items.map((s) => ms(s.startedAt)).filter((x): x is number => x !== null);
  const origin = Math.min(ms(run.startedAt) ?? ms(run.createdAt) ?? now, ...starts);
  const ends = items.map((s) => ms(s.finishedAt)).filter((x): x is number => x !== null);
  const end = live ? Math.max(now, ...ends) : Math.max(ms(run.finishedAt) ?? origin, ...ends, origin + 1);
  const span = Math.max(end - origin, 1);
  const tickStep = TICK_STEPS_MS.find((s) => span / s <= MAX_TICKS) ?? TICK_STEPS_MS[TICK_STEPS_MS.length - 1]!;
  const ticks: number[] = [];
  for (let t = 0; t <= span; t += tickStep) ticks.push(t);
  const pct = (t: number) => `${Math.min(100, Math.max(0, (t / span) * 100))}%`;

  return (
    <figure className="timeline" aria-label="Run timeline">
      <div className="timeline-axis" aria-hidden>
        <div className="timeline-label" />
        <div className="timeline-track">
          {ticks.map((t) => (
            <span key={t} className="timeline-tick" style={{ left: pct(t) }}>
              {tickLabel(t, tickStep)}
            </span>
          ))}
        </div>
      </div>
      <ol className="timeline-rows">
        {items.map((s) => {
          const start = ms(s.startedAt);
          const finish = ms(s.finishedAt) ?? (s.status === 'running' ? now : null);
          const duration = start !== null && finish !== null ? finish - start : null;
          return (
            <li key={s.key} className="timeline-row" data-step={s.key} data-status={s.status}>
              <div className="timeline-label" title={s.labelTitle ?? s.label}>
                {s.label}
              </div>
              <div className="timeline-track">
                {ticks.map((t) => (
                  <span key={t} className="timeline-grid" style={{ left: pct(t) }} aria-hidden />
                ))}
                {start !== null ? (
                  <span
                    className={`timeline-bar timeline-bar-${s.status}`}
                    style={{ left: pct(start - origin), width: `max(3px, ${((Math.max(0, (finish ?? start) - start) / span) * 100).toFixed(3)}%)` }}
                    title={`${s.status}${duration !== null ? `, ${formatSpan(duration)}` : ''}${s.status === 'running' && s.runningDetail ? `: ${s.runningDetail}` : ''}`}
                  >
                    <span className="sr-only">
                      {s.status}
                      {duration !== null ? `, ${formatSpan(duration)}` : ''}
                    </span>
                  </span>
                ) : (
                  <span className="timeline-waiting">{s.status === 'pending' ? 'waiting' : s.status}</span>
                )}
                {duration !== null && start !== null && <DurationLabel start={(start - origin) / span} end={(start + duration - origin) / span} text={formatSpan(duration)} />}
              </div>
            </li>
          );
        })}
      </ol>
    </figure>
  );
}

/** Beside the bar where there is room: after it, before it near the right edge, or inside a wide one. */
function DurationLabel({ start, end, text }: { start: number; end: number; text: string }) {
  const p = (f: number) => `${(Math.min(1, Math.max(0, f)) * 100).toFixed(3)}%`;
  if (end - start >= 0.18)
    return (
      <span className="timeline-duration timeline-duration-inside" style={{ right: `calc(100% - ${p(end)} + 6px)` }} aria-hidden>
        {text}
      </span>
    );
  if (end <= 0.82)
    return (
      <span className="timeline-duration" style={{ left: `calc(${p(end)} + 6px)` }} aria-hidden>
        {text}
      </span>
    );
  return (
    <span className="timeline-duration" style={{ right: `calc(100% - ${p(start)} + 6px)` }} aria-hidden>
      {text}
    </span>
  );
}
