/** 1-based line and column of a character index in a cell's source. */
export function lineColumnOf(source: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  const end = Math.min(Math.max(offset, 0), source.length);
  for (let i = 0; i < end; i++) {
    if (source.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: end - lineStart + 1 };
}

/** Levenshtein distance, for "did you mean" suggestions. */
export function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]!;
      prev[j] = Math.min(up + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length]!;
}

/**
 * The closest known name within a typo's reach, or null. Case differences count as a typo. A name
 * that is a whole word-part of a known one (`credit` for `credit_data`, `data` for `credit_data`)
 * is suggested too, when no typo is closer: people shorten names more often than they misspell them.
 */
export function closestName(name: string, known: Iterable<string>): string | null {
  let best: string | null = null;
  let bestDistance = Infinity;
  const limit = Math.max(2, Math.floor(name.length / 3));
  const lower = name.toLowerCase();
  let part: string | null = null;
  for (const k of known) {
    const kl = k.toLowerCase();
    const d = editDistance(lower, kl) + (name !== k && lower === kl ? 0.5 : 0);
    if (d < bestDistance || (d === bestDistance && best !== null && k < best)) {
      best = k;
      bestDistance = d;
    }
    const wordPart = kl.startsWith(`${lower}_`) || kl.endsWith(`_${lower}`) || kl.includes(`_${lower}_`);
    if (lower.length >= 3 && wordPart && (part === null || k.length < part.length || (k.length === part.length && k < part))) part = k;
  }
  if (best !== null && bestDistance <= limit) return best;
  return part;
}

export const DATASET_NAME = /^[a-z][a-z0-9_]{0,62}$/;

export function datasetNameProblem(name: string): string | null {
  if (DATASET_NAME.test(name)) return null;
  const fixed = name.toLowerCase().replace(/[^a-z0-9_]+/g, '_').replace(/^[^a-z]+/, '').slice(0, 63);
  return `dataset names are lowercase identifiers (a-z, 0-9, _; starting with a letter)${fixed ? `: try "${fixed}"` : ''}`;
}
