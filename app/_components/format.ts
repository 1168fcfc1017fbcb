const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const dateTimeSeconds = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });

type DateLike = Date | string | null | undefined;

function toDate(d: DateLike): Date | null {
  if (!d) return null;
  const date = d instanceof Date ? d : new Date(d);
  return Number.isNaN(date.getTime()) ? null : date;
}

export function formatDateTime(d: DateLike, fallback = '—'): string {
  const date = toDate(d);
  return date ? dateTime.format(date) : fallback;
}

export function formatDateTimeSeconds(d: DateLike, fallback = '—'): string {
  const date = toDate(d);
  return date ? dateTimeSeconds.format(date) : fallback;
}

export function formatDuration(start: DateLike, end: DateLike): string {
  const a = toDate(start);
  const b = toDate(end);
  if (!a || !b) return '—';
  const ms = b.getTime() - a.getTime();
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

export function shortId(id: string | null | undefined): string {
  return id ? id.slice(0, 8) : '—';
}
