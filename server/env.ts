import path from 'node:path';
import { z } from 'zod';

const booleanFlag = z
  .enum(['1', '0', 'true', 'false', 'yes', 'no'])
  .transform((v) => v === '1' || v === 'true' || v === 'yes');

export const roles = ['all', 'web', 'api', 'worker'] as const;
export type ServerRole = (typeof roles)[number];

export const EnvSchema = z.object({
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/, error: 'DATABASE_URL must be a postgres:// URL' }).optional(),
  TEMPORAL_ADDRESS: z.string().regex(/^[^\s:]+:\d+$/, 'TEMPORAL_ADDRESS must be host:port').optional(),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_CLI_PATH: z.string().min(1).optional(),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('stagebook'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().min(1).default('0.0.0.0'),
  STAGEBOOK_HOME: z.string().min(1).default('.stagebook'),
  STAGEBOOK_ROLE: z.enum(roles).default('all'),
  STAGEBOOK_SECURE_COOKIES: booleanFlag.default(false),
  STAGEBOOK_ADMIN_EMAIL: z.email().default('admin@stagebook.local'),
  STAGEBOOK_ADMIN_PASSWORD: z.string().min(10).optional(),
  STAGEBOOK_PUBLIC_URL: z.url().optional(),
  /** Collaborative editing: the largest frame (one update) a client may send, and the largest a notebook may grow to. */
  STAGEBOOK_COLLAB_MAX_UPDATE_BYTES: z.coerce.number().int().min(1024).default(1024 * 1024),
  STAGEBOOK_COLLAB_MAX_DOCUMENT_BYTES: z.coerce.number().int().min(1024).default(32 * 1024 * 1024),
  /** On the first start of an empty instance, seed the "Demo" team (two deployed projects) for the first admin. */
  STAGEBOOK_DEMO: booleanFlag.default(true),
  /** Email notification channels: `smtp://user:pass@host:587` (STARTTLS when offered) or `smtps://host:465`. Unset, email channels are refused. */
  SMTP_URL: z.url({ protocol: /^smtps?$/, error: 'SMTP_URL must be an smtp:// or smtps:// URL' }).optional(),
  /** The From of notification emails, e.g. `Stagebook <stagebook@example.com>`. */
  SMTP_FROM: z.string().min(3).optional(),
  /** The OS search path, read to find the `temporal` binary. */
  PATH: z.string().optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});
export type Env = z.infer<typeof EnvSchema> & { homeDir: string };

/** The only reader of process.env. Fails fast, naming every bad variable. */
export function loadEnv(source: Record<string, string | undefined> = process.env, overrides: Record<string, string> = {}): Env {
  const cleaned = Object.fromEntries(Object.entries({ ...source, ...overrides }).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = EnvSchema.safeParse(cleaned);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new Error(`Invalid environment:\n${lines.join('\n')}`);
  }
  return { ...parsed.data, homeDir: path.resolve(parsed.data.STAGEBOOK_HOME) };
}

/** The environment for child processes Stagebook starts itself (next build). */
export function childProcessEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...process.env, NEXT_TELEMETRY_DISABLED: '1', ...extra };
}
