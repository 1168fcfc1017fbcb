export type CsvProblem = { line: number; column?: number; columnName?: string; message: string };

/** A user's file that cannot be loaded: the line (and column) of the first problem. */
export class CsvRejected extends Error {
  constructor(readonly problem: CsvProblem) {
    const where = `line ${problem.line}${problem.column ? `, column ${problem.column}${problem.columnName ? ` (${problem.columnName})` : ''}` : ''}`;
    super(`${where}: ${problem.message}`);
    this.name = 'CsvRejected';
  }
}

export class CsvTooLarge extends Error {}

export function formatBytes(n: number): string {
  return n >= 1024 * 1024 ? `${Math.round(n / 1024 / 1024)} MB` : `${Math.round(n / 1024)} KB`;
}
