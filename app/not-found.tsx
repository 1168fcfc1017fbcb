import Link from 'next/link';
import { Brand } from '@/app/_components/brand';

export default function NotFound() {
  return (
    <div className="auth">
      <div className="auth-brand">
        <Brand />
      </div>
      <div className="auth-card">
        <h1>Page not found</h1>
        <p className="muted">This address does not match any page in Stagebook.</p>
        <Link href="/teams" className="btn btn-primary">
          Go to your teams
        </Link>
      </div>
    </div>
  );
}
