'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { ConfirmButton } from './confirm-button';
import { formatDateTime } from './format';
import { InviteForm } from './invite-form';
import { TeamFrame } from './team-header';
import { useTRPC } from './trpc';
import { TEAM_ROLES, type Invitation, type Member, type TeamRole } from './types';
import { Card, EmptyState, ErrorMessage, Loading, RoleBadge } from './ui';

export function MembersPage({ teamId }: { teamId: string }) {
  return (
    <TeamFrame teamId={teamId} active={`/teams/${teamId}/members`}>
      {(team) => <Members teamId={teamId} isAdmin={team.myRole === 'admin'} />}
    </TeamFrame>
  );
}

function useInvalidateMembers(teamId: string) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  return () => Promise.all([
    queryClient.invalidateQueries({ queryKey: trpc.teams.members.queryKey({ teamId }) }),
    queryClient.invalidateQueries({ queryKey: trpc.teams.get.queryKey({ teamId }) }),
    queryClient.invalidateQueries({ queryKey: trpc.teams.list.queryKey() }),
  ]);
}

function Members({ teamId, isAdmin }: { teamId: string; isAdmin: boolean }) {
  const trpc = useTRPC();
  const data = useQuery(trpc.teams.members.queryOptions({ teamId }));
  if (data.isPending) return <Loading />;
  if (data.isError) return <ErrorMessage error={data.error} />;
  return (
    <div className="stack">
      <MembersTable teamId={teamId} members={data.data.members} isAdmin={isAdmin} />
      {isAdmin ? (
        <div className="grid-2-1">
          <InvitationsTable teamId={teamId} invitations={data.data.invitations} />
          <InviteForm teamId={teamId} />
        </div>
      ) : (
        <p className="muted">Only team admins can invite people, change roles or remove members.</p>
      )}
    </div>
  );
}

const roleHelp: Record<TeamRole, string> = {
  viewer: 'reads projects, runs and the audit log',
  editor: 'also creates projects, edits notebooks, starts builds, trains models and promotes bundles',
  deployer: 'also deploys and rolls back bundles, sets champions, manages endpoints and runs scenarios',
  admin: 'also manages members and API keys',
};

function MembersTable({ teamId, members, isAdmin }: { teamId: string; members: Member[]; isAdmin: boolean }) {
  const trpc = useTRPC();
  const invalidate = useInvalidateMembers(teamId);
  const me = useQuery(trpc.auth.me.queryOptions());
  const changeRole = useMutation(trpc.teams.changeRole.mutationOptions({ onSettled: invalidate }));
  const remove = useMutation(trpc.teams.removeMember.mutationOptions({ onSettled: invalidate }));
  const error = changeRole.error ?? remove.error;
  return (
    <Card title="Members" description={`${members.length} ${members.length === 1 ? 'person' : 'people'}`} id="members">
      <ErrorMessage error={error} />
      <table className="table">
        <thead>
          <tr>
            <th>Name</th>
            <th>Email</th>
            <th>Role</th>
            <th>Joined</th>
            {isAdmin && <th className="align-right">Actions</th>}
          </tr>
        </thead>
        <tbody>
          {members.map((m) => (
            <tr key={m.userId}>
              <td className="strong">
                {m.name}
                {me.data?.id === m.userId && <span className="you">you</span>}
              </td>
              <td className="muted">{m.email}</td>
              <td>
                {isAdmin ? (
                  <select
                    className="select-sm"
                    aria-label={`Role of ${m.email}`}
                    value={m.role}
                    disabled={changeRole.isPending}
                    onChange={(e) => {
                      remove.reset();
                      changeRole.mutate({ teamId, userId: m.userId, role: e.target.value as TeamRole });
                    }}
                  >
                    {TEAM_ROLES.map((r) => (
                      <option key={r} value={r}>
                        {r}
                      </option>
                    ))}
                  </select>
                ) : (
                  <RoleBadge role={m.role} />
                )}
              </td>
              <td className="muted nowrap">{formatDateTime(m.joinedAt)}</td>
              {isAdmin && (
                <td className="align-right">
                  <ConfirmButton
                    label="Remove"
                    confirmLabel="Remove"
                    question={`Remove ${m.name} from the team?`}
                    pending={remove.isPending && remove.variables.userId === m.userId}
                    onConfirm={() => {
                      changeRole.reset();
                      remove.mutate({ teamId, userId: m.userId });
                    }}
                  />
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
      <dl className="role-legend">
        {TEAM_ROLES.map((r) => (
          <div key={r}>
            <dt>
              <RoleBadge role={r} />
            </dt>
            <dd>{roleHelp[r]}</dd>
          </div>
        ))}
      </dl>
    </Card>
  );
}

function InvitationsTable({ teamId, invitations }: { teamId: string; invitations: Invitation[] }) {
  const trpc = useTRPC();
  const invalidate = useInvalidateMembers(teamId);
  const revoke = useMutation(trpc.teams.revokeInvitation.mutationOptions({ onSettled: invalidate }));
  const approve = useMutation(trpc.teams.approveInvitation.mutationOptions({ onSettled: invalidate }));
  return (
    <Card
      title="Pending invitations"
      description="Invited people join when they confirm their email from the link Stagebook sends. Without email on this server, approve someone once you know the account is theirs."
      id="invitations"
    >
      <ErrorMessage error={revoke.error ?? approve.error} />
      {invitations.length === 0 ? (
        <EmptyState title="No pending invitations.">Invite an email address that has no account yet and it will wait here.</EmptyState>
      ) : (
        <table className="table">
          <thead>
            <tr>
              <th>Email</th>
              <th>Role</th>
              <th>Invited</th>
              <th className="align-right">Actions</th>
            </tr>
          </thead>
          <tbody>
            {invitations.map((inv) => (
              <tr key={inv.id}>
                <td>{inv.email}</td>
                <td>
                  <RoleBadge role={inv.role} />
                </td>
                <td className="muted nowrap">{formatDateTime(inv.createdAt)}</td>
                <td className="align-right">
                  {inv.hasAccount && (
                    <ConfirmButton
                      label="Approve"
                      confirmLabel="Approve"
                      question={`Add ${inv.email} as ${inv.role}? Its owner has not confirmed this email: approve only if you know the account is theirs.`}
                      pending={approve.isPending && approve.variables.invitationId === inv.id}
                      onConfirm={() => approve.mutate({ teamId, invitationId: inv.id })}
                    />
                  )}
                  <ConfirmButton
                    label="Revoke"
                    confirmLabel="Revoke"
                    question={`Revoke the invitation for ${inv.email}?`}
                    pending={revoke.isPending && revoke.variables.invitationId === inv.id}
                    onConfirm={() => revoke.mutate({ teamId, invitationId: inv.id })}
                  />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Card>
  );
}
