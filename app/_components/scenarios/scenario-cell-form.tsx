'use client';

import './scenarios.css';
import { useMemo, useState } from 'react';
import type * as Y from 'yjs';
import { editText } from '@/server/domain/text-edit';
import { useNotebookPipeline } from '../notebook/notebook-pipeline';
import { useText } from '../notebook/use-cells';
import { choiceOf, cronOf, cronPresetLabels, cronPresets, defaultCronChoice, timeZones, weekdayNames, type CronChoice, type CronFields } from './cron-builder';
import { describeCron, describeStep, describeTrigger, formatInZone, nextCronTime } from './scenario-types';
import { scheduleTriggersOf, withScheduleTrigger } from './scenario-yaml';

/**
 * Under a scenario cell's YAML: what it declares in words (from the last compile: triggers with
 * cronstrue, dataset names, steps with their names), and for editors a cron builder that writes a
 * schedule trigger into the YAML, showing the next run in the trigger's time zone.
 */
export function ScenarioCellForm({ cellId, text, canEdit, position }: { cellId: string; text: Y.Text; canEdit: boolean; position: number }) {
  const outline = useNotebookPipeline().compiled?.scenarios[cellId];
  return (
    <div className="scenario-form" aria-label={`Scenario of cell ${position} in words`}>
      {outline ? (
        <div className="scenario-outline">
          <div>
            <span className="scenario-outline-head">Runs</span>
            <ul className="trigger-list" aria-label="Triggers">
              {outline.triggers.length === 0 && <li className="muted">only when another step or the API starts it (no triggers)</li>}
              {outline.triggers.map((t, i) => (
                <li key={i} data-trigger={t.type}>
                  {describeTrigger(t)}
                </li>
              ))}
            </ul>
          </div>
          <div>
            <span className="scenario-outline-head">Steps</span>
            <ol className="step-list" aria-label="Steps">
              {outline.steps.map((st) => (
                <li key={st.index}>{describeStep(st)}</li>
              ))}
            </ol>
          </div>
        </div>
      ) : (
        <p className="muted small">The readable outline appears once the YAML is valid.</p>
      )}
      {canEdit && <CronBuilder text={text} position={position} />}
    </div>
  );
}

function CronBuilder({ text, position }: { text: Y.Text; position: number }) {
  const source = useText(text);
  const schedules = useMemo(() => scheduleTriggersOf(source), [source]);
  const [open, setOpen] = useState(false);
  const [target, setTarget] = useState<number | null>(null);
  const [choice, setChoice] = useState<CronChoice>(defaultCronChoice);
  const [timezone, setTimezone] = useState('UTC');
  const [problem, setProblem] = useState<string | null>(null);
  const zones = useMemo(() => timeZones(timezone), [timezone]);

  const start = () => {
    const first = schedules[0];
    setTarget(first ? first.index : null);
    setChoice(first ? choiceOf(first.cron) : defaultCronChoice);
    setTimezone(first?.timezone ?? Intl.DateTimeFormat().resolvedOptions().timeZone ?? 'UTC');
    setProblem(null);
    setOpen(true);
  };
  const pickTarget = (value: string) => {
    const s = schedules.find((x) => String(x.index) === value);
    setTarget(s ? s.index : null);
    if (s) {
      setChoice(choiceOf(s.cron));
      setTimezone(s.timezone);
    }
  };
  const cron = cronOf(choice);
  const next = nextCronTime(cron, timezone);
  const apply = () => {
    const updated = withScheduleTrigger(text.toString(), target, cron, timezone);
    if (updated === null) return setProblem('The YAML does not parse: fix the error shown above first.');
    // Only the characters that change: a collaborator's cursor elsewhere in the cell stays put.
    text.doc?.transact(() => editText(text, updated));
    setOpen(false);
  };

  if (!open) {
    return (
      <button type="button" className="btn btn-sm" onClick={start} aria-label={`Schedule builder for cell ${position}`}>
        {schedules.length ? 'Edit schedule…' : 'Add a schedule…'}
      </button>
    );
  }
  const set = (patch: Partial<CronChoice>) => setChoice((c) => ({ ...c, ...patch }));
  const setField = (k: keyof CronFields, v: string) => setChoice((c) => ({ ...c, fields: { ...c.fields, [k]: v } }));
  return (
    <fieldset className="cron-builder" aria-label="Schedule builder">
      <legend>Schedule</legend>
      <div className="cron-row">
        <label>
          Trigger
          <select className="select-sm" value={target === null ? 'new' : String(target)} onChange={(e) => pickTarget(e.target.value)}>
            {schedules.map((s) => (
              <option key={s.index} value={String(s.index)}>
                trigger {s.index + 1}: {s.cron}
              </option>
            ))}
            <option value="new">a new schedule trigger</option>
          </select>
        </label>
        <label>
          Repeat
          <select className="select-sm" value={choice.preset} onChange={(e) => set({ preset: e.target.value as CronChoice['preset'] })}>
            {cronPresets.map((p) => (
              <option key={p} value={p}>
                {cronPresetLabels[p]}
              </option>
            ))}
          </select>
        </label>
        <PresetFields choice={choice} set={set} setField={setField} />
        <label>
          Time zone
          <select className="select-sm" value={timezone} onChange={(e) => setTimezone(e.target.value)}>
            {zones.map((z) => (
              <option key={z} value={z}>
                {z}
              </option>
            ))}
          </select>
        </label>
      </div>
      <p className="cron-summary">
        <code data-cron>{cron}</code> · {describeCron(cron)} ({timezone})
      </p>
      <p className="cron-summary" data-next-run>
        Next run: {next ? formatInZone(next, timezone) : <span className="field-error">this cron never fires or does not parse</span>}
        {next && timezone !== Intl.DateTimeFormat().resolvedOptions().timeZone && <span className="muted"> · your time: {formatInZone(next, Intl.DateTimeFormat().resolvedOptions().timeZone)}</span>}
      </p>
      {problem && (
        <p className="field-error" role="alert">
          {problem}
        </p>
      )}
      <div className="cron-row">
        <button type="button" className="btn btn-sm btn-primary" onClick={apply} disabled={!next}>
          {target === null ? 'Add to YAML' : 'Update YAML'}
        </button>
        <button type="button" className="btn btn-sm btn-ghost" onClick={() => setOpen(false)}>
          Cancel
        </button>
      </div>
    </fieldset>
  );
}

const numberInput = (label: string, value: number, min: number, max: number, onChange: (n: number) => void) => (
  <label>
    {label}
    <input className="cron-number" type="number" min={min} max={max} value={value} onChange={(e) => onChange(Math.min(max, Math.max(min, Math.trunc(Number(e.target.value) || 0))))} />
  </label>
);

function PresetFields({ choice, set, setField }: { choice: CronChoice; set: (p: Partial<CronChoice>) => void; setField: (k: keyof CronFields, v: string) => void }) {
  if (choice.preset === 'custom') {
    const names: [keyof CronFields, string][] = [
      ['minute', 'Minute'],
      ['hour', 'Hour'],
      ['dayOfMonth', 'Day of month'],
      ['month', 'Month'],
      ['dayOfWeek', 'Day of week'],
    ];
    return (
      <>
        {names.map(([k, label]) => (
          <label key={k}>
            {label}
            <input className="cron-field" value={choice.fields[k]} onChange={(e) => setField(k, e.target.value)} />
          </label>
        ))}
      </>
    );
  }
  return (
    <>
      {choice.preset === 'weekly' && (
        <label>
          On
          <select className="select-sm" value={choice.weekday} onChange={(e) => set({ weekday: Number(e.target.value) })}>
            {weekdayNames.map((d, i) => (
              <option key={d} value={i}>
                {d}
              </option>
            ))}
          </select>
        </label>
      )}
      {choice.preset === 'monthly' && numberInput('Day', choice.dayOfMonth, 1, 31, (n) => set({ dayOfMonth: n }))}
      {choice.preset !== 'hourly' && numberInput('Hour', choice.hour, 0, 23, (n) => set({ hour: n }))}
      {numberInput('Minute', choice.minute, 0, 59, (n) => set({ minute: n }))}
    </>
  );
}
