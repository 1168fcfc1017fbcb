import { z } from 'zod';
import { columnTypes } from '../types';

/**
 * What a scoring client must send, and how to read a model's outputs. Stored with every model
 * version (and inside our ONNX files' metadata), derived from the file for imported models.
 */
export const FeatureInput = z.object({
  /** The record field. */
  name: z.string().min(1),
  /** The name as the user wrote it (a CSV header) when it differs: records may use either. */
  header: z.string().min(1).optional(),
  /** The ONNX graph input fed from it (usually the same string). */
  input: z.string().min(1),
  type: z.enum(columnTypes),
  tensor: z.enum(['float', 'double', 'int64', 'int32', 'string', 'bool']),
  /** 2: shape [N, 1] (one column per input, the usual layout); 1: shape [N]. */
  rank: z.union([z.literal(1), z.literal(2)]),
  /**
   * Set when several features share one packed `[N, k]` input: this feature is its column number
   * `column` (0-based). Imported files only (feature names given at import or in the file's metadata).
   */
  column: z.number().int().min(0).optional(),
  /** Categories with their own one-hot column, for categorical inputs of our models ("" = missing). */
  categories: z.array(z.string()).optional(),
  /** Categories seen in training but grouped into one "infrequent" column. */
  infrequentCategories: z.array(z.string()).optional(),
});
export type FeatureInput = z.infer<typeof FeatureInput>;

export const FeatureSchema = z.object({
  version: z.literal(1),
  /** The target column the model predicts, when known. */
  target: z.string().optional(),
  inputs: z.array(FeatureInput).min(1),
  outputs: z.object({ label: z.string(), probabilities: z.string() }),
  /** Class names of the probability columns 0 and 1. */
  classes: z.tuple([z.string(), z.string()]),
  /** The int64 label output's value for each class (same order); null when the label tensor holds class names. */
  labelValues: z.tuple([z.number().int(), z.number().int()]).nullable(),
  /** Which class is the positive one (probabilities.pos). */
  positiveIndex: z.union([z.literal(0), z.literal(1)]),
});
export type FeatureSchema = z.infer<typeof FeatureSchema>;

export const FEATURE_SCHEMA_METADATA_KEY = 'stagebook.feature_schema';

/**
 * Metadata key naming the columns of a packed `[N, k]` input in a file made elsewhere: a JSON array of
 * strings, or the names separated by commas (what `?features=a,b,c` gives at import).
 */
export const FEATURE_NAMES_METADATA_KEY = 'feature_names';
