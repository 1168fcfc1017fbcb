'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { useRouter, useSearchParams } from 'next/navigation';
import { useEffect, useId, useState, type FormEvent } from 'react';
import { Brand } from './brand';
import { safeNext } from './safe-next';
import { useTRPC } from './trpc';
import { ErrorMessage, FieldError, fieldError } from './ui';

export function AuthForm({ mode }: { mode: 'sign-in' | 'sign-up' }) {
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const next = safeNext(useSearchParams().get('next'));
  const formId = useId();
  const [email, setEmail] = useState('');
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');

  const me = useQuery(trpc.auth.me.queryOptions());
  useEffect(() => {
    if (me.data) router.replace(next);
  }, [me.data, next, router]);

  const onSignedIn = () => {
    // Nothing cached before signing in (another account's teams, `me` = null) may survive it.
    queryClient.clear();
    router.replace(next);
  };
  const signIn = useMutation(trpc.auth.signIn.mutationOptions({ onSuccess: onSignedIn }));
  // Sign-up answers the same for a new and a taken email and signs nobody in; the password just
  // chosen signs in the new account at once.
  const signUp = useMutation(trpc.auth.signUp.mutationOptions({ onSuccess: () => signIn.mutate({ email, password }) }));
  const pending = signIn.isPending || (mode === 'sign-up' && signUp.isPending);
  const error =
    mode === 'sign-in'
      ? signIn.error
      : (signUp.error ??
        (signIn.error
          ? {
              message:
                signIn.error.data?.code === 'UNAUTHORIZED'
                  ? 'We could not sign you in with that password. If this email already had an account, its owner has been told: sign in with that account\'s password, or reset it.'
                  : signIn.error.message,
            }
          : null));

  // The failing form's field errors show beside their fields.
  const mutation = { error: mode === 'sign-in' ? signIn.error : signUp.error };

  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    if (mode === 'sign-in') signIn.mutate({ email, password });
    else signUp.mutate({ email, name, password });
  };

  const other = mode === 'sign-in' ? '/sign-up' : '/sign-in';
  const otherHref = next === '/teams' ? other : `${other}?next=${encodeURIComponent(next)}`;

  return (
    <div className="auth">
      <div className="auth-brand">
        <Brand href="/sign-in" />
      </div>
      {/* POST: a submit before hydration must not put the password in the URL (history, logs). */}
      <form className="auth-card" method="post" onSubmit={onSubmit} noValidate>
        <h1>{mode === 'sign-in' ? 'Sign in to Stagebook' : 'Create your account'}</h1>
        <p className="muted">
          {mode === 'sign-in'
            ? 'Welcome back. Use the email and password you signed up with.'
            : 'Invitations sent to your email join their teams once you confirm it from the link we email you.'}
        </p>
        <label className="field">
          <span>Email</span>
          <input type="email" name="email" autoComplete="email" value={email} onChange={(e) => setEmail(e.target.value)} required autoFocus aria-invalid={Boolean(fieldError(mutation.error, 'email'))} />
          <FieldError error={mutation.error} field="email" />
        </label>
        {mode === 'sign-up' && (
          <label className="field">
            <span>Name</span>
            <input type="text" name="name" autoComplete="name" value={name} onChange={(e) => setName(e.target.value)} required aria-invalid={Boolean(fieldError(mutation.error, 'name'))} />
            <FieldError error={mutation.error} field="name" />
          </label>
        )}
        <div className="field">
          <label htmlFor={`${formId}-password`}>Password</label>
          <input
            id={`${formId}-password`}
            type="password"
            name="password"
            autoComplete={mode === 'sign-in' ? 'current-password' : 'new-password'}
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            aria-describedby={mode === 'sign-up' ? `${formId}-password-hint` : undefined}
            required
            aria-invalid={Boolean(fieldError(mutation.error, 'password'))}
          />
          <FieldError error={mutation.error} field="password" />
          {mode === 'sign-up' && (
            <small className="hint" id={`${formId}-password-hint`}>
              At least 10 characters.
            </small>
          )}
        </div>
        <ErrorMessage error={error} fields={['email', 'name', 'password']} />
        {mode === 'sign-in' && (
          <p className="auth-switch">
            <Link href="/reset-password">Forgot your password?</Link>
          </p>
        )}
        <button type="submit" className="btn btn-primary btn-block" disabled={pending}>
          {pending ? (mode === 'sign-in' ? 'Signing in…' : 'Creating account…') : mode === 'sign-in' ? 'Sign in' : 'Create account'}
        </button>
        <p className="auth-switch">
          {mode === 'sign-in' ? 'New to Stagebook? ' : 'Already have an account? '}
          <Link href={otherHref}>{mode === 'sign-in' ? 'Create an account' : 'Sign in'}</Link>
        </p>
      </form>
    </div>
  );
}
