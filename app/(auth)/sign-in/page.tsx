import type { Metadata } from 'next';
import { Suspense } from 'react';
import { AuthForm } from '@/app/_components/auth-form';

export const metadata: Metadata = { title: 'Sign in' };

export default function Page() {
  // useSearchParams (for ?next=) needs a Suspense boundary to keep the page statically rendered.
  return (
    <Suspense>
      <AuthForm mode="sign-in" />
    </Suspense>
  );
}
