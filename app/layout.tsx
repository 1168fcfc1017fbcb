import type { Metadata } from 'next';
import type { ReactNode } from 'react';
import { Providers } from './_components/trpc';
import './globals.css';

// Every page is rendered per request: its scripts carry that response's CSP nonce (server/app.ts).
// A page prerendered at build time would have scripts without one, which the policy blocks.
export const dynamic = 'force-dynamic';

export const metadata: Metadata = {
  title: { default: 'Stagebook', template: '%s · Stagebook' },
  description: 'Collaborative notebooks to production pipelines, models and endpoints',
};

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>
        <Providers>{children}</Providers>
      </body>
    </html>
  );
}
