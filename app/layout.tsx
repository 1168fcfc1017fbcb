import type { Metadata } from 'next';
import { cookies } from 'next/headers';
import type { ReactNode } from 'react';
import { parseTheme, THEME_COOKIE } from './_components/theme';
import { Providers } from './_components/trpc';
import './globals.css';

// Every page is rendered per request: its scripts carry that response's CSP nonce (server/app.ts).
// A page prerendered at build time would have scripts without one, which the policy blocks.
export const dynamic = 'force-dynamic';

export const metadata: Metadata = {
  title: { default: 'Stagebook', template: '%s · Stagebook' },
  description: 'Collaborative notebooks to production pipelines, models and endpoints',
};

export default async function RootLayout({ children }: { children: ReactNode }) {
  const theme = parseTheme((await cookies()).get(THEME_COOKIE)?.value);
  return (
    <html lang="en" data-theme={theme === 'system' ? undefined : theme}>
      <body>
        <Providers>{children}</Providers>
      </body>
    </html>
  );
}
