/**
 * Upgrade safety for running workflows: the histories recorded from real runs of every workflow kind
 * (tests/fixtures/workflow-histories/, re-recorded with its record.test.ts) replay against the
 * current workflow code. A change that would break a running watcher or scenario run (a new, removed
 * or reordered activity, timer or child without `patched()`) fails here with a determinism error.
 * No server: replay runs in the SDK's replay worker. Also bounds the workflow bundle's size.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { HistoryAndWorkflowId } from '@temporalio/client';
import { DeterminismViolationError } from '@temporalio/workflow';
import { Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { beforeAll, describe, expect, it } from 'vitest';
import { workflowNames } from '@/workflows/shared';
import { scenarioWorkflowNames } from '@/workflows/shared/scenario';
import { workflowBundle } from '@/workflows/worker';
import { quietTemporalRuntime } from '../helpers/temporal';
import { historyFromJson } from '../helpers/workflow-history';

const dir = fileURLToPath(new URL('../fixtures/workflow-histories/', import.meta.url));
type Recorded = { file: string; workflowId: string; workflowType: string; history: unknown };
const recorded: Recorded[] = readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((file) => ({ file, ...(JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as Omit<Recorded, 'file'>) }));

/**
 * The bundle is the workflow code, the shared wire types and the SDK's workflow runtime: 567 kB of
 * code (plus its inline source map) when this was written. A stray import of server code or a
 * library into workflow code shows up here first.
 */
const BUNDLE_MAX_BYTES = 750_000;
const SOURCE_MAP = '//# sourceMappingURL=data:application/json;charset=utf-8;base64,';

let bundle: WorkflowBundleWithSourceMap;

const replay = async (items: HistoryAndWorkflowId[]) => {
  const results: { workflowId: string; error?: Error }[] = [];
  for await (const r of Worker.runReplayHistories({ workflowBundle: bundle }, items)) results.push({ workflowId: r.workflowId, ...(r.error ? { error: r.error } : {}) });
  return results;
};

beforeAll(async () => {
  quietTemporalRuntime();
  bundle = await workflowBundle();
}, 120_000);

describe('recorded workflow histories replay against the current workflow code', () => {
  it('covers every workflow kind', () => {
    const kinds = new Set(recorded.map((r) => r.workflowType));
    expect([...kinds].sort()).toEqual([...new Set([...Object.values(workflowNames), ...Object.values(scenarioWorkflowNames)])].sort());
  });

  it('replays every recorded history without a determinism error', async () => {
    const results = await replay(recorded.map((r) => ({ workflowId: r.workflowId, history: historyFromJson(r.history) })));
    const failures = results.filter((r) => r.error).map((r) => `${recorded.find((x) => x.workflowId === r.workflowId)?.file}: ${r.error!.message}`);
    expect(failures).toEqual([]);
    expect(results).toHaveLength(recorded.length);
  }, 60_000);

  it('fails when the code no longer matches a history (an activity the code does not schedule)', async () => {
    // What a reordered or renamed activity looks like to replay: the history says another activity
    // was scheduled than the one the code schedules at that point.
    const build = recorded.find((r) => r.workflowType === workflowNames.build)!;
    const history = historyFromJson(JSON.parse(JSON.stringify(build.history)));
    const scheduled = history.events!.find((e) => e.activityTaskScheduledEventAttributes)!;
    scheduled.activityTaskScheduledEventAttributes!.activityType = { name: 'someOtherActivity' };
    const [result] = await replay([{ workflowId: build.workflowId, history }]);
    expect(result!.error).toBeInstanceOf(DeterminismViolationError);
  }, 60_000);

  it(`keeps the workflow bundle under ${BUNDLE_MAX_BYTES / 1000} kB, made of workflow code and the SDK only`, () => {
    const at = bundle.code.lastIndexOf(SOURCE_MAP);
    expect(at).toBeGreaterThan(0);
    expect(Buffer.byteLength(bundle.code.slice(0, at))).toBeLessThan(BUNDLE_MAX_BYTES);
    const map = JSON.parse(Buffer.from(bundle.code.slice(at + SOURCE_MAP.length).trim(), 'base64').toString('utf8')) as { sources: string[] };
    const foreign = map.sources.filter(
      (s) => !/^webpack\/|\/node_modules\/(@temporalio\/(workflow|common)|long|nexus-rpc|ms)\//.test(s) && !/\/workflows\/(workflows|shared)\/[^/]+\.(ts|cjs)$/.test(s),
    );
    expect(foreign).toEqual([]);
  });
});
