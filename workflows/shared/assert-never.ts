/**
 * The default branch of an exhaustive switch: a new kind fails to compile until every switch handles
 * it. Workflow code may import only workflows/shared, hence this twin of server/domain/assert-never.ts.
 */
export function assertNever(x: never, what = 'value'): never {
  throw new Error(`Unhandled ${what}: ${JSON.stringify(x)}`);
}
