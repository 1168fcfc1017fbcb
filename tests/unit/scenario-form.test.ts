/** The scenario cell's form: cron presets to cron strings and back, and its edits of the YAML. */
import { describe, expect, it } from 'vitest';
import { choiceOf, cronOf, defaultCronChoice } from '@/app/_components/scenarios/cron-builder';
import { formatInZone, nextScheduledRun } from '@/app/_components/scenarios/scenario-types';
import { scheduleTriggersOf, withScheduleTrigger } from '@/app/_components/scenarios/scenario-yaml';
import { parseScenarioCell } from '@/server/pipeline/scenario-cell';

describe('cron builder', () => {
  it('turns presets into the cron strings a person would write', () => {
    const at = { ...defaultCronChoice, minute: 30, hour: 7 };
    expect(cronOf({ ...at, preset: 'hourly' })).toBe('30 * * * *');
    expect(cronOf({ ...at, preset: 'daily' })).toBe('30 7 * * *');
    expect(cronOf({ ...at, preset: 'weekdays' })).toBe('30 7 * * 1-5');
    expect(cronOf({ ...at, preset: 'weekly', weekday: 0 })).toBe('30 7 * * 0');
    expect(cronOf({ ...at, preset: 'monthly', dayOfMonth: 15 })).toBe('30 7 15 * *');
    expect(cronOf({ ...at, preset: 'custom', fields: { minute: '*/15', hour: '8-18', dayOfMonth: '', month: '*', dayOfWeek: '1-5' } })).toBe('*/15 8-18 * * 1-5');
  });

  it('reads a cron string back into the preset that makes it, else into custom fields', () => {
    for (const cron of ['5 * * * *', '0 6 * * *', '45 23 * * 1-5', '0 9 * * 6', '0 2 28 * *', '*/15 8-18 * * 1-5', '0 6 1 1 *']) {
      expect(cronOf(choiceOf(cron))).toBe(cron);
    }
    expect(choiceOf('0 6 * * *').preset).toBe('daily');
    expect(choiceOf('*/15 8-18 * * 1-5').preset).toBe('custom');
    expect(choiceOf('0 6 1 1 *').preset).toBe('custom');
  });

  it('every preset gives a cron the scenario cell accepts', () => {
    for (const preset of ['hourly', 'daily', 'weekdays', 'weekly', 'monthly'] as const) {
      const yaml = withScheduleTrigger('name: n\nsteps:\n  - type: sql\n    sql: select 1\n', null, cronOf({ ...defaultCronChoice, preset }), 'Europe/Paris')!;
      expect(parseScenarioCell(yaml).problems).toEqual([]);
    }
  });
});

describe('scenario YAML edits', () => {
  const source = '# nightly refresh\nname: nightly\ntriggers:\n  - type: manual\n  - type: schedule # the main one\n    cron: "0 6 * * *"\n    timezone: Europe/Paris\nsteps:\n  - type: sql\n    sql: select 1\n';

  it('finds the schedule triggers by their position', () => {
    expect(scheduleTriggersOf(source)).toEqual([{ index: 1, cron: '0 6 * * *', timezone: 'Europe/Paris' }]);
    expect(scheduleTriggersOf('name: [')).toEqual([]);
  });

  it('changes a schedule in place, keeping comments and the other triggers', () => {
    const out = withScheduleTrigger(source, 1, '* * * * *', 'UTC')!;
    expect(out).toContain('# nightly refresh');
    expect(out).toContain('# the main one');
    const spec = parseScenarioCell(out).spec!;
    expect(spec.triggers).toEqual([{ type: 'manual' }, { type: 'schedule', cron: '* * * * *', timezone: 'UTC' }]);
  });

  it('appends a schedule trigger, or adds the triggers list when there is none; refuses YAML that does not parse', () => {
    expect(parseScenarioCell(withScheduleTrigger(source, null, '0 7 * * 1-5', 'Asia/Tokyo')!).spec!.triggers).toHaveLength(3);
    const bare = withScheduleTrigger('name: n\nsteps:\n  - type: sql\n    sql: select 1\n', null, '0 7 * * *', 'UTC')!;
    expect(parseScenarioCell(bare).spec!.triggers).toEqual([{ type: 'schedule', cron: '0 7 * * *', timezone: 'UTC' }]);
    expect(withScheduleTrigger('name: [', null, '0 7 * * *', 'UTC')).toBeNull();
  });
});

describe('next run in its time zone', () => {
  it('shows the time as the clock of the zone shows it, with the zone named', () => {
    const at = new Date('2026-12-08T06:30:00Z');
    expect(formatInZone(at, 'Europe/Paris')).toMatch(/07:30.*(CET|GMT\+1)/);
    expect(formatInZone(at, 'Asia/Tokyo')).toMatch(/03:30.*(JST|GMT\+9)/);
  });

  it('takes the earliest schedule trigger, with its own zone', () => {
    const from = new Date('2026-12-07T12:00:00Z');
    const next = nextScheduledRun(
      [
        { type: 'manual' },
        { type: 'schedule', cron: '0 6 * * *', timezone: 'Asia/Tokyo' },
        { type: 'schedule', cron: '30 7 * * 1-5', timezone: 'Europe/Paris' },
      ],
      from,
    );
    // 06:00 Tokyo on the 8th is 21:00 UTC on the 7th, before 07:30 Paris (06:30 UTC) on the 8th.
    expect(next).toEqual({ at: new Date('2026-12-07T21:00:00Z'), timezone: 'Asia/Tokyo' });
  });
});
