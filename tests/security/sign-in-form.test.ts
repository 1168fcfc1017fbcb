import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it, vi } from 'vitest';

// The form's markup only: routing, queries and mutations are replaced by inert stand-ins.
vi.mock('next/navigation', () => ({ useRouter: () => ({ replace: () => undefined }), useSearchParams: () => new URLSearchParams('next=/teams') }));
vi.mock('next/link', () => ({ default: ({ href, children }: { href: string; children: unknown }) => createElement('a', { href }, children as never) }));
vi.mock('@tanstack/react-query', () => ({
  useQuery: () => ({ data: undefined }),
  useMutation: () => ({ mutate: () => undefined, isPending: false, error: null }),
  useQueryClient: () => ({ clear: () => undefined }),
}));
vi.mock('@/app/_components/trpc', () => ({
  useTRPC: () => ({ auth: { me: { queryOptions: () => ({}) }, signIn: { mutationOptions: () => ({}) }, signUp: { mutationOptions: () => ({}) } } }),
}));

describe('the sign-in and sign-up forms never put a password in a URL', () => {
  it.each(['sign-in', 'sign-up'] as const)('%s: the server-rendered form posts (a submit before hydration is not a GET with ?password=)', async (mode) => {
    const { AuthForm } = await import('@/app/_components/auth-form');
    const html = renderToStaticMarkup(createElement(AuthForm, { mode }));
    const form = /<form[^>]*>/.exec(html)?.[0];
    expect(form).toBeDefined();
    expect(html).toMatch(/<input[^>]*type="password"[^>]*name="password"/);
    expect(form).toMatch(/method="post"/i);
    expect(form).not.toMatch(/action="[^"]*\?/);
  });
});
