import { diffChars } from 'diff';
import type * as Y from 'yjs';

/**
 * Past this many changed characters a character diff costs too much (Myers' algorithm is O(N·D)):
 * the edit becomes one range instead.
 */
const MAX_EDIT_LENGTH = 2_000;

/**
 * Rewrites `text` into `target` with one delete and one insert between the common prefix and
 * suffix. Call it inside a transaction.
 */
export function rewriteText(text: Y.Text, target: string): void {
  const current = text.toString();
  if (current === target) return;
  let start = 0;
  const max = Math.min(current.length, target.length);
  while (start < max && current.charCodeAt(start) === target.charCodeAt(start)) start++;
  let end = 0;
  while (end < max - start && current.charCodeAt(current.length - 1 - end) === target.charCodeAt(target.length - 1 - end)) end++;
  const removed = current.length - start - end;
  if (removed > 0) text.delete(start, removed);
  const inserted = target.slice(start, target.length - end);
  if (inserted) text.insert(start, inserted);
}

/**
 * Turns `text` into `target` touching only the characters that differ (a character diff), so that
 * what collaborators point at elsewhere in the text (cursors, selections: Yjs relative positions)
 * stays on its characters, even between two changed places. Call it inside a transaction.
 */
export function editText(text: Y.Text, target: string): void {
  const current = text.toString();
  if (current === target) return;
  const changes = diffChars(current, target, { maxEditLength: MAX_EDIT_LENGTH });
  if (!changes) return rewriteText(text, target);
  // Positions in UTF-16 code units (Y.Text's), hence value.length rather than the diff's count.
  let at = 0;
  for (const change of changes) {
    if (change.removed) text.delete(at, change.value.length);
    else if (change.added) {
      text.insert(at, change.value);
      at += change.value.length;
    } else at += change.value.length;
  }
}
