'use client';

import { useEffect, useState } from 'react';
import type { Awareness } from 'y-protocols/awareness';
import { initials, safeColor, withAlpha } from './user-color';

/** One connected client (a tab) as its awareness state describes it. */
export type Peer = { clientId: number; name: string; email: string; color: string; cellId: string | null; isMe: boolean };

function readPeers(awareness: Awareness): Peer[] {
  const out: Peer[] = [];
  awareness.getStates().forEach((state, clientId) => {
    const user = state.user as { name?: unknown; email?: unknown; color?: unknown } | undefined;
    if (!user) return;
    const name = typeof user.name === 'string' && user.name.trim() ? user.name.slice(0, 80) : 'Someone';
    const email = typeof user.email === 'string' ? user.email.slice(0, 200) : '';
    out.push({
      clientId,
      name,
      email,
      color: safeColor(user.color, String(clientId)),
      cellId: typeof state.cellId === 'string' ? state.cellId : null,
      isMe: clientId === awareness.clientID,
    });
  });
  return out;
}

/** Everyone in the notebook, me first; re-read on every awareness change (presence is small). */
export function usePeers(awareness: Awareness): Peer[] {
  const [peers, setPeers] = useState(() => readPeers(awareness));
  useEffect(() => {
    const onChange = () => setPeers(readPeers(awareness));
    onChange();
    awareness.on('change', onChange);
    return () => awareness.off('change', onChange);
  }, [awareness]);
  return peers;
}

/** One entry per person (several tabs of one user show once), me first. */
export function people(peers: Peer[]): Peer[] {
  const byKey = new Map<string, Peer>();
  for (const p of [...peers].sort((a, b) => Number(b.isMe) - Number(a.isMe))) {
    const key = p.email || `client-${p.clientId}`;
    if (!byKey.has(key)) byKey.set(key, p);
  }
  return [...byKey.values()];
}

export function Avatar({ peer, size = 'md' }: { peer: Peer; size?: 'sm' | 'md' }) {
  const label = `${peer.name}${peer.isMe ? ' (you)' : ''}`;
  return (
    <span
      className={`presence-avatar presence-avatar-${size}${peer.isMe ? ' presence-avatar-me' : ''}`}
      style={{ background: peer.color }}
      title={peer.email ? `${label} · ${peer.email}` : label}
      aria-label={label}
      role="img"
      data-email={peer.email}
    >
      {initials(peer.name)}
    </span>
  );
}

export function PresenceAvatars({ peers }: { peers: Peer[] }) {
  const list = people(peers);
  return (
    <div className="presence" aria-label={`${list.length} ${list.length === 1 ? 'person' : 'people'} here`}>
      {list.map((p) => (
        <Avatar key={p.clientId} peer={p} />
      ))}
    </div>
  );
}

/** A CSS string literal that cannot end the rule or the style element, whatever the name holds. */
function cssString(value: string): string {
  return `"${[...value].map((ch) => (/[\p{L}\p{N} .,'_-]/u.test(ch) ? ch : `\\${ch.codePointAt(0)!.toString(16)} `)).join('')}"`;
}

/**
 * y-monaco marks other people's selections with `yRemoteSelection-<clientId>` and their carets with
 * `yRemoteSelectionHead-<clientId>`; these rules give each its owner's colour and name.
 */
export function RemoteSelectionStyles({ peers }: { peers: Peer[] }) {
  const css = peers
    .filter((p) => !p.isMe)
    .map((p) => {
      const id = Math.trunc(p.clientId);
      return [
        `.yRemoteSelection-${id}{background-color:${withAlpha(p.color, 0.22)}}`,
        `.yRemoteSelectionHead-${id}{border-color:${p.color}}`,
        `.yRemoteSelectionHead-${id}::after{content:${cssString(p.name)};background:${p.color}}`,
      ].join('\n');
    })
    .join('\n');
  return <style data-remote-selections>{css}</style>;
}
