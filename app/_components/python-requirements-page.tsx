'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useMemo, useState } from 'react';
import { describeRequirementProblems, parsePythonRequirements } from '@/server/domain/python-requirements';
import { formatDateTime } from './format';
import { ProjectFrame } from './project-header';
import { useTRPC } from './trpc';
import type { RouterOutputs, TeamRole } from './types';
import { Card, ErrorMessage, Loading } from './ui';

type View = RouterOutputs['projects']['pythonRequirements'];

const rank: TeamRole[] = ['viewer', 'editor', 'deployer', 'admin'];

export function PythonRequirementsPage({ projectId }: { projectId: string }) {
  return (
    <ProjectFrame projectId={projectId} active={`/projects/${projectId}/python`}>
      {(_project, myRole) => <Requirements projectId={projectId} canEdit={myRole !== null && rank.indexOf(myRole) >= rank.indexOf('deployer')} />}
    </ProjectFrame>
  );
}

function Requirements({ projectId, canEdit }: { projectId: string; canEdit: boolean }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const key = trpc.projects.pythonRequirements.queryKey({ projectId });
  // While a run installs, look again every few seconds: the state and pip's log come from the run.
  const view = useQuery(trpc.projects.pythonRequirements.queryOptions({ projectId }, { refetchInterval: (q) => (q.state.data?.install?.state === 'installing' ? 3000 : false) }));
  const save = useMutation(trpc.projects.setPythonRequirements.mutationOptions({ onSuccess: (data) => queryClient.setQueryData(key, data) }));
  if (view.isPending) return <Loading />;
  if (view.isError) return <ErrorMessage error={view.error} />;
  return (
    <div className="stack">
      <Card
        title="Python packages"
        description="Pinned packages every Python cell of this project can import, installed over the managed Python before the project’s next Python run (design and production). One name==version a line; # starts a comment."
      >
        <RequirementsForm view={view.data} canEdit={canEdit} saving={save.isPending} error={save.error} onSave={(requirements) => save.mutate({ projectId, requirements })} />
        <InstallState view={view.data} />
      </Card>
      <Card title="Managed Python" description="Every Python cell has these; a project cannot replace them.">
        <p className="small">
          {view.data.managed.map((m, i) => (
            <span key={m.name}>
              {i > 0 && ', '}
              <code>
                {m.name}=={m.version}
              </code>
            </span>
          ))}
        </p>
      </Card>
    </div>
  );
}

function RequirementsForm({ view, canEdit, saving, error, onSave }: { view: View; canEdit: boolean; saving: boolean; error: { message: string } | null; onSave: (text: string) => void }) {
  const [text, setText] = useState(view.requirements);
  useEffect(() => setText(view.requirements), [view.requirements]);
  const managed = useMemo(() => new Map(view.managed.map((m) => [m.name, m.version])), [view.managed]);
  const parsed = useMemo(() => parsePythonRequirements(text, managed), [text, managed]);
  const changed = text !== view.requirements;
  return (
    <form
      className="form"
      onSubmit={(e) => {
        e.preventDefault();
        onSave(text);
      }}
    >
      <label className="field">
        <span>Requirements</span>
        <textarea
          className="requirements-input"
          aria-label="Requirements"
          value={text}
          readOnly={!canEdit}
          spellCheck={false}
          placeholder={'tabulate==0.9.0\npython-slugify==8.0.4'}
          onChange={(e) => setText(e.target.value)}
        />
      </label>
      {!parsed.ok && (
        <p className="error" role="alert" data-testid="requirement-problems" style={{ whiteSpace: 'pre-line' }}>
          {describeRequirementProblems(parsed.problems)}
        </p>
      )}
      {error && (
        <p className="error" role="alert" style={{ whiteSpace: 'pre-line' }}>
          {error.message}
        </p>
      )}
      {canEdit ? (
        <div className="row-actions" style={{ display: 'flex', gap: 12, alignItems: 'center' }}>
          <button type="submit" className="btn btn-primary" disabled={saving || !changed || !parsed.ok}>
            {saving ? 'Saving…' : 'Save'}
          </button>
          {view.updatedAt && (
            <span className="small muted">
              Changed {formatDateTime(view.updatedAt)}
              {view.updatedBy ? ` by ${view.updatedBy}` : ''}
            </span>
          )}
        </div>
      ) : (
        <p className="small muted">Deployers and admins of the team change these: they apply to production runs at once.</p>
      )}
    </form>
  );
}

function InstallState({ view }: { view: View }) {
  const i = view.install;
  if (!i) return <p className="small muted">No extra packages: Python cells run on the managed Python alone.</p>;
  return (
    <div className="stack" data-testid="install-state">
      <p className="small">
        <span className={`badge ${i.state === 'ready' ? 'badge-ok' : i.state === 'failed' ? 'badge-status-failed' : 'badge-warn'}`}>{i.state === 'pending' ? 'not installed yet' : i.state}</span>{' '}
        {i.state === 'pending' && 'The next Python run installs them first (its step log shows the progress).'}
        {i.state === 'installing' && 'A run is installing them now.'}
        {i.state === 'ready' && i.at && `Installed ${formatDateTime(i.at)}.`}
        {i.state === 'failed' && 'pip could not install them; Python runs of this project fail until the list is fixed. pip’s log:'}
      </p>
      {i.state === 'failed' && i.log && (
        <pre className="pip-log" data-testid="pip-log">
          {i.log}
        </pre>
      )}
    </div>
  );
}
