import { CsvSyntaxError } from '@/server/services/datasets/csv-scanner';

/**
 * The string-level CSV record reader uploads used before the byte scanner (csv-scanner.ts), kept as
 * the reference the scanner is checked against (records, error messages, error lines): it reads what
 * csv-parse read with `{ bom: true, relax_column_count: true }`: a UTF-8 BOM is dropped, the record
 * delimiter is the first unquoted `\r\n`, `\n` or `\r` (other line ends are field text), a blank line
 * is the record `['']`, a last line with nothing on it is no record.
 */
const COMMA = 44;
const QUOTE = 34;
const CR = 13;
const LF = 10;

const newlines = (s: string) => {
  let n = 0;
  for (let i = s.indexOf('\n'); i !== -1; i = s.indexOf('\n', i + 1)) n++;
  return n;
};

export class CsvRecordParser {
  /** The record delimiter, once the first unquoted line end has shown it. */
  private delimiter: '' | '\n' | '\r\n' | '\r' = '';
  private record: string[] = [];
  /** The current field's text from earlier chunks (or its quoted part). */
  private partial = '';
  private quoting = false;
  private wasQuoting = false;
  private quoteLine = 0;
  /** Text held back for lookahead (a quote or a CR at a chunk's end). */
  private carry = '';
  private started = false;
  /** The file line being read (1-based): record delimiters plus newlines inside fields. */
  private line = 1;

  /** Parses a chunk; returns the records it completed. Throws CsvSyntaxError. */
  push(chunk: string, out: string[][]): void {
    let s = this.carry ? this.carry + chunk : chunk;
    this.carry = '';
    if (!this.started) {
      if (s.length === 0) return;
      this.started = true;
      if (s.charCodeAt(0) === 0xfeff) s = s.slice(1);
    }
    this.run(s, false, out);
  }

  /** The input is over: the last record, or the error of an unclosed quote. */
  end(out: string[][]): void {
    const s = this.carry;
    this.carry = '';
    this.run(s, true, out);
    if (this.quoting) throw new CsvSyntaxError(this.quoteLine, 'Quote Not Closed: the parsing is finished with an opening quote');
    if (this.wasQuoting || this.record.length !== 0 || this.partial.length !== 0) {
      this.record.push(this.partial);
      out.push(this.record);
    }
    this.record = [];
    this.partial = '';
    this.wasQuoting = false;
  }

  /** The length of the record delimiter at `i`, 0 if none, -1 if the chunk ends too soon to tell. */
  private delimiterAt(s: string, i: number, final: boolean): number {
    const c = s.charCodeAt(i);
    if (c !== CR && c !== LF) return 0;
    const d = this.delimiter;
    if (d === '\n') return c === LF ? 1 : 0;
    if (d === '\r') return c === CR ? 1 : 0;
    if (d === '\r\n' || d === '') {
      if (c === LF) {
        if (d === '') this.delimiter = '\n';
        return d === '' ? 1 : 0;
      }
      if (i + 1 >= s.length && !final) return -1;
      if (s.charCodeAt(i + 1) === LF) {
        this.delimiter = '\r\n';
        return 2;
      }
      if (d === '') {
        this.delimiter = '\r';
        return 1;
      }
      return 0;
    }
    return 0;
  }

  private run(s: string, final: boolean, out: string[][]): void {
    const n = s.length;
    let i = 0;
    // Start of the unquoted text of the current field within `s`.
    let fs = 0;
    while (i < n) {
      if (this.quoting) {
        const j = s.indexOf('"', i);
        if (j === -1) {
          const rest = s.slice(i);
          this.line += newlines(rest);
          this.partial += rest;
          return;
        }
        const text = s.slice(i, j);
        this.line += newlines(text);
        this.partial += text;
        if (j + 1 >= n && !final) {
          this.carry = '"';
          return;
        }
        const next = s.charCodeAt(j + 1);
        if (next === QUOTE) {
          this.partial += '"';
          i = j + 2;
          continue;
        }
        if (j + 1 < n && next !== COMMA) {
          const d = this.delimiterAt(s, j + 1, final);
          if (d === -1) {
            this.carry = s.slice(j);
            return;
          }
          if (d === 0) {
            throw new CsvSyntaxError(this.line, `Invalid Closing Quote: got "${s[j + 1]}" at line ${this.line} instead of delimiter, record delimiter, trimable character (if activated) or comment`);
          }
        }
        this.quoting = false;
        this.wasQuoting = true;
        i = j + 1;
        fs = i;
        continue;
      }
      const c = s.charCodeAt(i);
      if (c === COMMA) {
        this.record.push(fs === i ? this.partial : this.partial + s.slice(fs, i));
        this.partial = '';
        this.wasQuoting = false;
        i++;
        fs = i;
        continue;
      }
      if (c === QUOTE) {
        if (this.partial.length !== 0 || fs !== i || this.wasQuoting) {
          const value = this.partial + s.slice(fs, i);
          throw new CsvSyntaxError(this.line, `Invalid Opening Quote: a quote is found on field ${this.record.length} at line ${this.line}, value is ${JSON.stringify(value)}`);
        }
        this.quoting = true;
        this.quoteLine = this.line;
        i++;
        fs = i;
        continue;
      }
      if (c === CR || c === LF) {
        const d = this.delimiterAt(s, i, final);
        if (d === -1) {
          this.partial += s.slice(fs, i);
          this.carry = s.slice(i);
          return;
        }
        if (d > 0) {
          this.record.push(fs === i ? this.partial : this.partial + s.slice(fs, i));
          out.push(this.record);
          this.record = [];
          this.partial = '';
          this.wasQuoting = false;
          this.line++;
          i += d;
          fs = i;
          continue;
        }
      }
      i++;
    }
    if (!this.quoting && fs < n) this.partial += s.slice(fs, n);
  }
}
