import Link from 'next/link';

export function Brand({ href = '/teams' }: { href?: string }) {
  return (
    <Link href={href} className="brand">
      <span className="brand-mark" aria-hidden>
        <svg viewBox="0 0 20 20" width="20" height="20">
          <rect x="2" y="2" width="16" height="16" rx="4" fill="currentColor" />
          <path d="M6 7h8M6 10h5M6 13h7" stroke="#fff" strokeWidth="1.6" strokeLinecap="round" />
        </svg>
      </span>
      Stagebook
    </Link>
  );
}
