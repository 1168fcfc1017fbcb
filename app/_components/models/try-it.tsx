'use client';

import { useMutation } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { useTRPC } from '../trpc';
import { ErrorMessage } from '../ui';
import { formatShare } from './format';
import type { Endpoint } from './types';

/**
 * The endpoint's test console: JSON records in, the endpoint's answer out, through tRPC
 * `scoring.predict` (the same code as the REST route). Prefilled with example records.
 */
export function TryIt({ endpoint, sample }: { endpoint: Endpoint; sample: Record<string, unknown>[] | null }) {
  const trpc = useTRPC();
  const [text, setText] = useState('');
  useEffect(() => {
    if (!text && sample) setText(JSON.stringify({ records: sample }, null, 2));
  }, [text, sample]);

  const predict = useMutation(trpc.scoring.predict.mutationOptions());
  const [parseError, setParseError] = useState<string | null>(null);
  const run = () => {
    setParseError(null);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch (err) {
      setParseError(`Not valid JSON: ${(err as Error).message}`);
      return;
    }
    const records = Array.isArray(body) ? body : (body as { records?: unknown })?.records;
    if (!Array.isArray(records)) {
      setParseError('Send {"records": [{...}, ...]} (or a bare list of records).');
      return;
    }
    predict.mutate({ endpoint: endpoint.name, records });
  };

  return (
    <div className="grid-2 console">
      <div className="form">
        <label className="field">
          <span>Request body</span>
          <textarea name="tryRecords" value={text} onChange={(e) => setText(e.target.value)} spellCheck={false} aria-label="Request body (JSON)" />
        </label>
        <button type="button" className="btn btn-primary" onClick={run} disabled={predict.isPending || !text}>
          {predict.isPending ? 'Scoring…' : 'Score'}
        </button>
      </div>
      <div className="console-result" aria-live="polite">
        <span className="field">
          <span>Response</span>
        </span>
        {parseError && (
          <p className="error" role="alert">
            {parseError}
          </p>
        )}
        <ErrorMessage error={predict.error} />
        {predict.data ? (
          <>
            <table className="table" aria-label="Scores">
              <thead>
                <tr>
                  <th>#</th>
                  <th>Label</th>
                  {Object.keys(predict.data.predictions[0]?.probabilities ?? {}).map((c) => (
                    <th key={c}>P({c})</th>
                  ))}
                  <th>Version</th>
                </tr>
              </thead>
              <tbody>
                {predict.data.predictions.map((p, i) => (
                  <tr key={i}>
                    <td className="muted">{i}</td>
                    <td>
                      <strong>{p.label}</strong>
                    </td>
                    {Object.values(p.probabilities).map((q, j) => (
                      <td key={j} className="tabular nowrap">
                        <span className="prob-bar" aria-hidden>
                          <span style={{ width: `${Math.round(q * 100)}%` }} />
                        </span>
                        {formatShare(q)}
                      </td>
                    ))}
                    <td>v{p.modelVersion}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            <pre className="code-block" data-testid="try-response">
              {JSON.stringify(predict.data, null, 2)}
            </pre>
          </>
        ) : (
          !predict.error && !parseError && <p className="muted">Edit the records and press Score.</p>
        )}
      </div>
    </div>
  );
}
