import { checkSummary, stepStatusMeta, type BuildStatus, type CheckOutcome, type StepStatus } from './build-types';

/** A build's or a step's status: colour, glyph and word (never colour alone). */
export function BuildStatusBadge({ status, compact }: { status: StepStatus | BuildStatus; compact?: boolean }) {
  const { label, icon } = stepStatusMeta(status);
  return (
    <span className={`badge build-status build-status-${status}`} data-status={status} title={compact ? label : undefined}>
      <span className="build-status-icon" aria-hidden>
        {icon}
      </span>
      {compact ? <span className="sr-only">{label}</span> : label}
    </span>
  );
}

/** Each check as a chip: passed, failed (error: the dataset was not published) or warned. */
export function CheckChips({ checks }: { checks: CheckOutcome[] }) {
  if (checks.length === 0) return <span className="muted">—</span>;
  return (
    <ul className="check-chips" aria-label="Checks">
      {checks.map((c, i) => {
        const outcome = c.passed ? 'passed' : c.severity === 'error' ? 'failed' : 'warned';
        return (
          <li key={`${c.name}-${i}`} className={`check-chip check-${outcome}`} title={c.detail || undefined} data-outcome={outcome}>
            <span aria-hidden>{c.passed ? '✓' : c.severity === 'error' ? '✕' : '!'}</span> {c.name}
            {c.observed !== undefined && c.expected !== undefined && (
              <span className="check-chip-value">
                {' '}
                {c.observed} <span className="check-chip-vs">vs</span> {c.expected}
              </span>
            )}
            <span className="sr-only"> {outcome}</span>
          </li>
        );
      })}
    </ul>
  );
}

export function CheckSummaryText({ checks }: { checks: CheckOutcome[] }) {
  if (checks.length === 0) return null;
  const { passed, failed, warned } = checkSummary(checks);
  const parts = [`${passed}/${checks.length} checks passed`];
  if (failed) parts.push(`${failed} failed`);
  if (warned) parts.push(`${warned} warning${warned === 1 ? '' : 's'}`);
  return <span className={failed ? 'check-summary check-summary-failed' : warned ? 'check-summary check-summary-warned' : 'check-summary'}>{parts.join(', ')}</span>;
}
