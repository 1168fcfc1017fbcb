export { compileNotebook, compileNotebookSync, type CompileOptions } from './compile';
export { parseCheckCell, CheckSpec, CheckCellSpec } from './check-cell';
export { parseTrainCell, parseScoreCell, TrainCellSpec, ScoreCellSpec, MODEL_NAME } from './model-cells';
export { analyzeSelect, isForbiddenFunction, loadSqlParser, sqlParserReady } from './sql';
export { DATASET_NAME, datasetNameProblem } from './text';
export * from './types';
export { planBuild, checksOfStep, type BuildPlan, type BuildPlanStep, type BuildTarget } from './build-plan';
export { parseScenarioCell, ScenarioCellSpec, type ScenarioSpec, type ScenarioReporter, type ScenarioStep, type ScenarioTrigger } from './scenario-cell';
