import type { Metadata } from 'next';
import { VerifyEmail } from '@/app/_components/account-link-forms';

export const metadata: Metadata = { title: 'Confirm your email', referrer: 'no-referrer' };

export default function Page() {
  return <VerifyEmail />;
}
