import { describe, expect, it } from 'vitest';
import { failureText } from '@/server/services/builds/build-run-state';
import { checkFailureText } from '@/server/services/builds/run-checks';

describe('build failure texts name the cell and give the value against its threshold', () => {
  it('says a failed check with its value and threshold', () => {
    const rowCount = { name: 'row_count', severity: 'error' as const, passed: false, detail: '3,980 rows (expected at least 4,000)', observed: '3,980 rows', expected: 'min 4,000' };
    expect(checkFailureText(rowCount)).toBe('check row_count failed (3,980 rows, min 4,000)');
  });

  it('falls back to the detail for outcomes stored before checks had values', () => {
    expect(checkFailureText({ name: 'unique(id)', severity: 'error', passed: false, detail: '2 values of (id) appear more than once' })).toBe('check unique(id) failed (2 values of (id) appear more than once)');
  });

  it("gives the run's error by cell name, never twice, and by step id only without a name", () => {
    const step = { stepId: '2efe9259-6c1e-4d0e-9a55-0f3b7f1c2d10', error: 'credit_clean: check row_count failed (3,980 rows, min 4,000)' };
    expect(failureText(step, 'credit_clean')).toBe('credit_clean: check row_count failed (3,980 rows, min 4,000)');
    expect(failureText({ ...step, error: 'the build was cancelled' }, 'credit_clean')).toBe('credit_clean: the build was cancelled');
    expect(failureText({ ...step, error: null }, undefined)).toBe('step 2efe9259-6c1e-4d0e-9a55-0f3b7f1c2d10 failed: unknown error');
  });
});
