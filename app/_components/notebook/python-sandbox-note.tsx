'use client';

import { useQuery } from '@tanstack/react-query';
import { useTRPC } from '../trpc';

/**
 * Under every Python cell while its runs would not be sandboxed: unsandboxed (allowed by an instance
 * admin or the operator) or unable to run at all. Nothing while bubblewrap works.
 */
export function PythonSandboxNote() {
  const trpc = useTRPC();
  const status = useQuery(trpc.system.pythonSandbox.queryOptions(undefined, { staleTime: 60_000 }));
  const s = status.data;
  if (!s || s.mode === 'bubblewrap') return null;
  return s.mode === 'unsandboxed' ? (
    <p className="warning-strip" role="note" data-testid="python-unsandboxed">
      Runs <strong>without a sandbox</strong>: this cell’s code can read and write what the server can. Allowed {s.allowedBy === 'setting' ? 'by an instance admin (Instance settings)' : 'by the operator (STAGEBOOK_PYTHON_UNSANDBOXED=1)'} because bubblewrap is unusable here ({s.why}).
    </p>
  ) : (
    <p className="warning-strip" role="note" data-testid="python-no-sandbox">
      Python cells cannot run here: bubblewrap is unusable ({s.why}). Install it (<code>apt-get install -y bubblewrap</code>), or on a single-user laptop an instance admin may allow running without a sandbox.
    </p>
  );
}
