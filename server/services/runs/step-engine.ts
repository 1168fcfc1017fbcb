import { SandboxCancelled } from '../datasets/sql-sandbox';

/**
 * The one step engine of builds and scenario runs: a step is claimed by an activity attempt,
 * heartbeats while it runs, keeps a log, and is closed once. Each kind says how its steps are
 * stored (a `StepLedger`: build_steps, scenario_run_steps) and what its body does; the engine owns
 * the life around it, the same for both:
 *
 * - claim: a step that already finished answers what it stored (a retry after a lost result
 *   redoes nothing); otherwise this attempt takes it over.
 * - heartbeat: the newest progress is sent at once and again every second, so a cancellation
 *   reaches a running query within about a second and a dead worker's step times out.
 * - log: `say` adds a line stamped with the seconds since the attempt began.
 * - close: a failure of the user's (the kind's `refusalOf`) closes the step failed and is not
 *   retried; the run's cancellation closes it cancelled; an attempt stopped alone (its worker
 *   shutting down, a timeout) leaves it open for the next attempt; anything else is transient:
 *   logged, and the activity retries. A body closes its own success, since a build publishes its
 *   table in the same transaction.
 */

/** What the activity hands a step: which attempt it is, its cancellation and Temporal's heartbeat. */
export type StepAttempt = {
  attempt: number;
  workflowId: string;
  signal: AbortSignal;
  /**
   * True when the abort is the run's cancellation, false when this attempt alone is stopped (its
   * worker shutting down, a timeout): then the step stays open for the next attempt.
   */
  cancelRequested: () => boolean;
  heartbeat: (details: unknown) => void;
};

/** How a step ended when it did not succeed; the activity turns each into the right Temporal failure. */
export class StepStopped extends Error {
  constructor(
    readonly type: 'failed' | 'cancelled' | 'interrupted',
    message: string,
  ) {
    super(message);
    this.name = 'StepStopped';
  }
}

/** Where a kind keeps its steps, for the engine: `T` is a step's outcome, `S` what its body works on. */
export type StepLedger<T, S> = {
  /**
   * Takes the step over for the attempt: what a finished step stored, or the open step and the log
   * it continues. Throws when it finished otherwise.
   */
  claim: () => Promise<{ stored: T } | { open: S; log: string[] }>;
  /** The user's mistake in `err`, as a sentence (the step fails, not retried), or null. */
  refusalOf: (err: unknown) => string | null;
  /** Stores the log of the step the attempt still owns. */
  saveLog: (log: string[]) => Promise<unknown>;
  /** Closes the step the attempt owns as failed or cancelled; `cause` is what stopped it. */
  close: (end: { status: 'failed' | 'cancelled'; error: string; log: string[]; cause: unknown }) => Promise<unknown>;
  /** The error a cancelled step records ("the build was cancelled"). */
  cancelledError: string;
  /** The log line of a cancellation, when the kind says more than "cancelled". */
  cancelledLine?: () => string;
  /** Stores each line as it is said (a long step's log is read while it runs); else the body stores it. */
  liveLog?: boolean;
};

/** What a body gets: the attempt, its log, and a heartbeat that also keeps the timer's details. */
export type StepIo = { attempt: StepAttempt; log: string[]; say: (line: string) => void; heartbeat: (details: unknown) => void };

const HEARTBEAT_EVERY_MS = 1_000;

/** Runs one step's attempt: claim, heartbeat, log and close around `body` (see the module comment). */
export async function runStep<T, S>(ledger: StepLedger<T, S>, attempt: StepAttempt, body: (io: StepIo, step: S) => Promise<T>): Promise<T> {
  const claimed = await ledger.claim();
  if ('stored' in claimed) return claimed.stored;
  const log = [...claimed.log];
  const started = performance.now();
  const say = (line: string) => {
    log.push(`${secondsText(performance.now() - started)} ${line}`);
    if (ledger.liveLog) void ledger.saveLog([...log]).catch(() => {});
  };
  let details: unknown = 'starting';
  attempt.heartbeat(details);
  const timer = setInterval(() => attempt.heartbeat(details), HEARTBEAT_EVERY_MS);
  const heartbeat = (d: unknown) => {
    details = d;
    attempt.heartbeat(d);
  };
  try {
    if (attempt.attempt > 1) say(`attempt ${attempt.attempt}: starting over`);
    return await body({ attempt, log, say, heartbeat }, claimed.open);
  } catch (err) {
    throw await stopped(ledger, attempt, log, say, err);
  } finally {
    clearInterval(timer);
  }
}

/** Records why the attempt ended and returns what to throw. */
async function stopped<T, S>(ledger: StepLedger<T, S>, attempt: StepAttempt, log: string[], say: (line: string) => void, err: unknown): Promise<unknown> {
  if (attempt.signal.aborted || err instanceof SandboxCancelled) {
    if (!attempt.cancelRequested()) {
      say(`attempt ${attempt.attempt} stopped (its worker is shutting down or it timed out); the next attempt starts over`);
      await ledger.saveLog(log).catch(() => {});
      return new StepStopped('interrupted', `attempt ${attempt.attempt} was stopped`);
    }
    say(ledger.cancelledLine?.() ?? 'cancelled');
    await ledger.close({ status: 'cancelled', error: ledger.cancelledError, log, cause: err }).catch(() => {});
    return new StepStopped('cancelled', ledger.cancelledError);
  }
  const refusal = ledger.refusalOf(err);
  if (refusal !== null) {
    say(`failed: ${refusal}`);
    await ledger.close({ status: 'failed', error: refusal, log, cause: err });
    return new StepStopped('failed', refusal);
  }
  // Transient (or a bug): the activity retries the step; the next attempt starts over.
  say(`attempt ${attempt.attempt} failed: ${err instanceof Error ? err.message : String(err)}`);
  await ledger.saveLog(log).catch(() => {});
  return err;
}

function secondsText(ms: number): string {
  return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)}s`;
}
