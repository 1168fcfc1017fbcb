import { predict } from '@/server/scoring/session-cache';
import type { PredictionLogRecorder } from './prediction-log-recorder';
import { labelAtThreshold, type EndpointConfig } from './endpoint-config';

/** Shadow scorings running at once at most; past it a request's shadow is skipped (and counted). */
const MAX_IN_FLIGHT = 4;

/**
 * Shadow scoring: after a request is answered, its records are scored again by the endpoint's shadow
 * version and logged (`shadow` rows, paired with the served rows), never returned. It starts on a
 * later turn of the event loop (`setImmediate`), so the answer is serialised and sent first, and it
 * can never fail the request: errors (a record the challenger's schema refuses, a session failure)
 * are counted, as are requests skipped because `MAX_IN_FLIGHT` shadow scorings were running, which
 * bounds what a challenger costs a busy process (at most that many extra sessions' work queued).
 */
export class ShadowScorer {
  /** Records scored and logged by shadow versions since the process started. */
  scored = 0;
  /** Records whose shadow scoring failed. */
  failed = 0;
  /** Records not shadow-scored because too many shadow scorings were running. */
  skipped = 0;
  private readonly pending = new Set<Promise<void>>();

  constructor(private readonly log: PredictionLogRecorder) {}

  /** Schedules the shadow scoring of an answered request; `pairIds[i]` is record i's served row's pair id. */
  score(config: EndpointConfig, records: readonly unknown[], pairIds: readonly string[], requestId: string | null): void {
    const shadow = config.shadow;
    if (!shadow) return;
    if (this.pending.size >= MAX_IN_FLIGHT) {
      this.skipped += records.length;
      return;
    }
    const run: Promise<void> = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => predict(shadow.session, shadow.schema, records, shadow.offload))
      .then(
        (scored) => {
          const at = Date.now();
          // The endpoint's threshold labels the challenger's answers too: the label agreement compares like with like.
          const classes = { positiveClass: shadow.positiveClass, negativeClass: shadow.schema.classes[1 - shadow.schema.positiveIndex]! };
          for (let i = 0; i < scored.length; i++) {
            const p = scored[i]!;
            this.log.record({ endpointId: config.endpointId, versionId: shadow.versionId, bundleHash: config.bundleHash, at, requestId, record: records[i], probability: p.probabilities.pos, label: labelAtThreshold(config.threshold, p.label, p.probabilities.pos, classes), shadow: true, pairId: pairIds[i] ?? null });
          }
          this.scored += scored.length;
        },
        (err: unknown) => {
          // Logged on the first failure and every 1000th after: a challenger whose schema refuses
          // every record would otherwise log once per request.
          if (this.failed === 0 || Math.floor((this.failed + records.length) / 1000) > Math.floor(this.failed / 1000)) {
            console.warn(`endpoint "${config.name}": shadow scoring with v${shadow.version} failed (${this.failed + records.length} records since start)`, err);
          }
          this.failed += records.length;
        },
      )
      .finally(() => this.pending.delete(run));
    this.pending.add(run);
  }

  /** Resolves once every shadow scoring scheduled so far has logged its rows (before a flush). */
  async settled(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }
}
