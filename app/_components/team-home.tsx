'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { useState, type FormEvent } from 'react';
import { formatDateTime } from './format';
import { TeamFrame } from './team-header';
import { useTRPC } from './trpc';
import { roleAtLeast } from './types';
import { Card, EmptyState, ErrorMessage, FieldError, fieldError, Loading } from './ui';

export function TeamHome({ teamId }: { teamId: string }) {
  return (
    <TeamFrame teamId={teamId} active={`/teams/${teamId}`}>
      {(team) => {
        const canCreate = roleAtLeast(team.myRole, 'editor');
        return (
          <div className={canCreate ? 'grid-2-1' : undefined}>
            <ProjectList teamId={teamId} canCreate={canCreate} />
            {canCreate && <CreateProjectForm teamId={teamId} />}
          </div>
        );
      }}
    </TeamFrame>
  );
}

function ProjectList({ teamId, canCreate }: { teamId: string; canCreate: boolean }) {
  const trpc = useTRPC();
  const projects = useQuery(trpc.projects.list.queryOptions({ teamId }));
  return (
    <Card title="Projects" id="projects">
      {projects.isPending ? (
        <Loading />
      ) : projects.isError ? (
        <ErrorMessage error={projects.error} />
      ) : projects.data.length === 0 ? (
        <EmptyState title="No projects yet.">
          {canCreate
            ? 'Create the first project with the form alongside; it will hold notebooks, datasets, models and deployments.'
            : 'An editor or admin of this team can create one.'}
        </EmptyState>
      ) : (
        <table className="table">
          <thead>
            <tr>
              <th>Project</th>
              <th>Description</th>
              <th>Created</th>
            </tr>
          </thead>
          <tbody>
            {projects.data.map((p) => (
              <tr key={p.id}>
                <td>
                  <Link href={`/projects/${p.id}`} className="strong-link">
                    {p.name}
                  </Link>
                </td>
                <td className="muted truncate">{p.description || '—'}</td>
                <td className="muted nowrap">{formatDateTime(p.createdAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Card>
  );
}

function CreateProjectForm({ teamId }: { teamId: string }) {
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const create = useMutation(
    trpc.projects.create.mutationOptions({
      onSuccess: async (project) => {
        await queryClient.invalidateQueries({ queryKey: trpc.projects.list.queryKey({ teamId }) });
        router.push(`/projects/${project.id}`);
      },
    }),
  );
  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate({ teamId, name, description });
  };
  return (
    <Card title="New project" id="new-project">
      <form className="form" onSubmit={onSubmit}>
        <label className="field">
          <span>Name</span>
          <input name="projectName" value={name} onChange={(e) => setName(e.target.value)} placeholder="e.g. Churn model" maxLength={80} aria-invalid={Boolean(fieldError(create.error, 'name'))} />
          <FieldError error={create.error} field="name" />
        </label>
        <label className="field">
          <span>
            Description <span className="muted">(optional)</span>
          </span>
          <textarea name="projectDescription" rows={3} value={description} onChange={(e) => setDescription(e.target.value)} maxLength={2000} />
          <FieldError error={create.error} field="description" />
        </label>
        <ErrorMessage error={create.error} fields={['name', 'description']} />
        <button type="submit" className="btn btn-primary" disabled={create.isPending}>
          {create.isPending ? 'Creating…' : 'Create project'}
        </button>
      </form>
    </Card>
  );
}
