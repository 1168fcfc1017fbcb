import { describe, expect, it } from 'vitest';
import { unstorableTextError } from '@/server/api/storable-text';

describe('text the database cannot store, found in a request input', () => {
  it('passes input whose strings and keys are all storable, however nested', () => {
    expect(unstorableTextError({ endpoint: 'credit', records: [{ age: 30, home: 'rent', note: 'paired \ud83d\ude00 ok', tags: ['a', null, [true]] }] })).toBeNull();
    expect(unstorableTextError(new Map([['k', new Set(['x'])]]))).toBeNull();
  });

  it('names the field holding a NUL or an unpaired surrogate, in a value, a key, a Map or a Set', () => {
    expect(unstorableTextError({ records: [{ age: 1 }, { home: 'a\u0000b' }] })?.message).toBe('records.1.home: must not contain a NUL character (\\u0000), which cannot be stored');
    expect(unstorableTextError({ records: [{ ['bad\ud800']: 1 }] })?.message).toBe('records.0.bad\ud800: must not contain an unpaired UTF-16 surrogate, which cannot be stored');
    expect(unstorableTextError({ m: new Map([['k', 'x\udc00']]) })?.message).toBe('m.k: must not contain an unpaired UTF-16 surrogate, which cannot be stored');
    expect(unstorableTextError({ s: new Set(['ok', '\u0000']) })?.message).toBe('s.1: must not contain a NUL character (\\u0000), which cannot be stored');
    expect(unstorableTextError('\u0000')?.message).toBe('input: must not contain a NUL character (\\u0000), which cannot be stored');
  });
});
