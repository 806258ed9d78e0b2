import * as tf from '@tensorflow/tfjs-core';
import { ContrastiveError, assertNumber } from '@contrastive/core';
import type { LossInput, Loss } from '@contrastive/core';
import { DEFAULT_CHUNK_ELEMENTS, validateLossInput } from './info-nce-engine.js';
import { diagonalCrossEntropy, rejectTuples, splitQueriesAndKeys, symmetricDiagonalCrossEntropy } from './info-nce-loss.js';
import { assertOptionsObject } from './internal/options.js';

const NAME = 'clipLoss';

/**
 * Options of {@link clipLoss}.
 * @category Losses
 */
export interface ClipLossOptions {
  /**
   * Temperature τ: the logits are `cos(image, text) / τ`. With `learnableScale` it only sets the
   * initial logit scale `log(1 / τ)`. A finite number > 0.
   * @defaultValue 0.07 (CLIP's initial temperature)
   */
  readonly temperature?: number;
  /**
   * Learn the logit scale as CLIP does: a trainable `logitScale` variable initialised to
   * `log(1 / temperature)`, the logits being `min(exp(logitScale), maxScale) · cos`. The variable is
   * listed in `trainableVariables`; pass it to `optimizer.minimize` (or let it find all trainable
   * variables) and `dispose()` the loss when done.
   * @defaultValue false (a fixed temperature)
   */
  readonly learnableScale?: boolean;
  /**
   * Largest logit scale (CLIP clips `exp(logitScale)` at 100 "to prevent scaling the logits by more
   * than 100"); the gradient of the scale is 0 above it. A finite number > 0.
   * @defaultValue 100
   */
  readonly maxScale?: number;
  /**
   * Average the image → text and text → image cross-entropies (CLIP); `false` keeps image → text.
   * @defaultValue true
   */
  readonly symmetric?: boolean;
  /**
   * Most elements of one `[c, N]` similarity block (row chunks with a recomputing gradient).
   * @defaultValue 4194304 (2^22)
   */
  readonly chunkElements?: number;
}

/**
 * A {@link clipLoss}: a `Loss` that may own a trainable logit scale.
 * @category Losses
 */
export interface ClipLoss extends Loss {
  /** The learnable `logitScale` scalar variable, or `null` for a fixed temperature. */
  readonly logitScale: tf.Variable<tf.Rank.R0> | null;
  /** `[logitScale]` with `learnableScale`, else empty: what an optimizer should update. */
  readonly trainableVariables: readonly tf.Variable[];
  /** Disposes the logit-scale variable (no-op for a fixed temperature); `compute` then throws. */
  dispose(): void;
}

function assertBoolean(value: unknown, argument: string): asserts value is boolean {
  if (typeof value !== 'boolean') {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument '${argument}' passed to '${NAME}' must be a boolean, got ${typeof value}`);
  }
}

/**
 * CLIP's contrastive loss (Radford et al. 2021, "Learning Transferable Visual Models From Natural
 * Language Supervision"): N (image, text) pairs, L2-normalized, give the `[N, N]` logits
 * `scale · I Tᵀ`; the loss is the symmetric cross-entropy with the matching pair on the diagonal,
 * `L = ½ (CE(I Tᵀ, diag) + CE(T Iᵀ, diag))`, each CE a mean over rows. The negatives of an image are
 * the other texts only (and vice versa) — no intra-modality negatives, unlike NT-Xent. The
 * scale is `1 / temperature`, or CLIP's learnable `exp(logitScale)` capped at `maxScale`.
 * (This is `infoNceLoss({ symmetric: true })` plus the learnable scale; open_clip's `ClipLoss`.)
 *
 * `compute({ embeddings, labels })`: `embeddings` stacks the images (rows `[0, N)`) and their texts
 * (rows `[N, 2N)`); with `ref`, the images are `embeddings` and the texts `ref.embeddings` (as many
 * rows). `labels` are validated but unused (pairs are matched by position); `tuples` are rejected.
 * Runs on the memory-bounded InfoNCE engine (row chunks, recomputing closed-form gradients into
 * both modalities and into the logit scale), so memory grows linearly in N. A single row without
 * `ref` gives 0 connected to `embeddings`; one pair (no negative) gives 0.
 *
 * @param options - temperature, learnable scale, cap, direction, chunk bound; see {@link ClipLossOptions}.
 * @returns a {@link ClipLoss} named `'clipLoss'`: `compute` takes `embeddings` `[2N, d]` (or
 * `[N, d]` with `ref` `[N, d]`) float32 and `labels` int32 and returns a float32 scalar owned by
 * the caller; it disposes none of its inputs. With `learnableScale` the loss owns a variable:
 * call `dispose()` when done.
 * @throws `ContrastiveError`: `INVALID_ARGUMENT` from the factory for `options` that is not an object, a temperature or `maxScale`
 * that is not a finite number > 0, a non-boolean `learnableScale`/`symmetric` or a bad
 * `chunkElements`; from `compute`, `SHAPE_MISMATCH` for an odd number of rows without `ref` or a
 * `ref` with a different number of rows, `INVALID_ARGUMENT` for `tuples`, `STATE` after `dispose()`,
 * and the usual tensor errors naming the argument.
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { viewLabels } from '@contrastive/core';
 * import { clipLoss } from '@contrastive/losses';
 *
 * // Images [1, 0], [0, 1] (rows 0, 1) and their captions (rows 2, 3).
 * const embeddings = tf.tensor2d([[1, 0], [0, 1], [0.8, 0.6], [0.6, 0.8]]);
 * clipLoss({ temperature: 0.5 }).compute({ embeddings, labels: viewLabels(2) }).print(); // Tensor 0.5130152
 *
 * const learnable = clipLoss({ learnableScale: true }); // logitScale = log(1 / 0.07) = 2.6592600
 * const variable = tf.variable(embeddings);
 * const optimizer = tf.train.sgd(0.1);
 * optimizer.minimize(() => learnable.compute({ embeddings: variable, labels: viewLabels(2) }));
 * learnable.logitScale?.print(); // the scale moved with the embeddings
 * learnable.dispose();
 * ```
 * @category Losses
 */
export function clipLoss(options: ClipLossOptions = {}): ClipLoss {
  assertOptionsObject(options, NAME);
  const temperature = options.temperature ?? 0.07;
  assertNumber(temperature, 'temperature', NAME, { min: 0, exclusiveMin: true });
  const learnableScale = options.learnableScale ?? false;
  assertBoolean(learnableScale, 'learnableScale');
  const maxScale = options.maxScale ?? 100;
  assertNumber(maxScale, 'maxScale', NAME, { min: 0, exclusiveMin: true });
  const symmetric = options.symmetric ?? true;
  assertBoolean(symmetric, 'symmetric');
  const chunkElements = options.chunkElements ?? DEFAULT_CHUNK_ELEMENTS;
  assertNumber(chunkElements, 'chunkElements', NAME, { integer: true, min: 1 });

  let logitScale: tf.Variable<tf.Rank.R0> | null = null;
  if (learnableScale) {
    // tf.variable shares the initial tensor's data but does not own the tensor: dispose it.
    const initial = tf.scalar(Math.log(1 / temperature));
    logitScale = tf.variable(initial, true);
    initial.dispose();
  }
  let disposed = false;

  return {
    name: NAME,
    logitScale,
    trainableVariables: logitScale === null ? [] : [logitScale],
    dispose(): void {
      if (disposed) return;
      disposed = true;
      logitScale?.dispose();
    },
    compute(input: LossInput): tf.Scalar {
      if (disposed) throw new ContrastiveError('STATE', `'${NAME}' was used after dispose()`);
      const checked = validateLossInput(input, NAME);
      rejectTuples(checked, NAME);
      const { embeddings, ref } = checked;
      if (ref === undefined && embeddings.shape[0] === 1) return tf.tidy(() => tf.mul(tf.sum(embeddings), 0) as tf.Scalar);
      if (ref !== undefined && ref.embeddings.shape[0] !== embeddings.shape[0]) {
        throw new ContrastiveError(
          'SHAPE_MISMATCH',
          `Argument 'ref.embeddings' passed to '${NAME}' must have ${embeddings.shape[0]} rows (one text per image), got ${ref.embeddings.shape[0]}`,
        );
      }
      return tf.tidy(() => {
        const { queries: images, keys: texts } = splitQueriesAndKeys(checked, NAME);
        const scale = logitScale === null ? 1 / temperature : (tf.minimum(tf.exp(logitScale), maxScale) as tf.Scalar);
        const settings = { name: NAME, scale, chunkElements };
        const both = symmetric ? symmetricDiagonalCrossEntropy(images, texts, settings) : null;
        if (both !== null) return both;
        const imageToText = tf.mean(diagonalCrossEntropy(images, texts, settings));
        if (!symmetric) return imageToText as tf.Scalar;
        const textToImage = tf.mean(diagonalCrossEntropy(texts, images, settings));
        return tf.mul(tf.add(imageToText, textToImage), 0.5) as tf.Scalar;
      });
    },
  };
}
