import type { Db } from '@/db/client';
import type { BuildActivities, TrainActivities } from '../shared';
import { createBuildActivities, type BuildActivityOptions } from './build';
import { createNotificationActivities, type NotificationActivityOptions } from './notifications';
import type { NotificationActivities } from '../shared/notifications';
import type { ScenarioActivities } from '../shared/scenario';
import { createScenarioActivities, type ScenarioActivityOptions } from './scenario';
import type { ScenarioWatchActivities } from '../shared/scenario-watch';
import { createScenarioWatchActivities } from './scenario-watch';
import { createTrainActivities } from './train';

export type ActivityDeps = { db: Db; build?: BuildActivityOptions; notifications?: NotificationActivityOptions; scenario?: ScenarioActivityOptions };

/**
 * Every activity is idempotent, keyed by (run id, step): a retry after a crash, a timeout or a
 * re-delivery finds the step already recorded and returns what was stored instead of redoing it.
 */
export function createActivities({
  db,
  build,
  notifications,
  scenario,
}: ActivityDeps): BuildActivities & NotificationActivities & ScenarioWatchActivities & ScenarioActivities & TrainActivities {
  return {
    ...createBuildActivities(db, build),
    ...createNotificationActivities(db, notifications),
    ...createScenarioWatchActivities(db),
    ...createScenarioActivities(db, scenario),
    ...createTrainActivities(db),
  };
}
