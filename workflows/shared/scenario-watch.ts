/**
 * The dataset watcher's wire types: one `scenarioWatchWorkflow` per dataset_change trigger of a
 * deployed scenario (id `scenarioWatcherId(project, scenario, index)`), started and stopped by the
 * trigger sync on activation. Imported by sandboxed workflow code: types and constants only.
 */
import { defineQuery } from '@temporalio/workflow';

/** What a watcher fingerprints: the trigger's dataset, and its column or custom SQL. */
export type DatasetFingerprintSpec = {
  projectId: string;
  dataset: string;
  /** count(*) and max(column); without it (and without sql), count(*) alone. */
  column?: string;
  /** A custom SELECT whose result changes when the data does. */
  sql?: string;
};

export type ScenarioWatchInput = DatasetFingerprintSpec & {
  scenario: string;
  triggerIndex: number;
  everyMs: number;
  /** The bundle whose deployment started this watcher (informational). */
  bundleHash?: string;
  /**
   * The fingerprint seen last: absent when unknown (a fresh watcher takes its first reading as the
   * baseline and starts nothing), null when the dataset did not exist.
   */
  lastFingerprint?: string | null;
  /** Checks before continuing as new; WATCH_CHECKS_PER_RUN unless a test shortens it. */
  checksPerRun?: number;
};

export type DatasetFingerprint = {
  /** null: the dataset does not exist in production, or the fingerprint query failed (see problem). */
  fingerprint: string | null;
  /** Why the fingerprint could not be taken (a custom SQL error, a missing column); the watcher goes on. */
  problem?: string;
};

export type StartRunForChangeInput = {
  projectId: string;
  scenario: string;
  triggerIndex: number;
  dataset: string;
  from: string | null;
  to: string | null;
  /** When the change was seen (ISO), for trigger-to-start latency. */
  firedAt: string;
  /** The watcher's workflow id and check number: the same change retried carries the same key. */
  watcher: string;
  check: number;
};

export type StartRunForChangeResult = { runId: string; started: boolean; reason?: string };

export type ScenarioWatchActivities = {
  computeDatasetFingerprint(spec: DatasetFingerprintSpec): Promise<DatasetFingerprint>;
  startScenarioRunForChange(input: StartRunForChangeInput): Promise<StartRunForChangeResult>;
};

export type ScenarioWatchState = {
  lastFingerprint: string | null | undefined;
  lastCheckedAt: string | null;
  /** Checks taken by this run of the workflow (it continues as new every few hundred). */
  checks: number;
  runsStarted: number;
  lastProblem: string | null;
};

export const scenarioWatchStateQuery = defineQuery<ScenarioWatchState>('scenarioWatchState');

/** A watcher continues as new after this many checks, carrying its last fingerprint. */
export const WATCH_CHECKS_PER_RUN = 100;

/** The memo key where a watcher keeps its fingerprint definition and last reading for the trigger sync. */
export const watcherMemoKeys = { definition: 'stagebookWatch', fingerprint: 'stagebookFingerprint' } as const;
