/**
 * The demand-forecast demo's sales history: a deterministic, seeded generator (the same seed and
 * days give the same CSV), so the demo and its tests see the same numbers on every machine.
 * Each location has a base level, a linear trend, a weekly pattern and noise (about 8%).
 */
import { gaussian, seededRandom } from '@/server/ml/random';

export const DEMO_LOCATIONS = ['lyon', 'lille', 'marseille', 'nantes', 'paris_bastille', 'paris_nord', 'strasbourg', 'toulouse'] as const;

/** Sunday = 0 ... Saturday = 6 (Date#getUTCDay): busy weekends, a slow start of the week. */
const WEEKDAY_FACTOR = [1.3, 0.8, 0.85, 0.9, 1.0, 1.2, 1.45];

export type SalesRow = { location: string; day: string; units: number };

export type SalesHistoryOptions = {
  /** The last day of history (UTC, `YYYY-MM-DD`); the forecast is for the day after. */
  lastDay: string;
  days?: number;
  locations?: readonly string[];
  seed?: number;
};

export function generateSalesHistory({ lastDay, days = 180, locations = DEMO_LOCATIONS, seed = 7 }: SalesHistoryOptions): SalesRow[] {
  const rng = seededRandom(seed);
  const random = rng.next;
  const end = Date.parse(`${lastDay}T00:00:00Z`);
  if (!Number.isFinite(end)) throw new Error(`lastDay must be YYYY-MM-DD, got "${lastDay}"`);
  const profiles = locations.map((location) => ({
    location,
    base: 80 + Math.round(random() * 160),
    trendPerDay: -0.05 + random() * 0.3,
  }));
  const rows: SalesRow[] = [];
  for (let d = days - 1; d >= 0; d--) {
    const at = new Date(end - d * 86_400_000);
    const day = at.toISOString().slice(0, 10);
    const elapsed = days - 1 - d;
    for (const p of profiles) {
      const expected = (p.base + p.trendPerDay * elapsed) * WEEKDAY_FACTOR[at.getUTCDay()]!;
      const units = Math.max(0, Math.round(expected * (1 + 0.08 * gaussian(rng))));
      rows.push({ location: p.location, day, units });
    }
  }
  return rows;
}

export function salesHistoryCsv(rows: SalesRow[]): string {
  return `location,day,units\n${rows.map((r) => `${r.location},${r.day},${r.units}`).join('\n')}\n`;
}

/** Yesterday in UTC: the nightly run forecasts today. */
export function yesterdayUtc(now = new Date()): string {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() - 1)).toISOString().slice(0, 10);
}
