'use client';

import { useState } from 'react';

/** A destructive action asks once more inline, instead of a browser dialog. */
export function ConfirmButton({ label, confirmLabel, question, onConfirm, pending, disabled }: {
  label: string;
  confirmLabel: string;
  question: string;
  onConfirm: () => void;
  pending?: boolean;
  disabled?: boolean;
}) {
  const [asking, setAsking] = useState(false);
  if (!asking) {
    return (
      <button type="button" className="btn btn-sm btn-danger-ghost" onClick={() => setAsking(true)} disabled={disabled || pending}>
        {pending ? `${label}…` : label}
      </button>
    );
  }
  return (
    <span className="confirm" role="group" aria-label={question}>
      <span className="confirm-question">{question}</span>
      <button
        type="button"
        className="btn btn-sm btn-danger"
        onClick={() => {
          setAsking(false);
          onConfirm();
        }}
      >
        {confirmLabel}
      </button>
      <button type="button" className="btn btn-sm btn-ghost" onClick={() => setAsking(false)}>
        Cancel
      </button>
    </span>
  );
}
