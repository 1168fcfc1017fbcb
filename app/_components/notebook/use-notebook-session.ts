'use client';

import { useEffect, useState } from 'react';
import { WebsocketProvider } from 'y-websocket';
import type { Awareness } from 'y-protocols/awareness';
import * as Y from 'yjs';
import { distinctColor, userColor } from './user-color';

/**
 * What the page tells the user about the link to /collab. Edits never wait for it: while it is down
 * they stay in this tab's document and y-websocket's sync handshake merges them on reconnect.
 */
export type Connection =
  | { state: 'connecting' }
  | { state: 'connected' }
  | { state: 'reconnecting' }
  | { state: 'offline' }
  /** The server closed for good (4401 signed out, 4403 no access, 4404 deleted): no reconnect. */
  | { state: 'closed'; code: number; reason: string };

export type NotebookSession = { doc: Y.Doc; provider: WebsocketProvider; awareness: Awareness };
export type Me = { id: string; name: string; email: string };

function collabUrl(): string {
  return `${window.location.protocol === 'https:' ? 'wss' : 'ws'}://${window.location.host}/collab`;
}

/** One Y.Doc and one y-websocket provider for the notebook, alive while the page is. */
export function useNotebookSession(notebookId: string, me: Me) {
  const [session, setSession] = useState<NotebookSession | null>(null);
  const [connection, setConnection] = useState<Connection>({ state: 'connecting' });
  /** The document holds the server's state (at least once): before that an empty list means nothing. */
  const [loaded, setLoaded] = useState(false);

  useEffect(() => {
    const doc = new Y.Doc();
    // The session cookie goes with the upgrade on the same origin: no token needed. BroadcastChannel
    // is off so every edit goes through the server, which authorises and stores it; tabs would
    // otherwise show each other edits the server refused (a viewer's, or after a role change).
    const provider = new WebsocketProvider(collabUrl(), notebookId, doc, { disableBc: true });
    const awareness = provider.awareness;
    const joinedAt = Date.now();
    const preferred = userColor(me.id);
    awareness.setLocalStateField('user', { name: me.name, email: me.email, color: preferred, joinedAt });
    awareness.setLocalStateField('cellId', null);
    // Whoever joined later gives way when two people present share a colour; everyone sees one
    // colour per person because each client picks its own and publishes it.
    const pickColor = () => {
      const taken = new Set<string>();
      awareness.getStates().forEach((state, clientId) => {
        const user = state.user as { email?: unknown; color?: unknown; joinedAt?: unknown } | undefined;
        if (clientId === awareness.clientID || !user || user.email === me.email || typeof user.color !== 'string') return;
        const theirs = typeof user.joinedAt === 'number' ? user.joinedAt : 0;
        if (theirs < joinedAt || (theirs === joinedAt && clientId < awareness.clientID)) taken.add(user.color);
      });
      const color = distinctColor(preferred, taken);
      const current = (awareness.getLocalState()?.user as { color?: string } | undefined)?.color;
      if (color !== current) awareness.setLocalStateField('user', { name: me.name, email: me.email, color, joinedAt });
    };
    awareness.on('change', pickColor);

    let everSynced = false;
    let closed = false;
    const update = () => {
      if (closed) return;
      if (!navigator.onLine) setConnection({ state: 'offline' });
      else if (provider.wsconnected && provider.synced) setConnection({ state: 'connected' });
      else setConnection({ state: everSynced ? 'reconnecting' : 'connecting' });
    };
    const onSync = (synced: boolean) => {
      if (synced) {
        everSynced = true;
        setLoaded(true);
      }
      update();
    };
    const onClosed = (event: { code: number; reason: string }) => {
      closed = true;
      setConnection({ state: 'closed', code: event.code, reason: event.reason });
    };
    provider.on('status', update);
    provider.on('sync', onSync);
    provider.on('closed', onClosed);
    window.addEventListener('online', update);
    window.addEventListener('offline', update);
    setSession({ doc, provider, awareness });
    update();
    return () => {
      window.removeEventListener('online', update);
      window.removeEventListener('offline', update);
      provider.off('status', update);
      provider.off('sync', onSync);
      provider.off('closed', onClosed);
      awareness.off('change', pickColor);
      // destroy() also removes our awareness state, so the others see us leave at once.
      provider.destroy();
      doc.destroy();
      setSession(null);
      setLoaded(false);
    };
  }, [notebookId, me.id, me.name, me.email]);

  return { session, connection, loaded };
}
