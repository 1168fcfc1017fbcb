/**
 * A user's mistake in training data or a train spec (unknown column, a target with one class, a
 * non-numeric value in a numeric column). Services map it to an `Invalid` error; anything else
 * thrown from server/ml is a bug.
 */
export class MlInputError extends Error {
  constructor(
    message: string,
    /** The column or spec field the error is about. */
    readonly field?: string,
  ) {
    super(message);
    this.name = 'MlInputError';
  }
}
