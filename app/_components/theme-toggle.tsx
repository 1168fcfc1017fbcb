'use client';

import { useEffect, useState } from 'react';
import { parseTheme, THEME_COOKIE, type ThemeChoice } from './theme';

/** System (prefers-color-scheme), light or dark; remembered per browser in a cookie. */
export function ThemeToggle() {
  const [theme, setTheme] = useState<ThemeChoice>('system');
  // The layout put the cookie's choice on <html>; read it after hydration so server and client agree.
  useEffect(() => setTheme(parseTheme(document.documentElement.dataset.theme)), []);
  const choose = (next: ThemeChoice) => {
    setTheme(next);
    const root = document.documentElement;
    if (next === 'system') {
      delete root.dataset.theme;
      document.cookie = `${THEME_COOKIE}=; path=/; max-age=0; samesite=lax`;
    } else {
      root.dataset.theme = next;
      document.cookie = `${THEME_COOKIE}=${next}; path=/; max-age=31536000; samesite=lax`;
    }
  };
  return (
    <label className="theme-toggle">
      <span className="sr-only">Theme</span>
      <select name="theme" aria-label="Theme" value={theme} onChange={(e) => choose(parseTheme(e.target.value))}>
        <option value="system">System theme</option>
        <option value="light">Light</option>
        <option value="dark">Dark</option>
      </select>
    </label>
  );
}
