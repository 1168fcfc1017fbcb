import { isIP } from 'node:net';
import path from 'node:path';
import { z } from 'zod';
import { parseWebhookAllowList } from './services/notifications/webhook-address';

const booleanFlag = z
  .enum(['1', '0', 'true', 'false', 'yes', 'no'])
  .transform((v) => v === '1' || v === 'true' || v === 'yes');

/** `10.0.0.1`, `::1`, `10.0.0.0/8`, `fd00::/8`: an address or a CIDR block. */
function isAddressOrCidr(entry: string): boolean {
  const [addr, prefix, ...rest] = entry.split('/');
  const family = isIP(addr ?? '');
  if (family === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}

const addressList = z
  .string()
  .transform((v) => v.split(',').map((e) => e.trim()).filter(Boolean))
  .refine((list) => list.every(isAddressOrCidr), { error: (iss) => `not an address or CIDR: ${(iss.input as string[]).filter((e) => !isAddressOrCidr(e)).join(', ')}` });

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
  /**
   * Instance admins (comma-separated emails; default STAGEBOOK_ADMIN_EMAIL, the first admin): they
   * change instance settings. Only a verified email counts.
   */
  STAGEBOOK_ADMIN_EMAILS: z
    .string()
    .transform((v) => v.split(',').map((e) => e.trim().toLowerCase()).filter(Boolean))
    .refine((list) => list.every((e) => z.email().safeParse(e).success), { error: (iss) => `not an email: ${(iss.input as string[]).filter((e) => !z.email().safeParse(e).success).join(', ')}` })
    .optional(),
  STAGEBOOK_PUBLIC_URL: z.url().optional(),
  /** Reverse proxies whose X-Forwarded-* headers are believed (comma-separated addresses or CIDRs); unset, none. */
  STAGEBOOK_TRUST_PROXY: addressList.default([]),
  /** Collaborative editing: the largest frame (one update) a client may send, and the largest a notebook may grow to. */
  STAGEBOOK_COLLAB_MAX_UPDATE_BYTES: z.coerce.number().int().min(1024).default(1024 * 1024),
  STAGEBOOK_COLLAB_MAX_DOCUMENT_BYTES: z.coerce.number().int().min(1024).default(32 * 1024 * 1024),
  /**
   * Live edits between web processes: `postgres` relays each stored batch to the other web
   * processes through LISTEN/NOTIFY (run it with more than one web process); `off` (default) for one.
   */
  STAGEBOOK_COLLAB_RELAY: z.enum(['off', 'postgres']).default('off'),
  /** Worker threads for predict requests over 1,000 records (server/scoring/worker-pool.ts); unset: cores - 1, at least 1; 0: none. */
  STAGEBOOK_SCORING_THREADS: z.coerce.number().int().min(0).max(64).optional(),
  /** On the first start of an empty instance, seed the "Demo" team (two deployed projects) for the first admin. */
  STAGEBOOK_DEMO: booleanFlag.default(true),
  /** Email notification channels: `smtp://user:pass@host:587` (STARTTLS when offered) or `smtps://host:465`. Unset, email channels are refused. */
  SMTP_URL: z.url({ protocol: /^smtps?$/, error: 'SMTP_URL must be an smtp:// or smtps:// URL' }).optional(),
  /** The From of notification emails, e.g. `Stagebook <stagebook@example.com>`. */
  SMTP_FROM: z.string().min(3).optional(),
  /**
   * Webhook destinations allowed although they are not public addresses (on-premise receivers):
   * comma-separated host names, addresses and CIDRs, e.g. `hooks.corp.example,10.20.0.0/16`.
   */
  STAGEBOOK_WEBHOOK_ALLOW: z
    .string()
    .optional()
    .superRefine((v, ctx) => {
      try {
        parseWebhookAllowList(v);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
      }
    }),
  /** Python cells: the managed venv's directory (default $STAGEBOOK_HOME/python-venv) and the interpreter it is made from. */
  STAGEBOOK_PYTHON_VENV: z.string().min(1).optional(),
  STAGEBOOK_PYTHON: z.string().min(1).optional(),
  /** Run Python cells without bubblewrap where it is unavailable (a single-user laptop only; shown on every Python cell). */
  STAGEBOOK_PYTHON_UNSANDBOXED: booleanFlag.default(false),
  /** A directory of wheels projects' Python requirements are installed from instead of the package index (offline machines, tests). */
  STAGEBOOK_PYTHON_FIND_LINKS: z.string().min(1).optional(),
  /** The OS search path, read to find the `temporal` binary. */
  PATH: z.string().optional(),
  /**
   * Prometheus metrics: `GET /metrics` on this port, a listener apart from PORT (which never serves
   * them). Unset, no metrics listener. `METRICS_HOST` defaults to loopback; set `0.0.0.0` where the
   * scraper reaches the process over the network (a pod's IP, a compose network).
   */
  METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  METRICS_HOST: z.string().min(1).default('127.0.0.1'),
  /**
   * OpenTelemetry traces over OTLP/HTTP (JSON) to `<endpoint>/v1/traces`, e.g. `http://otel-collector:4318`.
   * Unset, tracing is off and its modules are not loaded. OTEL_SERVICE_NAME names the service (default `stagebook`).
   */
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url({ protocol: /^https?$/, error: 'OTEL_EXPORTER_OTLP_ENDPOINT must be an http:// or https:// URL' }).optional(),
  OTEL_SERVICE_NAME: z.string().min(1).default('stagebook'),
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
