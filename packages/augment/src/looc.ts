import * as tf from '@tensorflow/tfjs-core';
import { ContrastiveError, assertOneOf, type Labels, type Rng } from '@contrastive/core';
import type { Augmentation } from './augmentation.js';
import { assertAugmentation, assertImages, assertObject, assertRng, describeValue } from './checks.js';

/**
 * How the keys of {@link loocViews} relate to the query.
 *
 * - `'shareFamily'` (the paper's leave-one-out): key `k_i` draws every family afresh except family
 *   `i`, whose parameters it copies from the query — family `i` is "left out" of the augmentations
 *   that separate the pair.
 * - `'varyFamily'`: key `k_i` copies every family's parameters from the query except family `i`,
 *   which it draws afresh — the pair differs in that family only.
 *
 * @category Views
 */
export type LoocKeyMode = 'shareFamily' | 'varyFamily';

/** Options of {@link loocViews}. @category Views */
export interface LoocViewsOptions {
  /**
   * Augmentations applied to every view with independent draws before the families (e.g. a random
   * resized crop and a flip). @defaultValue none
   */
  readonly base?: Augmentation;
  /**
   * The augmentation families, applied after `base` in this order (LooC: colour, rotation,
   * texture), each an {@link Augmentation} whose draws depend only on the batch size and the rng
   * (true of every augmentation of this package), so that copying a family's parameters means
   * replaying its draws. At least one.
   */
  readonly families: readonly Augmentation[];
  /** How the keys relate to the query; see {@link LoocKeyMode}. @defaultValue `'shareFamily'` */
  readonly keys?: LoocKeyMode;
}

/** The views and labels returned by {@link LoocViews.generate}. @category Views */
export interface LoocBatch {
  /**
   * `[(F + 2) n, h', w', c]` float32, view-major: rows `0..n-1` the query `q`, then the key `k_0`
   * (every family drawn afresh), then the keys `k_1 .. k_F`, one per family. Owned by the caller.
   */
  readonly images: tf.Tensor4D;
  /**
   * `F + 1` label vectors, `[(F + 2) n]` int32 each, owned by the caller: `heads[0]` gives every view
   * of sample `b` label `b` (the embedding space invariant to all augmentations); `heads[i]` is the
   * space of family `i` (variant to it): with `'shareFamily'`, `q` and `k_i` share label `b` and
   * every other view gets a label of its own; with `'varyFamily'`, `q` and the keys that copy
   * family `i` (`k_j`, `j ≠ i, j ≥ 1`) share label `b`, and `k_0` and `k_i` get labels of their own.
   * A label-based loss (`ntXentLoss`, `supConLoss` of `@contrastive/losses`) on head `i`'s
   * embeddings with `heads[i]` then treats exactly the pairs that share family `i` as positives and
   * the views that differ in it as negatives.
   */
  readonly heads: readonly Labels[];
}

/** The generator returned by {@link loocViews}. @category Views */
export interface LoocViews {
  /** Number of views per sample, `F + 2`. */
  readonly views: number;
  /** Number of label heads, `F + 1`. */
  readonly heads: number;
  /**
   * @param images - `[n, h, w, c]` float32 in [0, 1] (borrowed).
   * @param rng - advanced by `2 + F (F + 2)` forks (see {@link loocViews} for the order).
   * @throws `ContrastiveError` for bad images or an `rng` that is not an `Rng`.
   */
  generate(images: tf.Tensor4D, rng: Rng): LoocBatch;
}

/** Whether view `view` (0 = q, 1 = k_0, 1 + i = k_i) copies family `family` (0-based) from the query. */
function copiesFamily(mode: LoocKeyMode, view: number, family: number): boolean {
  if (view < 2) return false;
  const own = view - 2;
  return mode === 'shareFamily' ? own === family : own !== family;
}

/**
 * Leave-one-out contrastive views (Xiao, Wang, Efros & Darrell 2021, "What Should Not Be Contrastive
 * in Contrastive Learning", LooC): for each sample, a query `q`, a key `k_0` with every augmentation
 * drawn afresh, and one key `k_i` per augmentation family that copies the query's parameters for
 * family `i` and draws the others afresh (`keys: 'shareFamily'`, the paper's), or the reverse
 * (`'varyFamily'`). A shared backbone with `F + 1` projection heads is trained with a contrastive
 * loss per head on `heads[h]`: head 0 learns invariance to all augmentations, head `i` keeps the
 * information family `i` changes ("invariant to all but one augmentation").
 *
 * Draws: `rng` is forked once for `base` per view (views in order), then once per (family, view),
 * family-major; the query's family streams are cloned before use, and a key that copies family `i`
 * replays the clone. Every view runs `base`, then the families in order, on the whole batch.
 *
 * @param options - `base`, `families`, `keys`; see {@link LoocViewsOptions}.
 * @returns a {@link LoocViews} generator.
 * @throws `ContrastiveError` `INVALID_ARGUMENT` when `families` is empty or holds a non-augmentation,
 *   `base` is not an augmentation, or `keys` is unknown; from `generate`, for bad images.
 * @example
 * ```ts
 * const looc = loocViews({ base: randomResizedCrop({ scale: [0.2, 1] }), families: [colorJitter(), rotate90()] });
 * const { images, heads } = looc.generate(tf.zeros([8, 32, 32, 3]) as tf.Tensor4D, new Rng(0));
 * console.log(images.shape, heads.length); // [32, 32, 32, 3] 3 — q, k0, k1, k2 of 8 samples; 3 heads
 * heads[1].print(); // q and k1 share labels 0..7; k0 and k2 get 8..15 and 24..31
 * ```
 * @category Views
 */
export function loocViews(options: LoocViewsOptions): LoocViews {
  const fn = 'loocViews';
  assertObject(options, 'options', fn);
  const { base, families } = options;
  if (base !== undefined) assertAugmentation(base, 'base', fn);
  if (!Array.isArray(families) || families.length === 0) {
    throw new ContrastiveError(
      'INVALID_ARGUMENT',
      `Argument 'families' passed to '${fn}' must be a non-empty array of augmentations, got ${Array.isArray(families) ? 'an empty array' : describeValue(families)}`,
    );
  }
  families.forEach((family: unknown, index) => assertAugmentation(family, `families[${index}]`, fn));
  const mode = options.keys ?? 'shareFamily';
  assertOneOf(mode, ['shareFamily', 'varyFamily'] as const, 'keys', fn);
  const familyList = [...families];
  const views = familyList.length + 2;

  const headLabels = (n: number, head: number): Labels => {
    const values = new Int32Array(views * n);
    for (let view = 0; view < views; view++) {
      // Head 0: every view positive. Head i: the views that copy family i-1 from q, and q itself.
      const positive = head === 0 || view === 0 || copiesFamily(mode, view, head - 1);
      for (let b = 0; b < n; b++) values[view * n + b] = positive ? b : view * n + b;
    }
    return tf.tensor1d(values, 'int32');
  };

  return {
    views,
    heads: familyList.length + 1,
    generate(images: tf.Tensor4D, rng: Rng): LoocBatch {
      assertImages(images, `${fn}.generate`);
      assertRng(rng, `${fn}.generate`);
      const n = images.shape[0];
      const baseStreams = Array.from({ length: views }, () => rng.fork());
      const familyStreams = familyList.map(() => Array.from({ length: views }, () => rng.fork()));
      const queryCopies = familyStreams.map((streams) => (streams[0] as Rng).clone());
      const outputs: tf.Tensor4D[] = [];
      let current: tf.Tensor4D = images;
      try {
        for (let view = 0; view < views; view++) {
          current = base === undefined ? images : base.apply(images, baseStreams[view] as Rng);
          for (let f = 0; f < familyList.length; f++) {
            const stream = copiesFamily(mode, view, f) ? (queryCopies[f] as Rng).clone() : (familyStreams[f]?.[view] as Rng);
            const next = (familyList[f] as Augmentation).apply(current, stream);
            if (current !== images) current.dispose();
            current = next;
          }
          outputs.push(current === images ? tf.clone(images) : current);
          current = images;
        }
        const stacked = tf.concat(outputs, 0);
        const heads = Array.from({ length: familyList.length + 1 }, (_, head) => headLabels(n, head));
        return { images: stacked, heads };
      } catch (error) {
        if (current !== images) current.dispose();
        throw error;
      } finally {
        tf.dispose(outputs);
      }
    },
  };
}
