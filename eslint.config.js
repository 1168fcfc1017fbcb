import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/** Services never import the API layer or collab (the notebook document model is in server/domain). */
const servicesBoundary = [
  { group: ['@/server/api/*', '**/api/*'], message: 'services never import the API layer' },
  { group: ['@/server/collab/*', '**/collab/*'], message: 'services never import collab' },
];

/**
 * The tiers of server/services, lowest first (server/README.md, "Tiers"): a folder imports only its
 * own and lower tiers, with no exceptions. `scoring/changes` (the change bus caches listen to) belongs to core.
 */
const serviceTiers = [
  { name: 'core', folders: ['audit', 'auth', 'teams', 'projects', 'api-keys', 'system'], extraFiles: ['server/services/*.ts', 'server/services/scoring/changes.ts'] },
  { name: 'data', folders: ['datasets', 'notebooks', 'pipeline', 'cells', 'search'] },
  { name: 'models', folders: ['models', 'endpoints', 'scoring', 'drift'] },
  { name: 'release', folders: ['bundles', 'deployments'] },
  // activation: deploy and rollback reconcile every tier's production resources (endpoints, scenarios).
  { name: 'runs', folders: ['builds', 'runs', 'scenarios', 'notifications', 'activation', 'demo'] },
];
const serviceTierRules = serviceTiers.slice(0, -1).map((tier, i) => {
  const higher = serviceTiers.slice(i + 1).flatMap((t) => t.folders);
  return {
    files: [...(tier.extraFiles ?? []), ...tier.folders.map((f) => `server/services/${f}/**/*.ts`)],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [...higher.flatMap((f) => [`**/services/${f}/*`, `./${f}/*`, `../${f}/*`]), '!**/scoring/changes'],
              message: `the ${tier.name} tier of services imports no higher tier (server/README.md, "Tiers")`,
            },
            ...servicesBoundary,
          ],
        },
      ],
    },
  };
});

export default tseslint.config(
  { ignores: ['node_modules/', '.next/', '.stagebook/', 'tests/.tmp/', 'next-env.d.ts', 'db/migrations/', 'bench/.out/', '.ci/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts', '**/*.tsx'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
      globals: { ...globals.node, ...globals.browser },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  {
    // Workflows are replayed deterministically in Temporal's sandbox: no Node built-ins, no I/O.
    files: ['workflows/workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:*', 'fs', 'path', 'crypto', 'http', 'child_process'], message: 'workflows are deterministic: do I/O in activities' },
            { group: ['@/db/*', '@/server/*', '../activities/*', '@temporalio/client', '@temporalio/worker'], message: 'workflows import only @temporalio/workflow and workflows/shared' },
          ],
        },
      ],
    },
  },
  {
    // Routers and the web app never touch the database directly.
    files: ['server/api/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        { patterns: [{ group: ['@/db/*', '**/db/client', '**/db/schema*'], message: 'go through server/services', allowTypeImports: true }] },
      ],
    },
  },
  {
    // The app imports at runtime only the pure models of server/domain; anything else of the server,
    // db or workflows as types only (relative paths included, so `../../server/...` is no way round).
    files: ['app/**/*.ts', 'app/**/*.tsx'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['@/db/*', '**/db/*'], message: 'the app talks to the server through tRPC only' },
            {
              group: ['@/server/*', '!@/server/domain', '**/server/*', '!**/server/domain', '@/workflows/*', '**/workflows/*'],
              message: 'the app imports only server/domain at runtime, and types from the rest of the server',
              allowTypeImports: true,
            },
          ],
        },
      ],
    },
  },
  // Import boundaries (server/README.md "Tiers"). Cycles are checked by `npm run lint:cycles` (madge).
  {
    files: ['db/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['@/server/*', '@/app/*', '@/workflows/*', '@/tests/*', '../server/*', '../../server/*'], message: 'db/ imports nothing of the project' }] }],
    },
  },
  {
    // Pure: no database (its types only), no services, no I/O layers (shared models come from server/domain).
    files: ['server/pipeline/**/*.ts', 'server/ml/**/*.ts', 'server/domain/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['@/db/*', '**/db/*'], message: 'server/pipeline, server/ml and server/domain stay pure: db types only', allowTypeImports: true },
            { group: ['@/server/services/*', '@/server/api/*', '@/server/collab/*', '@/server/scoring/*', '@/workflows/*', '**/services/*', '**/api/*', '**/collab/*', '**/scoring/*', '**/workflows/*'], message: 'server/pipeline, server/ml and server/domain stay pure' },
          ],
        },
      ],
    },
  },
  {
    files: ['server/services/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: servicesBoundary,
        },
      ],
    },
  },
  ...serviceTierRules,
  {
    // env.ts is the only reader of process.env.
    files: ['server/**/*.ts', 'workflows/**/*.ts', 'db/**/*.ts'],
    ignores: ['server/env.ts'],
    rules: { 'no-restricted-properties': ['error', { object: 'process', property: 'env', message: 'read configuration through server/env.ts' }] },
  },
  { files: ['**/*.js', '**/*.mjs'], languageOptions: { globals: globals.node } },
);
