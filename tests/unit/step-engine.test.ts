import { afterEach, describe, expect, it, vi } from 'vitest';
import { SandboxCancelled } from '@/server/services/datasets/sql-sandbox';
import { runStep, StepStopped, type StepAttempt, type StepLedger } from '@/server/services/runs/step-engine';

/**
 * The step engine that build and scenario steps share, against an in-memory ledger: what a retried
 * activity finds, how each way of ending is recorded, and the heartbeat a cancellation relies on.
 */

class UserMistake extends Error {}

type Row = { status: 'open' | 'succeeded' | 'failed' | 'cancelled'; log: string[]; error?: string; stored?: string };

function memoryLedger(row: Row, opts: { liveLog?: boolean } = {}) {
  const saves: string[][] = [];
  const ledger: StepLedger<string, { id: string }> = {
    claim: async () => (row.status === 'succeeded' ? { stored: row.stored! } : { open: { id: 'step-1' }, log: row.log }),
    refusalOf: (err) => (err instanceof UserMistake ? err.message : null),
    saveLog: async (log) => {
      saves.push([...log]);
      row.log = [...log];
    },
    close: async ({ status, error, log }) => Object.assign(row, { status, error, log: [...log] }),
    cancelledError: 'the run was cancelled',
    ...(opts.liveLog ? { liveLog: true } : {}),
  };
  return { ledger, saves };
}

function attemptOf(n: number, o: { abort?: AbortController; cancelRequested?: boolean } = {}) {
  const beats: unknown[] = [];
  const attempt: StepAttempt = {
    attempt: n,
    workflowId: 'wf-1',
    signal: (o.abort ?? new AbortController()).signal,
    cancelRequested: () => o.cancelRequested ?? false,
    heartbeat: (d) => beats.push(d),
  };
  return { attempt, beats };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('the step engine', () => {
  it('answers a step that already succeeded with what it stored, without running it again', async () => {
    const { ledger } = memoryLedger({ status: 'succeeded', log: [], stored: 'first result' });
    const body = vi.fn(async () => 'second result');
    expect(await runStep(ledger, attemptOf(2).attempt, body)).toBe('first result');
    expect(body).not.toHaveBeenCalled();
  });

  it("closes a step failed on the user's mistake, with the reason in its log, and says so (not retried)", async () => {
    const row: Row = { status: 'open', log: [] };
    const { ledger } = memoryLedger(row);
    const run = runStep(ledger, attemptOf(1).attempt, async (io) => {
      io.say('reading "credit"');
      throw new UserMistake('column "age" does not exist');
    });
    await expect(run).rejects.toEqual(new StepStopped('failed', 'column "age" does not exist'));
    await expect(run).rejects.toMatchObject({ type: 'failed' });
    expect(row).toMatchObject({ status: 'failed', error: 'column "age" does not exist' });
    expect(row.log.map((l) => l.replace(/^\S+ /, ''))).toEqual(['reading "credit"', 'failed: column "age" does not exist']);
    expect(row.log[0]).toMatch(/^\d+\.\d\ds /);
  });

  it('leaves a step open and rethrows the very error on a transient failure, logging it for the next attempt, which continues the log', async () => {
    const row: Row = { status: 'open', log: [] };
    const { ledger } = memoryLedger(row);
    const reset = new Error('connection reset');
    await expect(runStep(ledger, attemptOf(1).attempt, async () => Promise.reject(reset))).rejects.toBe(reset);
    expect(row.status).toBe('open');
    expect(row.log.at(-1)).toMatch(/attempt 1 failed: connection reset$/);

    expect(await runStep(ledger, attemptOf(2).attempt, async (io) => (io.log.length === 2 ? 'done' : `log of ${io.log.length}`))).toBe('done');
    expect(row.log).toHaveLength(1);
  });

  it('closes a step cancelled when the run was cancelled, and only leaves it open when this attempt alone was stopped', async () => {
    const cancelled: Row = { status: 'open', log: [] };
    const abort = new AbortController();
    abort.abort();
    await expect(
      runStep(memoryLedger(cancelled).ledger, attemptOf(1, { abort, cancelRequested: true }).attempt, async () => {
        throw new SandboxCancelled();
      }),
    ).rejects.toMatchObject({ type: 'cancelled' });
    expect(cancelled).toMatchObject({ status: 'cancelled', error: 'the run was cancelled' });
    expect(cancelled.log.at(-1)).toMatch(/ cancelled$/);

    const stopped: Row = { status: 'open', log: [] };
    const { ledger, saves } = memoryLedger(stopped);
    await expect(
      runStep(ledger, attemptOf(3, { abort, cancelRequested: false }).attempt, async () => {
        throw new Error('the query was cancelled');
      }),
    ).rejects.toMatchObject({ type: 'interrupted' });
    expect(stopped.status).toBe('open');
    expect(saves.at(-1)!.map((l) => l.replace(/^\S+ /, ''))).toEqual(['attempt 3: starting over', 'attempt 3 stopped (its worker is shutting down or it timed out); the next attempt starts over']);
  });

  it('stores each line as it is said when the kind keeps a live log', async () => {
    const row: Row = { status: 'open', log: ['0.01s from the first attempt'] };
    const { ledger, saves } = memoryLedger(row, { liveLog: true });
    await runStep(ledger, attemptOf(1).attempt, async (io) => {
      io.say('one');
      io.say('two');
      return 'ok';
    });
    expect(saves.map((s) => s.length)).toEqual([2, 3]);
    expect(saves[1]![0]).toBe('0.01s from the first attempt');
  });

  it('heartbeats at once, then the newest progress every second while the body runs, and stops after', async () => {
    vi.useFakeTimers();
    const { ledger } = memoryLedger({ status: 'open', log: [] });
    const { attempt, beats } = attemptOf(1);
    let finish!: (v: string) => void;
    const run = runStep(ledger, attempt, (io) => {
      io.heartbeat({ stage: 'reading', rows: 10 });
      return new Promise<string>((resolve) => (finish = resolve));
    });
    await vi.advanceTimersByTimeAsync(0);
    expect(beats).toEqual(['starting', { stage: 'reading', rows: 10 }]);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(beats).toEqual(['starting', { stage: 'reading', rows: 10 }, { stage: 'reading', rows: 10 }, { stage: 'reading', rows: 10 }]);
    finish('ok');
    expect(await run).toBe('ok');
    await vi.advanceTimersByTimeAsync(5_000);
    expect(beats).toHaveLength(4);
  });
});
