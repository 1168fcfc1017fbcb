import { scriptCellKind } from './script';

/** pandas under bubblewrap: inputs as DataFrames, the output DataFrame written (pipeline README, "python"). */
export const pythonCell = scriptCellKind('python', '#');
