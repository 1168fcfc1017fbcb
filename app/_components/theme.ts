export type ThemeChoice = 'system' | 'light' | 'dark';

/** Read by the root layout so the first paint already has the chosen theme (no flash). */
export const THEME_COOKIE = 'stagebook-theme';

export function parseTheme(value: string | undefined): ThemeChoice {
  return value === 'light' || value === 'dark' ? value : 'system';
}
