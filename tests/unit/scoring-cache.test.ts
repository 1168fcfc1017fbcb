import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseScoringChange } from '@/server/services/scoring/changes';
import { TtlLru } from '@/server/services/ttl-lru';

describe('the scoring caches’ LRU with a time to live', () => {
  afterEach(() => vi.useRealTimers());

  it('forgets an entry after its time to live, and a short-lived one sooner', () => {
    vi.useFakeTimers();
    const lru = new TtlLru<string, number>(10, 1000);
    lru.set('a', 1);
    lru.set('b', 2, 100);
    vi.advanceTimersByTime(150);
    expect(lru.get('a')).toBe(1);
    expect(lru.get('b')).toBeUndefined();
    vi.advanceTimersByTime(900);
    expect(lru.get('a')).toBeUndefined();
  });

  it('evicts the least recently used entry when full', () => {
    const lru = new TtlLru<string, number>(2, 60_000);
    lru.set('a', 1);
    lru.set('b', 2);
    expect(lru.get('a')).toBe(1);
    lru.set('c', 3);
    expect([lru.get('a'), lru.get('b'), lru.get('c')]).toEqual([1, undefined, 3]);
  });

  it('keeps evicting by last use when the same entry is read again and again, or deleted and set anew', () => {
    const lru = new TtlLru<string, number>(3, 60_000);
    lru.set('a', 1);
    lru.set('b', 2);
    lru.set('c', 3);
    // c was used last; reading it repeatedly, then a, leaves b the least recently used.
    for (let i = 0; i < 3; i++) expect(lru.get('c')).toBe(3);
    expect(lru.get('a')).toBe(1);
    expect(lru.get('a')).toBe(1);
    lru.set('d', 4);
    expect(lru.get('b')).toBeUndefined();
    // Order now c, a, d (d newest). Deleting d and setting a again makes c the oldest.
    lru.delete('d');
    expect(lru.get('a')).toBe(1);
    lru.set('e', 5);
    lru.set('f', 6);
    expect([lru.get('c'), lru.get('a'), lru.get('e'), lru.get('f')]).toEqual([undefined, 1, 5, 6]);
  });

  it('deletes the entries a predicate picks', () => {
    const lru = new TtlLru<string, { model?: string }>(10, 60_000);
    lru.set('x', { model: 'm1' });
    lru.set('y', { model: 'm2' });
    lru.set('z', {});
    lru.deleteWhere((v) => v.model === undefined || v.model === 'm1');
    expect([lru.get('x'), lru.get('y'), lru.get('z')]).toEqual([undefined, { model: 'm2' }, undefined]);
  });
});

describe('scoring change notifications', () => {
  it('reads the four kinds of change and nothing else', () => {
    expect(parseScoringChange('{"kind":"apiKey","keyHash":"ab"}')).toEqual({ kind: 'apiKey', keyHash: 'ab' });
    expect(parseScoringChange('{"kind":"endpoint","name":"churn"}')).toEqual({ kind: 'endpoint', name: 'churn' });
    expect(parseScoringChange('{"kind":"model","modelId":"m"}')).toEqual({ kind: 'model', modelId: 'm' });
    expect(parseScoringChange('{"kind":"session","tokenHash":"cd"}')).toEqual({ kind: 'session', tokenHash: 'cd' });
    expect(parseScoringChange('{"kind":"endpoint"}')).toBeNull();
    expect(parseScoringChange('not json')).toBeNull();
    expect(parseScoringChange(undefined)).toBeNull();
  });
});
