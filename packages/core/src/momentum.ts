/**
 * The momentum (exponential moving average) key encoder of MoCo and target network of BYOL.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Encoder, EncoderApplyOptions } from './encoders.js';
import { ContrastiveError } from './errors.js';
import { assertNumber } from './validate.js';

/**
 * Options of {@link MomentumEncoder}.
 * @category Encoders
 */
export interface MomentumEncoderOptions {
  /** The query's projection head, copied and averaged too (MoCo v2, BYOL). @defaultValue none */
  readonly head?: Encoder;
  /** Default momentum `m` of {@link MomentumEncoder.update}, in `[0, 1]`. @defaultValue 0.999 (MoCo) */
  readonly momentum?: number;
}

interface Pair {
  readonly key: tf.Variable;
  readonly query: tf.Variable;
}

function variablesOf(encoder: Encoder): tf.Variable[] {
  return encoder.model.weights.map((weight) => weight.read() as tf.Variable);
}

/**
 * A slowly moving copy of a query encoder: the key encoder of MoCo (He et al. 2019, "Momentum Contrast
 * for Unsupervised Visual Representation Learning") and the target network of BYOL. It starts as a
 * copy of the query encoder (and head) in non-trainable variables; after each optimizer step
 * {@link MomentumEncoder.update} sets `key = m * key + (1 - m) * query`, in place.
 *
 * Use it from the training loop's hooks: compute keys in `hooks.lossInput`, call `update()` in
 * `hooks.afterStep`, and save/restore `getWeights()`/`setWeights()` in `hooks.saveState`/`loadState`.
 *
 * @example
 * ```ts
 * const encoder = mlpEncoder({ inputDim: 4, hiddenDims: [8], outputDim: 8, seed: 0 });
 * const keyEncoder = new MomentumEncoder(encoder, { momentum: 0.99 });
 * // ... an optimizer step changes `encoder` ...
 * keyEncoder.update();                              // key = 0.99 key + 0.01 query
 * const keys = keyEncoder.apply(tf.ones([2, 4]));  // [2, 8], no gradient to the query
 * keys.dispose();
 * keyEncoder.dispose();
 * ```
 * @category Encoders
 */
export class MomentumEncoder {
  /** Default momentum of {@link MomentumEncoder.update}. */
  readonly momentum: number;
  /** The key copy of the encoder (non-trainable; owned by this object). */
  readonly encoder: Encoder;
  /** The key copy of the head, if a head was given (non-trainable; owned by this object). */
  readonly head: Encoder | undefined;
  private readonly pairs: readonly Pair[];
  private disposed = false;

  /**
   * @param query - the query encoder to follow (borrowed: it must stay alive while `update()` is used).
   * @param options - the query's head and the default momentum.
   * @throws {@link ContrastiveError} `INVALID_ARGUMENT` for a momentum outside `[0, 1]` or a missing encoder.
   */
  constructor(query: Encoder, options: MomentumEncoderOptions = {}) {
    const fn = 'MomentumEncoder';
    if (query === null || typeof query !== 'object' || typeof query.clone !== 'function') {
      throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'query' passed to '${fn}' must be an Encoder, got ${typeof query}`);
    }
    if (options.head !== undefined && (options.head === null || typeof options.head.clone !== 'function')) {
      throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'head' passed to '${fn}' must be an Encoder, got ${typeof options.head}`);
    }
    const momentum = options.momentum ?? 0.999;
    assertNumber(momentum, 'momentum', fn, { min: 0, max: 1 });
    this.momentum = momentum;
    const sources = options.head === undefined ? [query] : [query, options.head];
    const copies: Encoder[] = [];
    try {
      for (const source of sources) copies.push(source.clone({ trainable: false, name: `${source.name}-momentum` }));
    } catch (error) {
      for (const copy of copies) copy.dispose();
      throw error;
    }
    this.encoder = copies[0] as Encoder;
    this.head = copies[1];
    const pairs: Pair[] = [];
    sources.forEach((source, i) => {
      const keys = variablesOf(copies[i] as Encoder);
      const queries = variablesOf(source);
      keys.forEach((key, j) => pairs.push({ key, query: queries[j] as tf.Variable }));
    });
    this.pairs = pairs;
  }

  /**
   * Exponential moving average step: `key = m * key + (1 - m) * query` for every weight, in place,
   * leaving no tensor behind. `update(0)` copies the query; `update(1)` changes nothing.
   *
   * @param momentum - `m` in `[0, 1]`. @defaultValue this encoder's `momentum`
   * @throws {@link ContrastiveError} `INVALID_ARGUMENT` for `m` outside `[0, 1]`; `STATE` after `dispose()`
   *   or when the query encoder was disposed.
   */
  update(momentum: number = this.momentum): void {
    this.assertLive('update');
    assertNumber(momentum, 'momentum', 'MomentumEncoder.update', { min: 0, max: 1 });
    if (this.pairs.some((pair) => pair.query.isDisposed)) {
      throw new ContrastiveError('STATE', `'MomentumEncoder.update' needs the query encoder, which was disposed`);
    }
    tf.tidy(() => {
      const keep = tf.scalar(momentum, 'float32');
      const blend = tf.scalar(1 - momentum, 'float32');
      for (const { key, query } of this.pairs) key.assign(tf.add(tf.mul(key, keep), tf.mul(query, blend)));
    });
  }

  /**
   * Key embeddings: the key encoder, then the key head if any.
   *
   * @param x - a batch the query encoder accepts, e.g. `[n, 28, 28, 1]` float32; borrowed.
   * @param options - training mode. @defaultValue `{ training: false }`
   * @returns `[n, d]` float32, owned by the caller; no gradient reaches the query's variables.
   * @throws {@link ContrastiveError} for a wrong input shape; `STATE` after `dispose()`.
   */
  apply(x: tf.Tensor, options: EncoderApplyOptions = {}): tf.Tensor2D {
    this.assertLive('apply');
    return tf.tidy(() => {
      const features = this.encoder.apply(x, options);
      return this.head === undefined ? features : this.head.apply(features, options);
    });
  }

  /** @returns copies of the key weights (encoder, then head), owned by the caller; for checkpoints. */
  getWeights(): tf.Tensor[] {
    this.assertLive('getWeights');
    return [...this.encoder.getWeights(), ...(this.head?.getWeights() ?? [])];
  }

  /**
   * Overwrite the key weights (encoder, then head), e.g. from a checkpoint.
   * @param weights - as returned by {@link MomentumEncoder.getWeights}; borrowed.
   * @throws {@link ContrastiveError} `SHAPE_MISMATCH` when the count or a shape differs.
   */
  setWeights(weights: readonly tf.Tensor[]): void {
    this.assertLive('setWeights');
    const encoderCount = this.encoder.model.weights.length;
    const headCount = this.head?.model.weights.length ?? 0;
    if (!Array.isArray(weights) || weights.length !== encoderCount + headCount) {
      throw new ContrastiveError(
        'SHAPE_MISMATCH',
        `Argument 'weights' passed to 'MomentumEncoder.setWeights' must hold ${encoderCount + headCount} tensors, got ${Array.isArray(weights) ? weights.length : typeof weights}`,
      );
    }
    this.encoder.setWeights(weights.slice(0, encoderCount));
    this.head?.setWeights(weights.slice(encoderCount));
  }

  /** Free the key copies (not the query encoder). Idempotent. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.encoder.dispose();
    this.head?.dispose();
  }

  private assertLive(member: string): void {
    if (this.disposed) throw new ContrastiveError('STATE', `'MomentumEncoder.${member}' was called after dispose()`);
  }
}
