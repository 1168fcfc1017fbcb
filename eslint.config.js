import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

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
    files: ['app/**/*.ts', 'app/**/*.tsx'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['@/db/*', '**/db/*'], message: 'the app talks to the server through tRPC only' },
            {
              group: [
                '@/server/*',
                '!@/server/services',
                '@/server/services/*',
                '!@/server/services/datasets',
                '@/server/services/datasets/*',
                '!@/server/services/datasets/column-types',
                '!@/server/collab',
                '@/server/collab/*',
                '!@/server/collab/notebook-doc',
              ],
              message: 'the app imports only types from the server (and the audit action list, the pure column-type rules and the pure notebook document model)',
              allowTypeImports: true,
            },
          ],
        },
      ],
    },
  },
  {
    // env.ts is the only reader of process.env.
    files: ['server/**/*.ts', 'workflows/**/*.ts', 'db/**/*.ts'],
    ignores: ['server/env.ts'],
    rules: { 'no-restricted-properties': ['error', { object: 'process', property: 'env', message: 'read configuration through server/env.ts' }] },
  },
  { files: ['**/*.js', '**/*.mjs'], languageOptions: { globals: globals.node } },
);
