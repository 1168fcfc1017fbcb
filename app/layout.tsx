import type { Metadata } from 'next';
import type { ReactNode } from 'react';
import { Providers } from './_components/trpc';
import './globals.css';

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
