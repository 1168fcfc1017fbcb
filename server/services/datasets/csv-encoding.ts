import { isUtf8 } from 'node:buffer';

/**
 * What a CSV upload may be encoded in. UTF-8 (the default) is checked, not trusted: decoding it
 * leniently would store U+FFFD in place of every byte it could not read, silently changing the data,
 * so an invalid byte refuses the file, naming its line. Other encodings are converted to UTF-8
 * (WHATWG TextDecoder; `latin1` is read as windows-1252, as browsers do).
 */
export const CSV_ENCODINGS = ['utf-8', 'latin1', 'windows-1252', 'utf-16le'] as const;
export type CsvEncoding = (typeof CSV_ENCODINGS)[number];

/** A byte the encoding cannot read; csv-load turns it into CsvRejected (line and message). */
export class InvalidCsvEncoding extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(message);
    this.name = 'InvalidCsvEncoding';
  }
}

export type ChunkDecoder = { next: (chunk: Buffer) => Buffer; end: () => Buffer };

export function csvChunkDecoder(encoding: CsvEncoding = 'utf-8'): ChunkDecoder {
  if (encoding === 'utf-8') return utf8Checker();
  const decoder = new TextDecoder(encoding);
  return {
    next: (chunk) => Buffer.from(decoder.decode(chunk, { stream: true }), 'utf8'),
    end: () => Buffer.from(decoder.decode(), 'utf8'),
  };
}

function utf8Checker(): ChunkDecoder {
  let line = 1;
  let held: Buffer = Buffer.alloc(0);
  const refuse = (data: Buffer, at: number): never => {
    const lineStart = data.lastIndexOf(0x0a, at - 1) + 1;
    throw new InvalidCsvEncoding(
      line + countNewlines(data, at),
      `byte 0x${data[at]!.toString(16).toUpperCase().padStart(2, '0')} at byte ${at - lineStart + 1} of the line is not valid UTF-8: save the file as UTF-8, or give its encoding (encoding=latin1, windows-1252 or utf-16le)`,
    );
  };
  return {
    next(chunk) {
      const data = held.length ? Buffer.concat([held, chunk]) : chunk;
      // A character split across chunks waits for the rest of it.
      const cut = completeLength(data);
      const complete = data.subarray(0, cut);
      if (!isUtf8(complete)) refuse(complete, firstInvalid(complete));
      line += countNewlines(complete, complete.length);
      held = Buffer.from(data.subarray(cut));
      return complete;
    },
    end() {
      if (held.length) refuse(held, 0);
      return Buffer.alloc(0);
    },
  };
}

function sequenceLength(lead: number): number {
  if (lead < 0x80) return 1;
  if (lead >= 0xc2 && lead <= 0xdf) return 2;
  if (lead >= 0xe0 && lead <= 0xef) return 3;
  if (lead >= 0xf0 && lead <= 0xf4) return 4;
  return 0;
}

/** Where a sequence cut short by the end of `data` starts (data.length when none is). */
function completeLength(data: Buffer): number {
  for (let back = 1; back <= 4 && back <= data.length; back++) {
    const b = data[data.length - back]!;
    if ((b & 0xc0) === 0x80) continue;
    const len = sequenceLength(b);
    return len > back ? data.length - back : data.length;
  }
  return data.length;
}

/** The offset of the first byte that does not start a valid UTF-8 sequence (RFC 3629). */
function firstInvalid(data: Buffer): number {
  for (let i = 0; i < data.length; ) {
    const b = data[i]!;
    const len = sequenceLength(b);
    if (len === 0 || i + len > data.length) return i;
    if (len > 1) {
      const b1 = data[i + 1]!;
      const lo = b === 0xe0 ? 0xa0 : b === 0xf0 ? 0x90 : 0x80;
      const hi = b === 0xed ? 0x9f : b === 0xf4 ? 0x8f : 0xbf;
      if (b1 < lo || b1 > hi) return i;
      for (let k = 2; k < len; k++) if ((data[i + k]! & 0xc0) !== 0x80) return i;
    }
    i += len;
  }
  return data.length;
}

function countNewlines(data: Buffer, end: number): number {
  let n = 0;
  for (let i = data.indexOf(0x0a); i !== -1 && i < end; i = data.indexOf(0x0a, i + 1)) n++;
  return n;
}
