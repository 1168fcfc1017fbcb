/** Presence colours: hues far enough apart to tell people apart, readable with white initials. */
export const PALETTE = ['#dc2626', '#ea580c', '#ca8a04', '#16a34a', '#0891b2', '#2563eb', '#7c3aed', '#c026d3', '#475569', '#78350f'] as const;

/** The same user gets the same colour in every tab and on every machine. */
export function userColor(userId: string): string {
  let h = 0;
  for (let i = 0; i < userId.length; i++) h = (Math.imul(h, 31) + userId.charCodeAt(i)) | 0;
  return PALETTE[Math.abs(h) % PALETTE.length]!;
}

/**
 * The colour to show: the user's own unless someone who was here first has it, then the first free
 * one (the palette is only ten colours, so two people often hash to one).
 */
export function distinctColor(preferred: string, taken: ReadonlySet<string>): string {
  if (!taken.has(preferred)) return preferred;
  return PALETTE.find((c) => !taken.has(c)) ?? preferred;
}

const HEX = /^#[0-9a-f]{6}$/i;

/** Colours arrive from other clients' awareness: anything but `#rrggbb` is replaced, never put in CSS. */
export function safeColor(value: unknown, fallbackSeed: string): string {
  return typeof value === 'string' && HEX.test(value) ? value : userColor(fallbackSeed);
}

export function withAlpha(hex: string, alpha: number): string {
  const n = Number.parseInt(hex.slice(1), 16);
  return `rgb(${(n >> 16) & 255} ${(n >> 8) & 255} ${n & 255} / ${alpha})`;
}

export function initials(name: string): string {
  const words = name.trim().split(/\s+/).filter(Boolean);
  const letters = words.length > 1 ? [words[0]!, words[words.length - 1]!] : words;
  return letters.map((w) => [...w][0]!.toUpperCase()).join('') || '?';
}
