'use client';

import { useState } from 'react';
import type { Endpoint } from './types';

/**
 * The endpoint's decision threshold: the returned label is the positive class when its probability
 * is at least this. Empty: the model's own label. A deployed endpoint takes it from its endpoint cell
 * (`threshold:`), so there it is shown, not edited.
 */
export function EndpointThreshold({ endpoint, editable, pending, onSave }: { endpoint: Endpoint; editable: boolean; pending: boolean; onSave: (threshold: number | null) => void }) {
  const [text, setText] = useState(endpoint.threshold === null ? '' : String(endpoint.threshold));
  const parsed = text.trim() === '' ? null : Number(text);
  const valid = parsed === null || (Number.isFinite(parsed) && parsed >= 0 && parsed <= 1);
  const changed = parsed !== endpoint.threshold;
  if (!editable) {
    return (
      <p className="hint" data-testid="endpoint-threshold">
        Decision threshold: {endpoint.threshold === null ? "the model's own label" : <strong className="tabular">{endpoint.threshold}</strong>}
        {endpoint.bundleHash ? ' (set by the endpoint cell’s threshold:)' : ''}
      </p>
    );
  }
  return (
    <form
      className="field"
      onSubmit={(e) => {
        e.preventDefault();
        if (valid && changed) onSave(parsed);
      }}
    >
      <label htmlFor={`threshold-${endpoint.name}`}>Decision threshold</label>
      <span className="threshold-input-row">
        <input id={`threshold-${endpoint.name}`} name="threshold" type="number" min={0} max={1} step="any" placeholder="model's own label" value={text} onChange={(e) => setText(e.target.value)} aria-invalid={!valid} />
        <button type="submit" className="btn btn-sm" aria-label="Save threshold" disabled={pending || !valid || !changed}>
          Save
        </button>
      </span>
      <span className="hint">{valid ? 'Label = the positive class when its probability is at least this (0 to 1); empty: the model’s own label. Pick one with the slider on the model page.' : 'threshold must be a number between 0 and 1'}</span>
    </form>
  );
}
