'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { usePathname, useRouter } from 'next/navigation';
import { useEffect, useRef, type ReactNode } from 'react';
import { Brand } from './brand';
import { SearchButton } from './search-dialog';
import { ThemeToggle } from './theme-toggle';
import { useTRPC } from './trpc';
import { ErrorMessage, Loading } from './ui';

/** Every signed-in page: checks the session (client side) and sends visitors without one to /sign-in. */
export function AppShell({ children }: { children: ReactNode }) {
  const trpc = useTRPC();
  const router = useRouter();
  const pathname = usePathname();
  const queryClient = useQueryClient();
  const me = useQuery(trpc.auth.me.queryOptions(undefined, { staleTime: 60_000 }));
  // Signing out on purpose goes to a plain /sign-in, not back to this page after the next sign-in.
  const leaving = useRef(false);
  const signOut = useMutation(
    trpc.auth.signOut.mutationOptions({
      onSuccess: () => {
        leaving.current = true;
        queryClient.clear();
        router.replace('/sign-in');
      },
    }),
  );

  const signedOut = me.isSuccess && me.data === null;
  useEffect(() => {
    if (signedOut && !leaving.current) router.replace(`/sign-in?next=${encodeURIComponent(pathname)}`);
  }, [signedOut, pathname, router]);

  return (
    <div className="shell">
      <header className="topbar">
        <div className="topbar-inner">
          <Brand />
          <nav className="topnav">
            <Link href="/teams" className={pathname === '/teams' ? 'topnav-link topnav-active' : 'topnav-link'}>
              Teams
            </Link>
            {me.data?.instanceAdmin && (
              <Link href="/instance" className={pathname === '/instance' ? 'topnav-link topnav-active' : 'topnav-link'}>
                Instance
              </Link>
            )}
          </nav>
          <div className="topbar-spacer" />
          {me.data && <SearchButton />}
          <ThemeToggle />
          {me.data && (
            <div className="user">
              <span className="avatar" aria-hidden>
                {me.data.name.slice(0, 1).toUpperCase()}
              </span>
              <span className="user-text">
                <span className="user-name">{me.data.name}</span>
                <span className="user-email">{me.data.email}</span>
              </span>
              <button type="button" className="btn btn-ghost btn-sm" onClick={() => signOut.mutate()} disabled={signOut.isPending}>
                {signOut.isPending ? 'Signing out…' : 'Sign out'}
              </button>
            </div>
          )}
        </div>
      </header>
      <main className="content">
        {me.isPending || signedOut ? (
          <Loading />
        ) : me.isError ? (
          <div className="page">
            <ErrorMessage error={me.error} />
            <button type="button" className="btn" onClick={() => void me.refetch()}>
              Try again
            </button>
          </div>
        ) : (
          children
        )}
      </main>
    </div>
  );
}
