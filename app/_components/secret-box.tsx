'use client';

import { useRef, useState } from 'react';

/** The only time a secret is visible (an API key's: the server keeps just its hash). */
export function SecretBox({ name, secret, onDone, title = `API key “${name}” created`, label = 'API key secret' }: {
  name: string;
  secret: string;
  onDone: () => void;
  title?: string;
  /** Names the secret for screen readers and tests ("API key secret", "Signing secret"). */
  label?: string;
}) {
  const [copied, setCopied] = useState<'yes' | 'failed' | null>(null);
  const inputRef = useRef<HTMLInputElement>(null);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(secret);
      setCopied('yes');
    } catch {
      // Clipboard access can be refused (permissions, non-secure origin): leave the text selected instead.
      inputRef.current?.select();
      setCopied('failed');
    }
  };
  return (
    <section className="secret" role="region" aria-label={`New ${label}`}>
      <div className="secret-head">
        <strong>{title}</strong>
        <span className="secret-warning">Copy the secret now: it will not be shown again.</span>
      </div>
      <div className="secret-row">
        <input ref={inputRef} className="secret-value" readOnly value={secret} aria-label={label} onFocus={(e) => e.target.select()} data-testid="api-key-secret" />
        <button type="button" className="btn" onClick={() => void copy()}>
          {copied === 'yes' ? 'Copied' : 'Copy'}
        </button>
        <button type="button" className="btn btn-ghost" onClick={onDone}>
          Done
        </button>
      </div>
      {copied === 'failed' && <p className="hint">Copying was blocked by the browser; the secret is selected, press Ctrl+C.</p>}
    </section>
  );
}
