'use client';

import { useState } from 'react';
import { ProjectFrame } from '../project-header';
import { SecretBox } from '../secret-box';
import { roleAtLeast } from '../types';
import { ChannelList } from './channel-list';
import { CreateChannelForm, type CreatedChannel } from './create-channel-form';
import { DeliveriesTable } from './deliveries-table';

/** `/projects/<id>/notifications`: where scenario reporters send (webhooks, email) and what became of it. */
export function NotificationsPage({ projectId }: { projectId: string }) {
  return (
    <ProjectFrame projectId={projectId} active={`/projects/${projectId}/notifications`}>
      {(_project, myRole) => <Notifications projectId={projectId} canManage={roleAtLeast(myRole, 'deployer')} />}
    </ProjectFrame>
  );
}

function Notifications({ projectId, canManage }: { projectId: string; canManage: boolean }) {
  const [created, setCreated] = useState<CreatedChannel | null>(null);
  return (
    <div className="stack">
      {created?.signingSecret && (
        <div className="notif-secret">
          <SecretBox
            name={created.name}
            secret={created.signingSecret}
            title={`Webhook “${created.name}” created`}
            label="Signing secret"
            onDone={() => setCreated(null)}
          />
          <p className="hint">
            Every request carries <code>x-stagebook-signature: sha256=&lt;HMAC-SHA256 of &quot;timestamp.body&quot;&gt;</code>; the receiver
            recomputes it with this secret to know the request came from Stagebook.
          </p>
        </div>
      )}
      <ChannelList projectId={projectId} canManage={canManage} />
      {canManage && <CreateChannelForm projectId={projectId} onCreated={setCreated} />}
      <DeliveriesTable projectId={projectId} />
    </div>
  );
}
