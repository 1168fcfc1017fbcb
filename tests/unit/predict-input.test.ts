import { describe, expect, it } from 'vitest';
import { MAX_PREDICT_RECORDS, plainPredictInput, PredictInput } from '@/server/services/endpoints/schemas';

const record = { age: 30, home: 'rent' };

describe("scoring.predict's hand-checked input (the fast path)", () => {
  it('accepts only what PredictInput accepts without explanations, with the same endpoint and records', () => {
    const many = (n: number) => Array.from({ length: n }, () => record);
    const inputs: unknown[] = [
      { endpoint: 'credit', records: [record] },
      { endpoint: 'credit-2_b', records: many(3), explain: false },
      { endpoint: 'credit', records: [record], explain: true },
      { endpoint: 'credit', records: [record], explain: 'yes' },
      { endpoint: 'credit', records: [record], extra: 1 },
      { endpoint: 'credit', records: [] },
      { endpoint: 'credit', records: many(MAX_PREDICT_RECORDS) },
      { endpoint: 'credit', records: many(MAX_PREDICT_RECORDS + 1) },
      { endpoint: 'credit', records: record },
      { endpoint: 'credit', records: [1, null, 'x', [record]] },
      { endpoint: 'Credit', records: [record] },
      { endpoint: '9credit', records: [record] },
      { endpoint: 'a'.repeat(63), records: [record] },
      { endpoint: 'a'.repeat(64), records: [record] },
      { endpoint: 'credit\n', records: [record] },
      { endpoint: 3, records: [record] },
      { records: [record] },
      { endpoint: 'credit' },
      [{ endpoint: 'credit', records: [record] }],
      null,
      'credit',
      undefined,
    ];
    let accepted = 0;
    for (const input of inputs) {
      const plain = plainPredictInput(input);
      if (!plain) continue;
      accepted++;
      const parsed = PredictInput.safeParse(input);
      expect(parsed.success, JSON.stringify(input)?.slice(0, 200)).toBe(true);
      expect({ endpoint: parsed.data!.endpoint, records: parsed.data!.records, explain: parsed.data!.explain ?? false }).toEqual({ ...plain, explain: false });
    }
    // The common shapes take the fast path.
    expect(accepted).toBe(6);
  });
});
