import type * as tf from '@tensorflow/tfjs-core';

/**
 * A batch of embeddings: `[n, d]` float32, one row per sample.
 * @category Types
 */
export type Embeddings = tf.Tensor2D;

/**
 * Labels of a batch: `[n]` int32. Equal labels mark a positive pair. For self-supervised training
 * the two views of sample `i` both get label `i` (see {@link viewLabels}).
 * @category Types
 */
export type Labels = tf.Tensor1D;

/**
 * Pairs mined from a batch: `[p]` int32 index vectors into the batch (anchors) and into the
 * reference (or the batch itself when there is no reference). No gradient flows through them.
 * @category Types
 */
export interface PairTuples {
  readonly kind: 'pairs';
  /** `[p]` int32 anchor index of each positive pair. */
  readonly anchorPos: tf.Tensor1D;
  /** `[p]` int32 positive index of each positive pair. */
  readonly positive: tf.Tensor1D;
  /** `[q]` int32 anchor index of each negative pair. */
  readonly anchorNeg: tf.Tensor1D;
  /** `[q]` int32 negative index of each negative pair. */
  readonly negative: tf.Tensor1D;
}

/**
 * Triplets mined from a batch: three `[t]` int32 index vectors.
 * @category Types
 */
export interface TripletTuples {
  readonly kind: 'triplets';
  /** `[t]` int32 anchor indices (into the batch). */
  readonly anchor: tf.Tensor1D;
  /** `[t]` int32 positive indices (into the reference, or the batch). */
  readonly positive: tf.Tensor1D;
  /** `[t]` int32 negative indices (into the reference, or the batch). */
  readonly negative: tf.Tensor1D;
}

/**
 * Indices into a batch (and its reference) produced by a {@link Miner}: pairs or triplets.
 * @category Types
 */
export type Tuples = PairTuples | TripletTuples;

/**
 * Embeddings a batch is compared against instead of itself: a MoCo queue, a memory bank, or the
 * other modality in CLIP.
 * @category Types
 */
export interface Reference {
  /** `[m, d]` float32 reference embeddings. */
  readonly embeddings: Embeddings;
  /** `[m]` int32 reference labels. */
  readonly labels: Labels;
}

/**
 * A distance or similarity between embeddings (Hadsell et al. 2006; PML's `BaseDistance`).
 * `isSimilarity` says whether larger means closer.
 * @category Distances
 */
export interface Distance {
  /** Name used in messages and reports. */
  readonly name: string;
  /** True for similarities (larger = closer), false for distances. */
  readonly isSimilarity: boolean;
  /** True when the distance L2-normalizes the embeddings before comparing them. */
  readonly normalizes: boolean;
  /**
   * All-pairs matrix.
   * @param a - `[n, d]` float32.
   * @param b - `[m, d]` float32; defaults to `a`.
   * @returns `[n, m]` float32, owned by the caller.
   */
  pairwise(a: Embeddings, b?: Embeddings): tf.Tensor2D;
  /**
   * Row-wise values between `a[i]` and `b[i]`.
   * @param a - `[n, d]` float32.
   * @param b - `[n, d]` float32.
   * @returns `[n]` float32, owned by the caller.
   */
  paired(a: Embeddings, b: Embeddings): tf.Tensor1D;
}

/**
 * Input of a {@link Loss}.
 * @category Types
 */
export interface LossInput {
  /** `[n, d]` float32 embeddings of the batch. */
  readonly embeddings: Embeddings;
  /** `[n]` int32 labels of the batch. */
  readonly labels: Labels;
  /** Mined pairs or triplets; without them a loss uses every valid one. */
  readonly tuples?: Tuples;
  /** Compare the batch against these embeddings instead of against itself. */
  readonly ref?: Reference;
}

/**
 * A contrastive loss: `compute` returns a scalar connected to `embeddings` (a batch with nothing to
 * compare yields 0 with zero gradients).
 * @category Types
 */
export interface Loss {
  /** Name used in messages and reports. */
  readonly name: string;
  /**
   * @param input - embeddings, labels and optional tuples/reference (borrowed, never disposed).
   * @returns a float32 scalar owned by the caller.
   */
  compute(input: LossInput): tf.Scalar;
}

/**
 * Input of a {@link Miner}.
 * @category Types
 */
export interface MinerInput {
  /** `[n, d]` float32 embeddings of the batch. */
  readonly embeddings: Embeddings;
  /** `[n]` int32 labels of the batch. */
  readonly labels: Labels;
  /** Mine against these embeddings instead of the batch itself. */
  readonly ref?: Reference;
}

/**
 * Chooses pairs or triplets from a batch, outside the gradient.
 * @category Types
 */
export interface Miner {
  /** Name used in messages and reports. */
  readonly name: string;
  /**
   * @param input - embeddings, labels, optional reference (borrowed).
   * @returns int32 index tensors, owned by the caller.
   */
  mine(input: MinerInput): Tuples;
}
