'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { useState, type FormEvent } from 'react';
import { formatDateTime } from './format';
import { RecentWork } from './recent-work';
import { useTRPC } from './trpc';
import { Card, EmptyState, ErrorMessage, FieldError, fieldError, Loading, PageHeader, RoleBadge } from './ui';

export function TeamsPage() {
  const trpc = useTRPC();
  const teams = useQuery(trpc.teams.list.queryOptions());
  return (
    <div className="page">
      <PageHeader title="Teams" description="Teams own projects. Your role in a team decides what you can change in its projects." />
      <RecentWork />
      <div className="grid-2-1">
        <Card title="Your teams" id="your-teams">
          {teams.isPending ? (
            <Loading />
          ) : teams.isError ? (
            <ErrorMessage error={teams.error} />
          ) : teams.data.length === 0 ? (
            <EmptyState title="You are not in any team yet.">
              Create a team to start a project, or ask a team admin to invite your email address.
            </EmptyState>
          ) : (
            <table className="table">
              <thead>
                <tr>
                  <th>Team</th>
                  <th>Your role</th>
                  <th>Created</th>
                </tr>
              </thead>
              <tbody>
                {teams.data.map((t) => (
                  <tr key={t.id}>
                    <td>
                      <Link href={`/teams/${t.id}`} className="strong-link">
                        {t.name}
                      </Link>
                    </td>
                    <td>
                      <RoleBadge role={t.role} />
                    </td>
                    <td className="muted nowrap">{formatDateTime(t.createdAt)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </Card>
        <CreateTeamForm />
      </div>
    </div>
  );
}

function CreateTeamForm() {
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const [name, setName] = useState('');
  const create = useMutation(
    trpc.teams.create.mutationOptions({
      onSuccess: async (team) => {
        setName('');
        await queryClient.invalidateQueries({ queryKey: trpc.teams.list.queryKey() });
        router.push(`/teams/${team.id}`);
      },
    }),
  );
  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate({ name });
  };
  return (
    <Card title="Create a team" description="You become its admin and can invite others." id="create-team">
      <form className="form" onSubmit={onSubmit}>
        <label className="field">
          <span>Team name</span>
          <input name="teamName" value={name} onChange={(e) => setName(e.target.value)} placeholder="e.g. Risk analytics" maxLength={80} aria-invalid={Boolean(fieldError(create.error, 'name'))} />
          <FieldError error={create.error} field="name" />
        </label>
        <ErrorMessage error={create.error} fields={['name']} />
        <button type="submit" className="btn btn-primary" disabled={create.isPending}>
          {create.isPending ? 'Creating…' : 'Create team'}
        </button>
      </form>
    </Card>
  );
}
