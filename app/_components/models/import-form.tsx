'use client';

import { useQueryClient } from '@tanstack/react-query';
import { useRouter } from 'next/navigation';
import { useState, type FormEvent } from 'react';
import { useTRPC } from '../trpc';
import { Card } from '../ui';
import { modelHref, NAME_PATTERN, NAME_RULE } from './types';

type Imported = { modelName: string; version: { version: number } };

/**
 * Uploads an .onnx file to the REST route (`POST /api/v1/projects/{projectId}/models/{name}/versions`)
 * as raw bytes with the session cookie; the server reads its inputs and outputs and refuses, with a
 * reason, a file it could not serve.
 */
export function ImportForm({ projectId, initialModel }: { projectId: string; initialModel?: string }) {
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const [file, setFile] = useState<File | null>(null);
  const [model, setModel] = useState(initialModel ?? '');
  const [positive, setPositive] = useState('');
  const [features, setFeatures] = useState('');
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const nameProblem = model && !NAME_PATTERN.test(model) ? NAME_RULE : null;

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!file || !model || nameProblem) return;
    setPending(true);
    setError(null);
    try {
      const params = new URLSearchParams();
      if (positive.trim()) params.set('positiveClass', positive.trim());
      if (features.trim()) params.set('features', features.trim());
      const query = params.size ? `?${params}` : '';
      const res = await fetch(`/api/v1/projects/${projectId}/models/${encodeURIComponent(model)}/versions${query}`, {
        method: 'POST',
        headers: { 'content-type': 'application/octet-stream' },
        body: file,
        credentials: 'same-origin',
      });
      const body = (await res.json().catch(() => null)) as (Imported & { error?: { message?: string } }) | null;
      if (!res.ok || !body) throw new Error(body?.error?.message ?? `the import failed (${res.status})`);
      await queryClient.invalidateQueries({ queryKey: trpc.models.list.queryKey({ projectId }) });
      router.push(modelHref(projectId, body.modelName, body.version.version));
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setPending(false);
    }
  };

  return (
    <Card title="Import an ONNX model" description="A binary classifier trained elsewhere: scikit-learn (skl2onnx, without ZipMap), XGBoost, LightGBM, PyTorch." id="import">
      <form className="form" onSubmit={(e) => void submit(e)} aria-label="Import an ONNX model">
        <label className="field">
          <span>ONNX file</span>
          <input type="file" name="onnxFile" accept=".onnx,application/octet-stream" disabled={pending} onChange={(e) => setFile(e.target.files?.[0] ?? null)} />
        </label>
        <label className="field">
          <span>Model name</span>
          <input name="importModelName" value={model} onChange={(e) => setModel(e.target.value)} disabled={pending} maxLength={63} aria-invalid={Boolean(nameProblem)} />
          <span className={nameProblem ? 'hint hint-error' : 'hint'}>{nameProblem ?? 'A new version is added if the model exists.'}</span>
        </label>
        <label className="field">
          <span>
            Positive class <span className="muted">(optional)</span>
          </span>
          <input name="importPositiveClass" value={positive} onChange={(e) => setPositive(e.target.value)} disabled={pending} placeholder="the model's second class" />
        </label>
        <label className="field">
          <span>
            Feature names <span className="muted">(for one packed input)</span>
          </span>
          <input name="importFeatures" value={features} onChange={(e) => setFeatures(e.target.value)} disabled={pending} placeholder="age, income, debt" aria-describedby="import-features-hint" />
          <span className="hint" id="import-features-hint">
            Only for a file whose single input takes all the features as one [N, k] matrix (skl2onnx&apos;s default for a numpy array): the k column names in order, separated by commas. Records then name each column. Not needed when the file has <code>feature_names</code> metadata.
          </span>
        </label>
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" className="btn btn-primary" disabled={pending || !file || !model || Boolean(nameProblem)}>
          {pending ? 'Importing…' : 'Import'}
        </button>
      </form>
    </Card>
  );
}
