/** The 1-based data line a COPY error names ("COPY t, line 3, column age: ..."), if any. */
export function copyErrorLine(err: unknown): { line: number; column?: string; message: string } | null {
  const e = err as { where?: string; message?: string; code?: string };
  if (typeof e.where !== 'string' || typeof e.code !== 'string') return null;
  const m = /COPY [^,]+, line (\d+)(?:, column ([^:]+))?/.exec(e.where);
  if (!m) return null;
  return { line: Number(m[1]), ...(m[2] ? { column: m[2] } : {}), message: e.message ?? 'the database refused a value' };
}
