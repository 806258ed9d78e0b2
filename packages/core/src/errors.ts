/**
 * Errors thrown by every Contrastive package.
 *
 * @packageDocumentation
 */

const MARKER = Symbol.for('@contrastive/core.ContrastiveError');

/**
 * Stable machine-readable error codes carried by {@link ContrastiveError}.
 *
 * - `INVALID_ARGUMENT`: a hyper-parameter or option is out of range or of the wrong type.
 * - `SHAPE_MISMATCH`: a tensor has the wrong rank or size.
 * - `DTYPE_MISMATCH`: a tensor has the wrong dtype (e.g. float labels).
 * - `LABEL_COUNT`: the number of labels does not match the number of embeddings.
 * - `NON_FINITE`: a tensor holds NaN or Infinity where finite values are required.
 * - `DISPOSED`: a tensor was disposed before use.
 * - `BACKEND`: no requested TensorFlow.js backend could be initialised.
 * - `CHECKPOINT`: a checkpoint is missing, truncated or from another format version.
 * - `DATA`: a data file is malformed.
 * - `STATE`: an object is used after `dispose()` or in the wrong order.
 *
 * @category Errors
 */
export type ContrastiveErrorCode =
  | 'INVALID_ARGUMENT'
  | 'SHAPE_MISMATCH'
  | 'DTYPE_MISMATCH'
  | 'LABEL_COUNT'
  | 'NON_FINITE'
  | 'DISPOSED'
  | 'BACKEND'
  | 'CHECKPOINT'
  | 'DATA'
  | 'STATE';

/**
 * The one error class of the toolkit. Its message names the function, the argument, the expected
 * and the received value, e.g. `Argument 'labels' passed to 'ntXentLoss' must have 8 entries (one per
 * embedding), got 6`.
 *
 * Use {@link isContrastiveError} rather than `instanceof`: the check survives two copies of
 * `@contrastive/core` in one install.
 *
 * @example
 * ```ts
 * try {
 *   ntXentLoss({ temperature: -1 });
 * } catch (error) {
 *   if (isContrastiveError(error)) console.log(error.code); // 'INVALID_ARGUMENT'
 * }
 * ```
 * @category Errors
 */
export class ContrastiveError extends Error {
  /** Stable machine-readable code. */
  readonly code: ContrastiveErrorCode;
  /** @internal */
  readonly [MARKER] = true;

  /**
   * @param code - stable error code.
   * @param message - human-readable message naming the argument, expected and received value.
   * @param options - optional `cause`.
   */
  constructor(code: ContrastiveErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ContrastiveError';
    this.code = code;
  }
}

/**
 * True when `error` is a {@link ContrastiveError}, from any copy of `@contrastive/core`.
 *
 * @param error - anything caught.
 * @returns whether it carries the ContrastiveError marker.
 * @category Errors
 */
export function isContrastiveError(error: unknown): error is ContrastiveError {
  return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[MARKER] === true;
}
