import { assertNever } from './cell-kinds';
import type { Connection } from './use-notebook-session';

function describe(c: Connection): { label: string; detail: string } {
  switch (c.state) {
    case 'connecting':
      return { label: 'Connecting…', detail: 'Opening the live notebook.' };
    case 'connected':
      return { label: 'Live', detail: 'Connected: edits are shared as you type.' };
    case 'reconnecting':
      return { label: 'Reconnecting…', detail: 'The connection dropped. Keep working: your edits are kept here and merge when it returns.' };
    case 'offline':
      return { label: 'Offline', detail: 'You are offline. Your edits stay in this tab and merge when you are back online.' };
    case 'closed':
      if (c.code === 4401) return { label: 'Signed out', detail: 'Your session ended. Sign in again to keep editing.' };
      if (c.code === 4403) return { label: 'No access', detail: 'You are no longer a member of this notebook’s team.' };
      if (c.code === 4404) return { label: 'Deleted', detail: 'This notebook was deleted.' };
      return { label: 'Disconnected', detail: c.reason || `The server closed the connection (${c.code}).` };
    default:
      return assertNever(c, 'connection');
  }
}

export function ConnectionStatus({ connection }: { connection: Connection }) {
  const { label, detail } = describe(connection);
  return (
    <span className={`connection connection-${connection.state}`} role="status" title={detail} data-state={connection.state}>
      <span className="connection-dot" aria-hidden />
      {label}
    </span>
  );
}

/** The sentence under the header when the link is not live; nothing when it is. */
export function ConnectionNotice({ connection }: { connection: Connection }) {
  if (connection.state === 'connected' || connection.state === 'connecting') return null;
  const { detail } = describe(connection);
  return (
    <p className={connection.state === 'closed' ? 'error' : 'connection-notice'} role={connection.state === 'closed' ? 'alert' : undefined}>
      {detail}
    </p>
  );
}
