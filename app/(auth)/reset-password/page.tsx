import type { Metadata } from 'next';
import { ResetPassword } from '@/app/_components/account-link-forms';

export const metadata: Metadata = { title: 'Reset your password', referrer: 'no-referrer' };

export default function Page() {
  return <ResetPassword />;
}
