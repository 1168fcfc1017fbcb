import type { Metadata } from 'next';
import { InstanceSettingsPage } from '@/app/_components/instance-settings-page';

export const metadata: Metadata = { title: 'Instance settings' };

export default function Page() {
  return <InstanceSettingsPage />;
}
