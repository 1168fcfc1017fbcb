/** A value of one cell, as rows arrive from Postgres or a parsed CSV (null = missing). */
export type CellValue = number | string | boolean | null;

export const columnTypes = ['numeric', 'integer', 'boolean', 'categorical', 'text'] as const;
export type ColumnType = (typeof columnTypes)[number];

export type ColumnSchema = {
  name: string;
  type: ColumnType;
  /** The name as the user wrote it (a CSV header), when it differs: scoring clients may send either. */
  header?: string;
  /** A boolean column's [true, false] words as written ("yes", "no"): a boolean target's class names. */
  booleanWords?: readonly [string, string];
};

/**
 * In-memory columnar training data: one array per column, all the same length. The build activity
 * streams rows from Postgres and hands them over in this shape.
 */
export type Table = {
  columns: Record<string, readonly CellValue[]>;
  schema: readonly ColumnSchema[];
};

export type Target = {
  name: string;
  positiveClass: string;
  /** The other class as seen in training ("not <positive>" when the target has more than two values). */
  negativeClass: string;
};

/** Progress of a training run: one call per boosting iteration or optimiser step. */
export type TrainingProgress = {
  iteration: number;
  /** Training loss (mean log loss; for logistic regression the regularised objective per row). */
  loss: number;
  /** Loss on the early-stopping validation part, when there is one. */
  validationLoss?: number;
  maxIterations: number;
};

export type TrainingControl = {
  onProgress?: (p: TrainingProgress) => void;
  /** Cancels training: the train call rejects with the signal's reason. */
  signal?: AbortSignal;
};
