/**
 * The cron builder (and any other form that rewrites a cell's YAML) edits the cell's Y.Text in place:
 * only the characters that change are deleted and inserted, so a collaborator's cursor elsewhere in
 * the cell (a Yjs relative position, as y-monaco keeps it) stays on its characters.
 */
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { withScheduleTrigger } from '@/app/_components/scenarios/scenario-yaml';
import { editText, rewriteText } from '@/server/domain/text-edit';

const source = `# nightly refresh (owner: risk team)
name: nightly
triggers:
  - type: manual
  - type: schedule # the main one
    cron: "0 6 * * *"
    timezone: Europe/Paris
steps:
  - type: build
    datasets: [credit_clean]
`;

/** Two clients of one cell: the author (a) and a collaborator (b), kept in sync by their updates. */
function twoClients(text: string) {
  const a = new Y.Doc();
  const b = new Y.Doc();
  a.on('update', (u: Uint8Array, origin: unknown) => origin !== 'remote' && Y.applyUpdate(b, u, 'remote'));
  b.on('update', (u: Uint8Array, origin: unknown) => origin !== 'remote' && Y.applyUpdate(a, u, 'remote'));
  a.getText('source').insert(0, text);
  return { a: a.getText('source'), b: b.getText('source'), bDoc: b };
}

/** The collaborator's cursor just before `marker`, kept as y-monaco keeps it: a relative position. */
function cursorBefore(text: Y.Text, marker: string) {
  const index = text.toString().indexOf(marker);
  expect(index).toBeGreaterThanOrEqual(0);
  return Y.createRelativePositionFromTypeIndex(text, index);
}
const whereIs = (doc: Y.Doc, text: Y.Text, pos: Y.RelativePosition) => Y.createAbsolutePositionFromRelativePosition(pos, doc)!.index;

describe('editing a cell from a form keeps collaborators cursors', () => {
  const cases = [
    ['the builder changes an existing schedule (cron and zone)', withScheduleTrigger(source, 1, '30 7 * * 1-5', 'America/New_York')!],
    ['the builder adds a schedule trigger', withScheduleTrigger(source, null, '0 2 * * *', 'UTC')!],
  ] as const;

  for (const [what, updated] of cases) {
    it(`${what}: a cursor outside the changed characters stays on its character`, () => {
      const { a, b, bDoc } = twoClients(source);
      // Before the change, between the two changed values (on "timezone:"), and after it.
      const markers = ['nightly refresh', 'name: nightly', 'timezone:', 'type: build', 'credit_clean]'];
      const cursors = markers.map((m) => cursorBefore(b, m));
      a.doc!.transact(() => editText(a, updated));
      expect(b.toString()).toBe(updated);
      for (const [i, marker] of markers.entries()) expect(b.toString().slice(whereIs(bDoc, b, cursors[i]!)), marker).toMatch(new RegExp(`^${marker.replace(/[[\]()]/g, '\\$&')}`));
    });
  }

  it('the old way, replacing the whole text, moves the cursor (what this guards against)', () => {
    const { a, b, bDoc } = twoClients(source);
    const cursor = cursorBefore(b, 'type: build');
    a.doc!.transact(() => {
      a.delete(0, a.length);
      a.insert(0, cases[0][1]);
    });
    expect(b.toString().slice(whereIs(bDoc, b, cursor)).startsWith('type: build')).toBe(false);
  });

  it('a single-range rewrite moves a cursor that sits between two changed places; the character edit does not', () => {
    const updated = cases[0][1];
    for (const [edit, stays] of [[rewriteText, false], [editText, true]] as const) {
      const { a, b, bDoc } = twoClients(source);
      const cursor = cursorBefore(b, 'timezone:');
      a.doc!.transact(() => edit(a, updated));
      expect(b.toString().slice(whereIs(bDoc, b, cursor)).startsWith('timezone:')).toBe(stays);
    }
  });

  it('ends at exactly the target text, for random edits with characters outside the BMP', () => {
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const alphabet = ['a', 'b', ' ', '\n', 'é', '😀', '#'];
    const word = (n: number) => Array.from({ length: n }, () => alphabet[Math.floor(random() * alphabet.length)]).join('');
    for (let round = 0; round < 200; round++) {
      const { a, b } = twoClients(word(Math.floor(random() * 40)));
      const target = word(Math.floor(random() * 40));
      a.doc!.transact(() => editText(a, target));
      expect(a.toString()).toBe(target);
      expect(b.toString()).toBe(target);
    }
    // A text too different for a character diff still ends right (one range).
    const { a } = twoClients('x'.repeat(5_000));
    a.doc!.transact(() => editText(a, 'y'.repeat(5_000)));
    expect(a.toString()).toBe('y'.repeat(5_000));
  });
});
