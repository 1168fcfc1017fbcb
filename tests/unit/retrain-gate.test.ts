import { describe, expect, it } from 'vitest';
import { judgeGate } from '@/server/services/scenarios/retrain-gate';

type Gate = Parameters<typeof judgeGate>[0];
const gate = (g: Partial<Gate>): Gate => ({ metric: 'auc', minImprovement: 0, minRows: 0, ...g });

/** Binary log loss written out here, not taken from server/ml. */
const logLoss = (y: number[], p: number[]) => -y.reduce((s, yi, i) => s + (yi ? Math.log(p[i]!) : Math.log(1 - p[i]!)), 0) / y.length;

const y = Uint8Array.from([1, 0, 1, 0, 1, 0]);
const sharp = [0.9, 0.1, 0.8, 0.2, 0.9, 0.1];
const vague = [0.6, 0.4, 0.55, 0.45, 0.6, 0.4];

describe('the retrain gate at its edges', () => {
  it('log loss is lower-is-better by default: a sharper challenger passes, a vaguer one does not', () => {
    const better = judgeGate(gate({ metric: 'log_loss' }), 0.5, y, vague, sharp);
    expect(better.comparator).toBe('<=');
    expect(better.challengerValue).toBeCloseTo(logLoss([...y], sharp), 12);
    expect(better.championValue).toBeCloseTo(logLoss([...y], vague), 12);
    expect(better.passed).toBe(true);
    expect(judgeGate(gate({ metric: 'log_loss' }), 0.5, y, sharp, vague).passed).toBe(false);
  });

  it('minImprovement on a loss means the challenger must be lower by at least that much', () => {
    const champion = logLoss([...y], vague);
    const challenger = logLoss([...y], sharp);
    const margin = champion - challenger;
    expect(judgeGate(gate({ metric: 'log_loss', minImprovement: margin * 0.99 }), 0.5, y, vague, sharp).passed).toBe(true);
    expect(judgeGate(gate({ metric: 'log_loss', minImprovement: margin * 1.01 }), 0.5, y, vague, sharp).passed).toBe(false);
  });

  it('AUC is higher-is-better; a strict comparator refuses a tie that >= accepts', () => {
    expect(judgeGate(gate({ metric: 'auc' }), 0.5, y, vague, sharp)).toMatchObject({ comparator: '>=', championValue: 1, challengerValue: 1, passed: true });
    expect(judgeGate(gate({ metric: 'auc', comparator: '>' }), 0.5, y, vague, sharp).passed).toBe(false);
  });

  it('fewer evaluated rows than minRows never passes, however much better the challenger is', () => {
    const r = judgeGate(gate({ metric: 'log_loss', minRows: 7 }), 0.5, y, vague, sharp);
    expect(r).toMatchObject({ enoughRows: false, passed: false });
    expect(judgeGate(gate({ metric: 'log_loss', minRows: 6 }), 0.5, y, vague, sharp).passed).toBe(true);
  });

  it('a holdout with one class only cannot be compared: no pass, the metrics are NaN (not a misleading number)', () => {
    const ones = Uint8Array.from([1, 1, 1, 1]);
    for (const metric of ['auc', 'log_loss', 'accuracy', 'f1'] as const) {
      const r = judgeGate(gate({ metric }), 0.5, ones, [0.1, 0.1, 0.1, 0.1], [0.9, 0.9, 0.9, 0.9]);
      expect(r.bothClasses).toBe(false);
      expect(r.passed).toBe(false);
      expect(r.championValue).toBeNaN();
      expect(r.challengerValue).toBeNaN();
    }
  });

  it('a model answering NaN never wins, in either role, with any comparator (AUC alone would rank NaN and stay finite)', () => {
    const nan = [Number.NaN, 0.1, 0.8, 0.2, 0.9, 0.1];
    for (const metric of ['log_loss', 'auc'] as const) {
      for (const comparator of ['>=', '>', '<=', '<'] as const) {
        expect(judgeGate(gate({ metric, comparator }), 0.5, y, vague, nan).passed, `${metric} ${comparator} NaN challenger`).toBe(false);
      }
    }
    expect(judgeGate(gate({ metric: 'log_loss' }), 0.5, y, nan, sharp).passed).toBe(false);
    const r = judgeGate(gate({ metric: 'auc' }), 0.5, y, vague, nan);
    expect(r.challengerValue).toBeNaN();
    expect(r.championValue).toBe(1);
  });

  it('no rows at all (everything seen by the champion) does not pass even with minRows 0', () => {
    expect(judgeGate(gate({ metric: 'auc' }), 0.5, new Uint8Array(0), [], []).passed).toBe(false);
  });
});
