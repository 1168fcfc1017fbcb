import { describe, expect, it } from 'vitest';
import { safeNext } from '@/app/_components/safe-next';

const ORIGIN = 'https://stagebook.example';

/**
 * Where a browser on ORIGIN goes when the sign-in page navigates to `target`: resolved with the
 * WHATWG URL parser, as browsers do, independently of how safeNext decides.
 */
const landsOn = (target: string) => new URL(target, `${ORIGIN}/sign-in`).origin;

describe('sign-in follows ?next= only to paths on this origin', () => {
  const attacks = [
    '//evil.com',
    '//evil.com/teams',
    'https://evil.com',
    'http://evil.com/teams',
    '/\\evil.com',
    '\\\\evil.com',
    '/\\/evil.com',
    '/\t/evil.com',
    '/\n/evil.com',
    'javascript:alert(document.cookie)',
    'JaVaScRiPt:alert(1)',
    ' javascript:alert(1)',
    'data:text/html,<script>alert(1)</script>',
    '///evil.com',
    '/sign-in?next=//evil.com',
    '',
  ];

  it.each(attacks)('%j goes to the default page, on this origin', (next) => {
    const target = safeNext(next);
    expect(target).toBe('/teams');
    expect(landsOn(target)).toBe(ORIGIN);
  });

  it('every attack would have left the origin (or run script) had it been followed as it is', () => {
    const leaves = (next: string) => next === '' || next.startsWith('/sign-') || /^\s*(javascript|data):/i.test(next) || landsOn(next) !== ORIGIN;
    expect(attacks.filter((a) => !leaves(a))).toEqual([]);
  });

  it.each([
    ['/teams', '/teams'],
    ['/projects/123/notebooks/abc?cell=4#out', '/projects/123/notebooks/abc?cell=4#out'],
    ['/a/../teams', '/teams'],
    // Encoded slashes and backslashes are path characters to the browser: they stay on this origin.
    ['/%2F%2Fevil.com', '/%2F%2Fevil.com'],
    ['/%5Cevil.com', '/%5Cevil.com'],
  ])('%j is followed as %j', (next, expected) => {
    expect(safeNext(next)).toBe(expected);
    expect(landsOn(safeNext(next))).toBe(ORIGIN);
  });

  it('falls back to /teams with no next, and never loops back to the sign-in or sign-up page', () => {
    expect(safeNext(null)).toBe('/teams');
    expect(safeNext('/sign-up')).toBe('/teams');
    expect(safeNext('/sign-in?next=/teams')).toBe('/teams');
  });
});
