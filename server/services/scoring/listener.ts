import type pg from 'pg';
import { listenOnChannel, type ChannelListener } from '@/db/listen';
import { SCORING_CHANNEL, parseScoringChange, type ScoringChange } from './changes';

export type ChangeListener = ChannelListener;

/**
 * One dedicated connection per process doing `LISTEN stagebook_scoring`. When the connection drops,
 * notifications sent meanwhile are lost: `onReset` (clear every cache) runs when it drops and on every
 * (re)connect, before changes are trusted again.
 */
export function listenForScoringChanges(pool: pg.Pool, handlers: { onChange: (c: ScoringChange) => void; onReset: () => void; onError?: (err: Error) => void }): ChangeListener {
  return listenOnChannel(pool, {
    channel: SCORING_CHANNEL,
    applicationName: 'stagebook-scoring-listener',
    onNotification: (payload) => {
      const change = parseScoringChange(payload);
      // A payload we cannot read still means something changed: forget everything.
      if (change) handlers.onChange(change);
      else handlers.onReset();
    },
    onReset: handlers.onReset,
    onError: handlers.onError,
    resetOnError: true,
  });
}
