/**
 * The closed set of errors services throw for a user's mistake or a refused action. The edge maps
 * each kind once (tRPC code, HTTP status); anything else is a bug and becomes a generic 500.
 */
export const serviceErrorKinds = [
  'Unauthenticated',
  'Forbidden',
  'NotFound',
  'Conflict',
  'Invalid',
  'PreconditionFailed',
  'TooManyRequests',
  'PayloadTooLarge',
] as const;
export type ServiceErrorKind = (typeof serviceErrorKinds)[number];

export class ServiceError extends Error {
  constructor(
    readonly kind: ServiceErrorKind,
    message: string,
    /** The input field the error is about, when there is one ("email", "records[3].age"). */
    readonly field?: string,
    /** Structured detail for programs (e.g. the compiler's diagnostics), sent with the error. */
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = `${kind}Error`;
  }
}

export const unauthenticated = (msg = 'Sign in or send an API key') => new ServiceError('Unauthenticated', msg);
export const forbidden = (msg: string) => new ServiceError('Forbidden', msg);
export const notFound = (what: string) => new ServiceError('NotFound', `${what} was not found`);
export const conflict = (msg: string, field?: string) => new ServiceError('Conflict', msg, field);
export const invalid = (msg: string, field?: string) => new ServiceError('Invalid', msg, field);
export const preconditionFailed = (msg: string, details?: Record<string, unknown>) => new ServiceError('PreconditionFailed', msg, undefined, details);
export const tooManyRequests = (msg: string) => new ServiceError('TooManyRequests', msg);

/** How long a client should wait before retrying when the database is unavailable (Retry-After). */
export const DATABASE_RETRY_AFTER_SECONDS = 5;
export const DATABASE_UNAVAILABLE_MESSAGE = 'the database is unavailable; retry shortly';

const UNAVAILABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EHOSTUNREACH', 'EPIPE', '57P01', '57P02', '57P03', '3D000', '53300']);
const UNAVAILABLE_MESSAGES = /connection terminated|timeout exceeded when trying to connect|connection error|cannot use a pool after calling end|client was closed/i;

/**
 * The database cannot be reached (down, dropped, restarting, out of connections), as opposed to a
 * query that failed: the edge answers 503 with Retry-After instead of a 500. Looks through drizzle's
 * wrapping (`cause`) and node's AggregateError (one error per address tried).
 */
export function isDatabaseUnavailable(err: unknown, depth = 0): boolean {
  if (depth > 5 || typeof err !== 'object' || err === null) return false;
  const e = err as { code?: unknown; message?: unknown; cause?: unknown; errors?: unknown };
  if (typeof e.code === 'string' && (UNAVAILABLE_CODES.has(e.code) || /^08/.test(e.code))) return true;
  if (typeof e.message === 'string' && UNAVAILABLE_MESSAGES.test(e.message) && !(err instanceof ServiceError)) return true;
  if (Array.isArray(e.errors) && e.errors.some((x) => isDatabaseUnavailable(x, depth + 1))) return true;
  return isDatabaseUnavailable(e.cause, depth + 1);
}

export { assertNever } from '@/server/domain/assert-never';

export const httpStatusOf: Record<ServiceErrorKind, number> = {
  Unauthenticated: 401,
  Forbidden: 403,
  NotFound: 404,
  Conflict: 409,
  Invalid: 400,
  PreconditionFailed: 412,
  TooManyRequests: 429,
  PayloadTooLarge: 413,
};
