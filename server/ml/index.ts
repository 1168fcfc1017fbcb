/** The ML library's public surface: services and activities import from here. */
export { MlInputError } from './errors';
export type { Evaluation, FeatureImportance } from './evaluate';
export type { FeaturePlan } from './features';
export { type Model, predictProba } from './model';
export { describeOnnxModel } from './onnx/describe';
export { type OnnxExport, exportOnnx } from './onnx/export';
export { FeatureInput, FeatureSchema } from './onnx/feature-schema';
export { TrainSpec, type TrainSpecInput, type Algorithm } from './spec';
export { inferSchema } from './table';
export { type TrainResult, trainModel } from './train';
export type { CellValue, ColumnSchema, ColumnType, Table, TrainingControl, TrainingProgress } from './types';
