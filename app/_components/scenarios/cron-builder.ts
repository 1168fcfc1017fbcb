/**
 * The scenario form's cron builder: a few presets (hourly, daily, weekdays, weekly, monthly) with
 * their minute, hour, weekday and day of month, or the five fields by hand, turned into the
 * five-field cron string Temporal Schedules take, and read back from one.
 */
export const cronPresets = ['hourly', 'daily', 'weekdays', 'weekly', 'monthly', 'custom'] as const;
export type CronPreset = (typeof cronPresets)[number];

export const cronPresetLabels: Record<CronPreset, string> = {
  hourly: 'Every hour',
  daily: 'Every day',
  weekdays: 'Every weekday (Mon–Fri)',
  weekly: 'Every week',
  monthly: 'Every month',
  custom: 'Custom (cron fields)',
};

export const weekdayNames = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'] as const;

export type CronFields = { minute: string; hour: string; dayOfMonth: string; month: string; dayOfWeek: string };

export type CronChoice = {
  preset: CronPreset;
  minute: number;
  hour: number;
  /** 0 = Sunday, as cron counts. */
  weekday: number;
  dayOfMonth: number;
  /** The five fields, for `custom`. */
  fields: CronFields;
};

export const defaultCronChoice: CronChoice = {
  preset: 'daily',
  minute: 0,
  hour: 6,
  weekday: 1,
  dayOfMonth: 1,
  fields: { minute: '0', hour: '6', dayOfMonth: '*', month: '*', dayOfWeek: '*' },
};

/** The cron string of a choice: "0 6 * * 1-5" for weekdays at 06:00. */
export function cronOf(c: CronChoice): string {
  switch (c.preset) {
    case 'hourly':
      return `${c.minute} * * * *`;
    case 'daily':
      return `${c.minute} ${c.hour} * * *`;
    case 'weekdays':
      return `${c.minute} ${c.hour} * * 1-5`;
    case 'weekly':
      return `${c.minute} ${c.hour} * * ${c.weekday}`;
    case 'monthly':
      return `${c.minute} ${c.hour} ${c.dayOfMonth} * *`;
    case 'custom': {
      const f = c.fields;
      return [f.minute, f.hour, f.dayOfMonth, f.month, f.dayOfWeek].map((v) => v.trim() || '*').join(' ');
    }
  }
}

const whole = (v: string, min: number, max: number): number | null => (/^\d{1,2}$/.test(v) && Number(v) >= min && Number(v) <= max ? Number(v) : null);

/** Reads a cron string back into the builder: a preset when it is one, else `custom` with its fields. */
export function choiceOf(cron: string): CronChoice {
  const parts = cron.trim().split(/\s+/);
  if (parts.length !== 5) return defaultCronChoice;
  const [mi = '*', h = '*', dom = '*', mo = '*', dow = '*'] = parts;
  const fields = { minute: mi, hour: h, dayOfMonth: dom, month: mo, dayOfWeek: dow };
  const base = { ...defaultCronChoice, fields };
  const minute = whole(mi, 0, 59);
  const hour = whole(h, 0, 23);
  if (minute === null || mo !== '*') return { ...base, preset: 'custom' };
  if (h === '*' && dom === '*' && dow === '*') return { ...base, preset: 'hourly', minute };
  if (hour === null) return { ...base, preset: 'custom' };
  const at = { ...base, minute, hour };
  if (dom === '*' && dow === '*') return { ...at, preset: 'daily' };
  if (dom === '*' && dow === '1-5') return { ...at, preset: 'weekdays' };
  const weekday = whole(dow, 0, 6);
  if (dom === '*' && weekday !== null) return { ...at, preset: 'weekly', weekday };
  const day = whole(dom, 1, 31);
  if (dow === '*' && day !== null) return { ...at, preset: 'monthly', dayOfMonth: day };
  return { ...at, preset: 'custom' };
}

/** The IANA time zones this browser knows, the given one first when it is missing (an old browser). */
export function timeZones(current: string): string[] {
  const all = typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : [];
  const list = all.includes('UTC') ? all : ['UTC', ...all];
  return list.includes(current) ? list : [current, ...list];
}
