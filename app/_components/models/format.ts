const fixed3 = new Intl.NumberFormat(undefined, { minimumFractionDigits: 3, maximumFractionDigits: 3 });
const percent = new Intl.NumberFormat(undefined, { style: 'percent', maximumFractionDigits: 1 });
const count = new Intl.NumberFormat(undefined);

const missing = (x: number | null | undefined): x is null | undefined => x === null || x === undefined || Number.isNaN(x);

export const formatMetric = (x: number | null | undefined) => (missing(x) ? '—' : fixed3.format(x));
export const formatShare = (x: number | null | undefined) => (missing(x) ? '—' : percent.format(x));
export const formatCount = (x: number | null | undefined) => (missing(x) ? '—' : count.format(x));

/** "0.823 (0.801–0.845)": an AUC with its 95% interval. */
export function formatAuc(auc: { auc: number; lower: number; upper: number } | null | undefined): string {
  if (!auc || missing(auc.auc)) return '—';
  return `${fixed3.format(auc.auc)} (${fixed3.format(auc.lower)}–${fixed3.format(auc.upper)})`;
}

