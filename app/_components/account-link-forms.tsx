'use client';

import { useMutation } from '@tanstack/react-query';
import Link from 'next/link';
import { useEffect, useId, useState, type FormEvent } from 'react';
import { Brand } from './brand';
import { useTRPC } from './trpc';
import { ErrorMessage } from './ui';

/**
 * The token of an emailed link, taken from the fragment (`#token=...`, which browsers never send to
 * a server) and removed from the address bar at once, so it stays out of history, bookmarks and
 * screenshots. It is then posted in a request body, never put in a URL.
 */
function useLinkToken(): string | null | undefined {
  const [token, setToken] = useState<string | null | undefined>(undefined);
  useEffect(() => {
    const value = new URLSearchParams(window.location.hash.slice(1)).get('token');
    if (value) window.history.replaceState(null, '', window.location.pathname);
    setToken(value);
  }, []);
  return token;
}

function Frame({ title, children }: { title: string; children: React.ReactNode }) {
  return (
    <div className="auth">
      <div className="auth-brand">
        <Brand href="/sign-in" />
      </div>
      <div className="auth-card">
        <h1>{title}</h1>
        {children}
      </div>
    </div>
  );
}

export function VerifyEmail() {
  const trpc = useTRPC();
  const token = useLinkToken();
  const verify = useMutation(trpc.auth.verifyEmail.mutationOptions());
  const { mutate } = verify;
  useEffect(() => {
    if (token) mutate({ token });
  }, [token, mutate]);
  return (
    <Frame title="Confirm your email">
      {token === null && <p className="muted">Open the link from the email Stagebook sent you; this page needs it.</p>}
      {verify.isPending && <p className="muted">Confirming…</p>}
      <ErrorMessage error={verify.error} />
      {verify.data && (
        <p role="status">
          {verify.data.email} is confirmed.{' '}
          {verify.data.teamsJoined > 0 ? `You joined ${verify.data.teamsJoined} team${verify.data.teamsJoined === 1 ? '' : 's'} that invited you.` : ''}
        </p>
      )}
      <p className="auth-switch">
        <Link href="/teams">Go to your teams</Link>
      </p>
    </Frame>
  );
}

export function ResetPassword() {
  const trpc = useTRPC();
  const token = useLinkToken();
  const formId = useId();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const request = useMutation(trpc.auth.requestPasswordReset.mutationOptions());
  const reset = useMutation(trpc.auth.resetPassword.mutationOptions());

  if (token === undefined) return <Frame title="Reset your password">{null}</Frame>;

  if (token === null) {
    const onSubmit = (e: FormEvent) => {
      e.preventDefault();
      request.mutate({ email });
    };
    return (
      <Frame title="Reset your password">
        <form onSubmit={onSubmit} noValidate>
          <p className="muted">We email a link to choose a new password. It works once, for one hour.</p>
          <label className="field">
            <span>Email</span>
            <input type="email" name="email" autoComplete="email" value={email} onChange={(e) => setEmail(e.target.value)} required autoFocus />
          </label>
          <ErrorMessage error={request.error} />
          {request.data && <p role="status">{request.data.message}</p>}
          <button type="submit" className="btn btn-primary btn-block" disabled={request.isPending}>
            {request.isPending ? 'Sending…' : 'Email me a link'}
          </button>
        </form>
        <p className="auth-switch">
          <Link href="/sign-in">Back to sign in</Link>
        </p>
      </Frame>
    );
  }

  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    reset.mutate({ token, password });
  };
  return (
    <Frame title="Choose a new password">
      {reset.data ? (
        <p role="status">
          Your password is changed and every session has ended. <Link href="/sign-in">Sign in</Link> with the new one.
        </p>
      ) : (
        <form onSubmit={onSubmit} noValidate>
          <div className="field">
            <label htmlFor={`${formId}-password`}>New password</label>
            <input
              id={`${formId}-password`}
              type="password"
              name="password"
              autoComplete="new-password"
              value={password}
              onChange={(e) => setPassword(e.target.value)}
              aria-describedby={`${formId}-password-hint`}
              required
              autoFocus
            />
            <small className="hint" id={`${formId}-password-hint`}>
              At least 10 characters.
            </small>
          </div>
          <ErrorMessage error={reset.error} />
          <button type="submit" className="btn btn-primary btn-block" disabled={reset.isPending}>
            {reset.isPending ? 'Saving…' : 'Set password'}
          </button>
        </form>
      )}
    </Frame>
  );
}
