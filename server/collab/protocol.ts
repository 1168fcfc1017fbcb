/**
 * The y-websocket wire format (what the stock `y-websocket` client and server speak): every frame is
 * a varuint message type followed by its payload, lib0-encoded.
 */
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import * as authProtocol from 'y-protocols/auth';
import * as awarenessProtocol from 'y-protocols/awareness';
import * as syncProtocol from 'y-protocols/sync';
import * as Y from 'yjs';

export const messageSync = 0;
export const messageAwareness = 1;
export const messageAuth = 2;
export const messageQueryAwareness = 3;

export const { messageYjsSyncStep1, messageYjsSyncStep2, messageYjsUpdate } = syncProtocol;

/** Close codes. 4400-4499 tell the stock client not to reconnect (a decision retrying cannot change). */
export const CloseCode = {
  goingAway: 1001,
  tryAgainLater: 1013,
  internalError: 1011,
  badRequest: 4400,
  unauthorized: 4401,
  forbidden: 4403,
  notFound: 4404,
  /** A frame larger than the per-update cap, or an edit that would grow the document past its cap. */
  tooLarge: 4413,
} as const;

export function syncStep1Message(doc: Y.Doc): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, messageSync);
  syncProtocol.writeSyncStep1(e, doc);
  return encoding.toUint8Array(e);
}

export function syncStep2Message(doc: Y.Doc, stateVector: Uint8Array): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, messageSync);
  encoding.writeVarUint(e, messageYjsSyncStep2);
  encoding.writeVarUint8Array(e, Y.encodeStateAsUpdate(doc, stateVector));
  return encoding.toUint8Array(e);
}

export function updateMessage(update: Uint8Array): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, messageSync);
  syncProtocol.writeUpdate(e, update);
  return encoding.toUint8Array(e);
}

/** y-protocols' auth message "permission denied" with a reason (the stock client logs it as a warning). */
export function permissionDeniedMessage(reason: string): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, messageAuth);
  authProtocol.writePermissionDenied(e, reason);
  return encoding.toUint8Array(e);
}

export function awarenessMessage(awareness: awarenessProtocol.Awareness, clients: number[]): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, messageAwareness);
  encoding.writeVarUint8Array(e, awarenessProtocol.encodeAwarenessUpdate(awareness, clients));
  return encoding.toUint8Array(e);
}

export type IncomingMessage =
  | { type: 'syncStep1'; stateVector: Uint8Array }
  | { type: 'syncStep2' | 'update'; update: Uint8Array }
  | { type: 'awareness'; update: Uint8Array }
  | { type: 'queryAwareness' }
  | { type: 'ignored' };

/** Decodes one frame; throws on a malformed one. */
export function decodeMessage(data: Uint8Array): IncomingMessage {
  const d = decoding.createDecoder(data);
  switch (decoding.readVarUint(d)) {
    case messageSync:
      switch (decoding.readVarUint(d)) {
        case messageYjsSyncStep1:
          return { type: 'syncStep1', stateVector: decoding.readVarUint8Array(d) };
        case messageYjsSyncStep2:
          return { type: 'syncStep2', update: decoding.readVarUint8Array(d) };
        case messageYjsUpdate:
          return { type: 'update', update: decoding.readVarUint8Array(d) };
        default:
          throw new Error('unknown sync message type');
      }
    case messageAwareness:
      return { type: 'awareness', update: decoding.readVarUint8Array(d) };
    case messageQueryAwareness:
      return { type: 'queryAwareness' };
    default:
      // messageAuth and anything newer: clients never need an answer.
      return { type: 'ignored' };
  }
}
