'use client';

import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { useTRPC } from './trpc';
import { TEAM_ROLES, type TeamRole } from './types';
import { Card, ErrorMessage, FieldError, fieldError } from './ui';

export function InviteForm({ teamId }: { teamId: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<TeamRole>('editor');
  const [notice, setNotice] = useState<string | null>(null);
  const invite = useMutation(
    trpc.teams.invite.mutationOptions({
      onSuccess: async (result, vars) => {
        setNotice(
          result.status === 'added'
            ? `${vars.email} already had an account and is now a member (${vars.role}).`
            : `${vars.email} is invited as ${vars.role}; they join once they confirm their email, or when you approve them below.`,
        );
        setEmail('');
        await queryClient.invalidateQueries({ queryKey: trpc.teams.members.queryKey({ teamId }) });
      },
    }),
  );
  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    setNotice(null);
    invite.mutate({ teamId, email, role });
  };
  return (
    <Card title="Invite someone" id="invite">
      <form className="form" onSubmit={onSubmit}>
        <label className="field">
          <span>Email</span>
          <input type="email" name="inviteEmail" value={email} onChange={(e) => setEmail(e.target.value)} placeholder="name@company.com" aria-invalid={Boolean(fieldError(invite.error, 'email'))} />
          <FieldError error={invite.error} field="email" />
        </label>
        <label className="field">
          <span>Role</span>
          <select name="inviteRole" value={role} onChange={(e) => setRole(e.target.value as TeamRole)}>
            {TEAM_ROLES.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
        </label>
        <ErrorMessage error={invite.error} fields={['email', 'role']} />
        {notice && (
          <p className="notice" role="status">
            {notice}
          </p>
        )}
        <button type="submit" className="btn btn-primary" disabled={invite.isPending}>
          {invite.isPending ? 'Inviting…' : 'Send invitation'}
        </button>
      </form>
    </Card>
  );
}
