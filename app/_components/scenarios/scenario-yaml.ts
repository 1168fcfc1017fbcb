import { isMap, isSeq, parseDocument } from 'yaml';

/** A schedule trigger of a scenario cell's YAML, by its position in `triggers:`. */
export type ScheduleAt = { index: number; cron: string; timezone: string };

/** The scenario's `name:` as written, or null. */
export function scenarioNameOf(source: string): string | null {
  const name = parseDocument(source).get('name');
  return typeof name === 'string' && name ? name : null;
}

/** The schedule triggers of a scenario cell's source as written (empty when the YAML does not parse). */
export function scheduleTriggersOf(source: string): ScheduleAt[] {
  const doc = parseDocument(source);
  if (doc.errors.length) return [];
  const triggers = doc.get('triggers');
  if (!isSeq(triggers)) return [];
  const out: ScheduleAt[] = [];
  triggers.items.forEach((item, index) => {
    if (!isMap(item) || item.get('type') !== 'schedule') return;
    const cron = item.get('cron');
    const timezone = item.get('timezone');
    out.push({ index, cron: typeof cron === 'string' ? cron : '', timezone: typeof timezone === 'string' ? timezone : 'UTC' });
  });
  return out;
}

/**
 * The source with the schedule trigger at `index` set to this cron and time zone, or with a new
 * schedule trigger appended (`index` null). Comments and the other keys stay as written. Null when
 * the YAML does not parse (the editor shows why; the form does not guess).
 */
export function withScheduleTrigger(source: string, index: number | null, cron: string, timezone: string): string | null {
  const doc = parseDocument(source);
  if (doc.errors.length || !isMap(doc.contents)) return null;
  const triggers = doc.get('triggers');
  if (index !== null && isSeq(triggers) && isMap(triggers.items[index])) {
    doc.setIn(['triggers', index, 'cron'], cron);
    doc.setIn(['triggers', index, 'timezone'], timezone);
  } else if (isSeq(triggers)) {
    triggers.add(doc.createNode({ type: 'schedule', cron, timezone }));
  } else {
    doc.set('triggers', doc.createNode([{ type: 'schedule', cron, timezone }]));
  }
  // `[a, b]` as people (and the cell templates) write it, not the library's default `[ a, b ]`.
  return doc.toString({ flowCollectionPadding: false });
}
