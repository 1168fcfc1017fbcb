/**
 * The words a CSV upload, a row append and a scoring request read as booleans, and how a column's
 * own spelling ("Yes"/"No") is kept so models answer in it. Pure: the upload dialog, the trainer
 * and the scoring records share these rules.
 */

const TRUE_WORDS = new Set(['true', 't', 'yes', 'y']);
const FALSE_WORDS = new Set(['false', 'f', 'no', 'n']);

/**
 * true/false for a boolean word (any case); null otherwise. `strict`: words only, as type inference
 * wants (a 0/1 column is an integer column); otherwise "1" and "0" count too.
 */
export function booleanWord(v: string, strict = false): boolean | null {
  const w = v.toLowerCase();
  if (TRUE_WORDS.has(w) || (!strict && w === '1')) return true;
  if (FALSE_WORDS.has(w) || (!strict && w === '0')) return false;
  return null;
}

const PAIRS: Record<string, string> = { true: 'false', t: 'f', yes: 'no', y: 'n', '1': '0' };
const PARTNER = new Map<string, string>(Object.entries(PAIRS).flatMap(([t, f]) => [[t, f], [f, t]] as [string, string][]));

/** The other boolean word in the same style: "Yes" -> "No", "TRUE" -> "FALSE", "n" -> "y". */
export function partnerWord(word: string): string {
  const partner = PARTNER.get(word.toLowerCase()) ?? (booleanWord(word) ? 'false' : 'true');
  if (word.length > 1 && word === word.toUpperCase() && word !== word.toLowerCase()) return partner.toUpperCase();
  if (word[0] !== undefined && word[0] !== word[0].toLowerCase()) return partner[0]!.toUpperCase() + partner.slice(1);
  return partner;
}

/**
 * A boolean column's [true, false] words from the first spelling seen of each (either may be
 * missing: it is then the other's partner). Null when neither was seen.
 */
export function booleanWordsOf(trueSeen: string | undefined, falseSeen: string | undefined): [string, string] | null {
  if (trueSeen === undefined && falseSeen === undefined) return null;
  const t = trueSeen ?? partnerWord(falseSeen!);
  const f = falseSeen ?? partnerWord(trueSeen!);
  return [t, f];
}

/**
 * Whether a label as stored (a boolean column reads "true"/"false") names the class a model calls
 * `positive` ("Yes"): equal text, or two boolean spellings of the same value (yes/true/t/y/1).
 */
export function isPositiveLabel(label: string, positive: string): boolean {
  if (label === positive) return true;
  const l = booleanWord(label);
  return l !== null && l === booleanWord(positive);
}
