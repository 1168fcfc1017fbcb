import { scriptCellKind } from './script';

/** TypeScript run in QuickJS over batches of its inputs' rows (pipeline README, "ts"). */
export const tsCell = scriptCellKind('ts', '//');
