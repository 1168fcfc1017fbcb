/**
 * Builds Python cells' managed venv (tests/helpers/python.ts `pythonCellVenv`, where vitest.config.ts
 * points STAGEBOOK_PYTHON_VENV) ahead of `npm test`: .ci/run starts it beside `next build`, typecheck
 * and lint, so the first Python test file does not hold a test worker (and make the other wait on
 * its lock) for the minutes pip takes on a clean clone. Without it the tests build the venv themselves.
 */
import { pythonCellVenv } from '../helpers/python';

const t0 = performance.now();
const python = pythonCellVenv();
console.log(`${python} ready in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
