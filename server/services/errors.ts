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

export function assertNever(x: never, what = 'value'): never {
  throw new Error(`Unhandled ${what}: ${JSON.stringify(x)}`);
}

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
