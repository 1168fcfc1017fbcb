'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { formatDateTime } from './format';
import { useTRPC } from './trpc';
import { Card, EmptyState, ErrorMessage, Loading, PageHeader } from './ui';

/** Settings of the whole instance, for instance admins (STAGEBOOK_ADMIN_EMAILS). */
export function InstanceSettingsPage() {
  const trpc = useTRPC();
  const me = useQuery(trpc.auth.me.queryOptions(undefined, { staleTime: 60_000 }));
  return (
    <div className="page">
      <PageHeader title="Instance settings" description="Settings of this whole Stagebook, not of a team." />
      {me.isPending ? (
        <Loading />
      ) : me.data?.instanceAdmin ? (
        <PythonSandboxSetting />
      ) : (
        <Card title="Instance settings">
          <EmptyState title="Only instance admins can see and change these.">Instance admins are the verified emails the operator lists in STAGEBOOK_ADMIN_EMAILS (by default the first admin).</EmptyState>
        </Card>
      )}
    </div>
  );
}

function PythonSandboxSetting() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const settings = useQuery(trpc.system.instanceSettings.queryOptions());
  const change = useMutation(
    trpc.system.setPythonUnsandboxed.mutationOptions({
      onSuccess: (data) => {
        queryClient.setQueryData(trpc.system.instanceSettings.queryKey(), data);
        void queryClient.invalidateQueries({ queryKey: trpc.system.pythonSandbox.queryKey() });
      },
    }),
  );
  if (settings.isPending) return <Loading />;
  if (settings.isError) return <ErrorMessage error={settings.error} />;
  const s = settings.data;
  return (
    <Card
      title="Python sandbox"
      description="Python cells run under bubblewrap: no network, only their scratch directory writable, limits on memory, CPU and processes. Where bubblewrap is unusable they refuse to run, unless allowed here."
    >
      <p className="small" data-testid="sandbox-status">
        {s.sandbox.mode === 'bubblewrap'
          ? 'On this machine bubblewrap works: Python cells run sandboxed whatever the switch below says.'
          : s.sandbox.mode === 'unsandboxed'
            ? `Bubblewrap is unusable here (${s.sandbox.why}): Python cells run WITHOUT a sandbox, allowed ${s.sandbox.allowedBy === 'setting' ? 'by this setting' : 'by STAGEBOOK_PYTHON_UNSANDBOXED=1'}. Every Python cell says so.`
            : `Bubblewrap is unusable here (${s.sandbox.why}): Python cells refuse to run.`}
      </p>
      <ErrorMessage error={change.error} />
      <label className="check">
        <input
          type="checkbox"
          checked={s.pythonUnsandboxed}
          disabled={change.isPending}
          onChange={(e) => {
            const allowed = e.target.checked;
            if (allowed && !window.confirm('Let Python cells run without a sandbox where bubblewrap is unusable? Their code could then read and write everything the server can. Only for a single-user laptop.')) return;
            change.mutate({ allowed });
          }}
        />{' '}
        Allow Python cells to run without a sandbox where bubblewrap is unusable (a single-user laptop only; audited, shown on every Python cell)
      </label>
      {s.pythonUnsandboxedByEnvironment && <p className="warning-strip">The operator started Stagebook with STAGEBOOK_PYTHON_UNSANDBOXED=1: that allows it whatever this switch says.</p>}
      <h3 className="small strong">Changes</h3>
      {s.history.length === 0 ? (
        <p className="small muted">Never changed.</p>
      ) : (
        <table className="table">
          <thead>
            <tr>
              <th>When</th>
              <th>Who</th>
              <th>Change</th>
            </tr>
          </thead>
          <tbody>
            {s.history.map((h) => (
              <tr key={h.at}>
                <td className="nowrap">{formatDateTime(h.at)}</td>
                <td>{h.by}</td>
                <td>{h.allowed ? 'allowed unsandboxed Python' : 'stopped allowing unsandboxed Python'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Card>
  );
}
