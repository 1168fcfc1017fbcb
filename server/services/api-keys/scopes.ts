import { z } from 'zod';

/**
 * `read` (project metadata, runs, audit), `run` (start runs), `deploy` (promote, export and import
 * bundles, deploy and roll back), `score:<endpoint>`, `ingest:<dataset>`.
 * Resource names follow the same rule as dataset and endpoint names.
 */
export const ApiScope = z
  .string()
  .regex(/^(read|run|deploy|score:[a-z][a-z0-9_-]{0,62}|ingest:[a-z][a-z0-9_-]{0,62})$/, {
    error: 'scope must be read, run, deploy, score:<endpoint> or ingest:<dataset> (lowercase names)',
  });
export type ApiScope = z.infer<typeof ApiScope>;

export function hasScope(granted: readonly string[], needed: string): boolean {
  return granted.includes(needed);
}
