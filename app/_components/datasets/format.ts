const count = new Intl.NumberFormat(undefined);
const percent = new Intl.NumberFormat(undefined, { style: 'percent', maximumFractionDigits: 1 });
const compact = new Intl.NumberFormat(undefined, { maximumSignificantDigits: 4 });

export const formatCount = (n: number | null | undefined): string => (n === null || n === undefined ? '—' : count.format(n));
export const formatPercent = (x: number | null | undefined): string => (x === null || x === undefined ? '—' : percent.format(x));
export const formatNumber = (x: number | null | undefined): string => (x === null || x === undefined ? '—' : compact.format(x));

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  if (n < 1024 * 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MB`;
  return `${(n / 1024 / 1024 / 1024).toFixed(2)} GB`;
}

export type Environment = 'design' | 'production';

export const datasetHref = (projectId: string, name: string) => `/projects/${projectId}/datasets/${encodeURIComponent(name)}`;
export const productionDatasetHref = (projectId: string, name: string) => `/projects/${projectId}/production/datasets/${encodeURIComponent(name)}`;
