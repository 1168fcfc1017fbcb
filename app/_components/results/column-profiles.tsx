'use client';

import './results.css';
import { formatCount, formatNumber, formatPercent } from '../datasets/format';
import { formatTimestamp } from './format-value';
import type { ColumnProfile } from './result-types';

function bound(v: number | string | null, type: string): string {
  if (v === null) return '—';
  if (type === 'timestamp') return formatTimestamp(v);
  return typeof v === 'number' ? formatNumber(v) : v;
}

/** Bars as plain boxes: a profile has one small chart per column, dozens on a page. */
function Histogram({ p }: { p: ColumnProfile }) {
  const bins = p.histogram ?? [];
  const max = Math.max(1, ...bins.map((b) => b.count));
  return (
    <div className="profile-histogram" role="img" aria-label={`Histogram of ${p.name}, ${bins.length} bins from ${bound(p.min, p.type)} to ${bound(p.max, p.type)}`}>
      <div className="profile-bars">
        {bins.map((b, i) => (
          <span key={i} className="profile-bar" style={{ height: `${Math.max(b.count > 0 ? 4 : 0, (b.count / max) * 100)}%` }} title={`${bound(b.lo, p.type)} – ${bound(b.hi, p.type)}: ${formatCount(b.count)}`} />
        ))}
      </div>
      <div className="profile-axis small muted">
        <span>{bound(p.min, p.type)}</span>
        <span>{bound(p.max, p.type)}</span>
      </div>
    </div>
  );
}

function TopValues({ p }: { p: ColumnProfile }) {
  const top = p.topValues ?? [];
  const max = Math.max(1, ...top.map((t) => t.count));
  return (
    <ul className="profile-top" aria-label={`Most frequent values of ${p.name}`}>
      {top.map((t, i) => (
        <li key={i}>
          <span className="profile-top-value" title={t.value ?? 'NULL'}>
            {t.value === null ? <span className="null">NULL</span> : t.value}
          </span>
          <span className="profile-top-bar">
            <span style={{ width: `${(t.count / max) * 100}%` }} />
          </span>
          <span className="profile-top-count tabular small">{formatCount(t.count)}</span>
        </li>
      ))}
    </ul>
  );
}

/** One card per column: its distribution, null share and distinct count, over the whole result or a labelled sample. */
export function ColumnProfiles({ profiles }: { profiles: ColumnProfile[] }) {
  if (profiles.length === 0) return <p className="muted">No columns to profile.</p>;
  return (
    <div className="profiles" aria-label="Column profiles">
      {profiles.map((p) => {
        const nullShare = p.rows > 0 ? p.nullCount / p.rows : 0;
        return (
          <section key={p.name} className="profile" data-column={p.name} aria-label={`Profile of ${p.name}`}>
            <header className="profile-head">
              <strong className="profile-name">{p.name}</strong>
              <span className={`result-grid-type type-${p.type}`}>{p.type}</span>
              {p.sampled && (
                <span className="badge badge-neutral" title={`Computed over a sample of ${formatCount(p.rows)} rows`}>
                  sampled
                </span>
              )}
            </header>
            {p.histogram && p.histogram.length > 0 ? <Histogram p={p} /> : p.topValues && p.topValues.length > 0 ? <TopValues p={p} /> : <p className="muted small">No values.</p>}
            <dl className="profile-facts small">
              <div>
                <dt>null</dt>
                <dd className={nullShare > 0 ? 'warn-text' : undefined}>{formatPercent(nullShare)}</dd>
              </div>
              <div>
                <dt>distinct</dt>
                <dd>{formatCount(p.distinctCount)}</dd>
              </div>
              {p.mean !== null && (
                <div>
                  <dt>mean</dt>
                  <dd>{formatNumber(p.mean)}</dd>
                </div>
              )}
              <div>
                <dt>rows</dt>
                <dd>{formatCount(p.rows)}</dd>
              </div>
            </dl>
          </section>
        );
      })}
    </div>
  );
}
