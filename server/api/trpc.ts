import { initTRPC, TRPCError, type TRPC_ERROR_CODE_KEY } from '@trpc/server';
import superjson from 'superjson';
import { ZodError } from 'zod';
import type { Authorization, Policy } from '../services/policy';
import { authorize } from './authorize';
import { DATABASE_UNAVAILABLE_MESSAGE, isDatabaseUnavailable, ServiceError, type ServiceErrorKind } from '../services/errors';
import type { RequestCtx } from './context';
import { unstorableTextError } from './storable-text';

export type Meta = {
  policy?: Policy;
  /** Refused inside a tRPC batch (HTTP 400): procedures that check a password or spend a rate limit. */
  unbatched?: boolean;
};

const trpcCodeOf: Record<ServiceErrorKind, TRPC_ERROR_CODE_KEY> = {
  Unauthenticated: 'UNAUTHORIZED',
  Forbidden: 'FORBIDDEN',
  NotFound: 'NOT_FOUND',
  Conflict: 'CONFLICT',
  Invalid: 'BAD_REQUEST',
  PreconditionFailed: 'PRECONDITION_FAILED',
  TooManyRequests: 'TOO_MANY_REQUESTS',
  PayloadTooLarge: 'PAYLOAD_TOO_LARGE',
};

export function describeZodError(err: ZodError): string {
  return err.issues.map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message)).join('; ');
}

/**
 * The first message per input path, for a form to show beside its field. Messages already name the
 * field ("name is required"), so the form shows them once, there, and not again in a summary.
 */
function fieldErrorsOf(err: ZodError): Record<string, string> {
  const out: Record<string, string> = {};
  for (const i of err.issues) {
    const path = i.path.join('.');
    if (path && !(path in out)) out[path] = i.message;
  }
  return out;
}

const t = initTRPC
  .context<RequestCtx>()
  .meta<Meta>()
  .create({
    transformer: superjson,
    errorFormatter({ shape, error }) {
      const cause = error.cause;
      if (cause instanceof ZodError) {
        return {
          ...shape,
          message: describeZodError(cause),
          data: { ...shape.data, fields: cause.issues.map((i) => i.path.join('.')), fieldErrors: fieldErrorsOf(cause), stack: undefined },
        };
      }
      if (error.code === 'INTERNAL_SERVER_ERROR') {
        return { ...shape, message: 'Internal server error', data: { ...shape.data, stack: undefined } };
      }
      const field = cause instanceof ServiceError ? cause.field : undefined;
      const details = cause instanceof ServiceError ? cause.details : undefined;
      const fieldErrors: Record<string, string> | undefined = field ? { [field]: error.message } : undefined;
      return { ...shape, data: { ...shape.data, field, fieldErrors, ...(details ? { details } : {}), stack: undefined } };
    },
  });

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;

/**
 * Every procedure passes through here: no policy, no call. Service errors become their tRPC code;
 * anything else is logged and answered as a bare 500.
 */
export const procedure = t.procedure.use(async ({ meta, ctx, getRawInput, next, path }) => {
  if (!meta?.policy) {
    throw new TRPCError({ code: 'INTERNAL_SERVER_ERROR', message: `procedure ${path} declares no policy` });
  }
  let authz: Authorization;
  try {
    const input = await getRawInput();
    // Before authorisation, which reads ids from the input: text Postgres cannot store is a 400 naming the field.
    const unstorable = unstorableTextError(input);
    if (unstorable) throw unstorable;
    authz = await authorize(ctx, meta.policy, input);
  } catch (err) {
    throw toTRPCError(err);
  }
  const result = await next({ ctx: { ...ctx, authz } });
  if (!result.ok) {
    const cause = result.error.cause;
    if (cause instanceof ServiceError) throw toTRPCError(cause);
    // Input errors read as sentences naming the field, for HTTP clients and server-side callers alike.
    if (cause instanceof ZodError) throw new TRPCError({ code: 'BAD_REQUEST', message: describeZodError(cause), cause });
    if (isDatabaseUnavailable(cause)) throw new TRPCError({ code: 'SERVICE_UNAVAILABLE', message: DATABASE_UNAVAILABLE_MESSAGE, cause });
    if (result.error.code === 'INTERNAL_SERVER_ERROR') console.error(`tRPC ${path} failed`, result.error.cause ?? result.error);
  }
  return result;
});

function toTRPCError(err: unknown): TRPCError {
  if (err instanceof ServiceError) return new TRPCError({ code: trpcCodeOf[err.kind], message: err.message, cause: err });
  if (err instanceof TRPCError) return err;
  if (isDatabaseUnavailable(err)) return new TRPCError({ code: 'SERVICE_UNAVAILABLE', message: DATABASE_UNAVAILABLE_MESSAGE, cause: err });
  console.error('authorisation failed unexpectedly', err);
  return new TRPCError({ code: 'INTERNAL_SERVER_ERROR', message: 'Internal server error' });
}

export const policies = {
  public: { kind: 'public' },
  signedIn: { kind: 'signedIn' },
  viewer: { kind: 'member', role: 'viewer' },
  editor: { kind: 'member', role: 'editor' },
  deployer: { kind: 'member', role: 'deployer' },
  admin: { kind: 'member', role: 'admin' },
  instanceAdmin: { kind: 'instanceAdmin' },
} as const satisfies Record<string, Policy>;
