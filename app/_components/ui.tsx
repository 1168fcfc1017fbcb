import Link from 'next/link';
import type { ReactNode } from 'react';
import type { RunStatus, TeamRole } from './types';

export type Crumb = { label: string; href?: string };

export function PageHeader({ crumbs, title, badge, description, actions }: {
  crumbs?: Crumb[];
  title: ReactNode;
  badge?: ReactNode;
  description?: ReactNode;
  actions?: ReactNode;
}) {
  return (
    <header className="page-header">
      {crumbs && crumbs.length > 0 && (
        <nav className="crumbs" aria-label="Breadcrumb">
          {crumbs.map((c, i) => (
            <span key={`${c.label}-${i}`} className="crumb">
              {c.href ? <Link href={c.href}>{c.label}</Link> : <span>{c.label}</span>}
              <span className="crumb-sep" aria-hidden>
                /
              </span>
            </span>
          ))}
          <span className="crumb crumb-current" aria-current="page">
            {title}
          </span>
        </nav>
      )}
      <div className="page-title-row">
        <div className="page-title">
          <h1>{title}</h1>
          {badge}
        </div>
        {actions && <div className="page-actions">{actions}</div>}
      </div>
      {description && <p className="page-description">{description}</p>}
    </header>
  );
}

export function Card({ title, description, actions, children, id }: {
  title?: ReactNode;
  description?: ReactNode;
  actions?: ReactNode;
  children: ReactNode;
  id?: string;
}) {
  return (
    <section className="card" aria-labelledby={id}>
      {(title || actions) && (
        <div className="card-head">
          <div>
            {title && <h2 id={id}>{title}</h2>}
            {description && <p className="card-description">{description}</p>}
          </div>
          {actions && <div className="card-actions">{actions}</div>}
        </div>
      )}
      {children}
    </section>
  );
}

export function EmptyState({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="empty">
      <p className="empty-title">{title}</p>
      {children && <div className="empty-body">{children}</div>}
    </div>
  );
}

type ServerError = { message: string; data?: unknown } | null | undefined;

function fieldErrorsOf(error: ServerError): Record<string, string> {
  const data = error?.data as { fieldErrors?: Record<string, string> | null } | null | undefined;
  return data?.fieldErrors ?? {};
}

/** "name is required" -> "Name is required": server messages name their field in lower case. */
function sentence(message: string): string {
  return message.charAt(0).toUpperCase() + message.slice(1);
}

/** The server's message for one input field, if it named that field. */
export function fieldError(error: ServerError, field: string): string | undefined {
  const message = fieldErrorsOf(error)[field];
  return message ? sentence(message) : undefined;
}

/** Shown right under the field it is about; pass the same field names to the form's ErrorMessage. */
export function FieldError({ error, field, id }: { error: ServerError; field: string; id?: string }) {
  const message = fieldError(error, field);
  if (!message) return null;
  return (
    <small className="field-error" role="alert" id={id}>
      {message}
    </small>
  );
}

/**
 * A server error shown where the user acted. `fields` are the inputs that show their own errors
 * (FieldError): an error about those alone is not repeated here.
 */
export function ErrorMessage({ error, fields }: { error: ServerError; fields?: readonly string[] }) {
  if (!error) return null;
  if (fields) {
    const errs = fieldErrorsOf(error);
    const paths = Object.keys(errs);
    if (paths.length > 0 && paths.every((p) => fields.includes(p))) return null;
    const rest = paths.filter((p) => !fields.includes(p));
    if (rest.length > 0) {
      return (
        <p className="error" role="alert">
          {rest.map((p) => sentence(errs[p] ?? '')).join('; ')}
        </p>
      );
    }
  }
  return (
    <p className="error" role="alert">
      {error.message}
    </p>
  );
}

export function Loading({ label = 'Loading…' }: { label?: string }) {
  return (
    <div className="loading" role="status">
      <span className="spinner" aria-hidden />
      {label}
    </div>
  );
}

export function RoleBadge({ role }: { role: TeamRole | string }) {
  return <span className={`badge badge-role-${role}`}>{role}</span>;
}

export function StatusBadge({ status }: { status: RunStatus }) {
  return (
    <span className={`badge badge-status-${status}`}>
      {(status === 'running' || status === 'queued') && <span className="pulse" aria-hidden />}
      {status}
    </span>
  );
}

export function Tabs({ items, active }: { items: { href: string; label: string }[]; active: string }) {
  return (
    <nav className="tabs" aria-label="Sections">
      {items.map((t) => (
        <Link key={t.href} href={t.href} className={t.href === active ? 'tab tab-active' : 'tab'} aria-current={t.href === active ? 'page' : undefined}>
          {t.label}
        </Link>
      ))}
    </nav>
  );
}
