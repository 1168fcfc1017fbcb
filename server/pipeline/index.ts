export { compileNotebook, compileNotebookSync } from './compile';
export { parseCheckCell, CheckSpec, CheckCellSpec } from './check-cell';
export { analyzeSelect, isForbiddenFunction, loadSqlParser, sqlParserReady } from './sql';
export { DATASET_NAME, datasetNameProblem } from './text';
export * from './types';
export { planBuild, checksOfStep, type BuildPlan, type BuildPlanStep, type BuildTarget } from './build-plan';
