import * as tf from '@tensorflow/tfjs-core';
import { ContrastiveError, assertNumber, assertOneOf, projectionHead } from '@contrastive/core';
import type { Batch, Encoder, Loss, LossInput, Rng, ViewGenerator } from '@contrastive/core';
import { colorJitter, gaussianNoise, loocViews, randomResizedCrop } from '@contrastive/augment';
import type { Augmentation, ColorJitter, GaussianNoise, LoocViews, RandomResizedCrop } from '@contrastive/augment';
import { ntXentLoss } from '@contrastive/losses';
import type { Recipe, RecipeContext, RecipePlan } from './recipe.js';
import { isImageShape } from './run-recipe.js';

const RECIPE = 'loocRecipe';

/**
 * The stages of the reference view augmentation (RECIPE.md, `recipeAugmentation` of
 * `@contrastive/augment`) taken apart, so that LooC can treat each as an augmentation of its own.
 * `crop` then `jitter` then `noise` applied to a batch with one generator is exactly
 * `recipeAugmentation({ flip, strength })` (same draws, same order).
 * @internal
 */
export interface LoocStages {
  /** Random resized crop (area `U(1 − 0.8 s, 1)`), with the left-right mirror when `flip`. */
  readonly crop: RandomResizedCrop;
  /** Brightness then contrast, factors `U(1 − 0.8 s, 1 + 0.8 s)`, with probability 0.8. */
  readonly jitter: ColorJitter;
  /** Gaussian pixel noise (std `0.1 s`) with probability 0.5, then a clamp to [0, 1]. */
  readonly noise: GaussianNoise;
}

/**
 * The three stages of `recipeAugmentation({ flip, strength })` as separate augmentations (the same
 * factories and parameters; `recipeAugmentation` does not expose its stages).
 * @param options - `strength` in `[0, 1]` (0.5 = RECIPE.md) and whether crops may be mirrored.
 * @returns the crop, jitter and noise stages.
 * @throws `ContrastiveError` `INVALID_ARGUMENT` naming `strength` or `flip`.
 * @internal
 */
export function loocStages(options: { readonly strength: number; readonly flip: boolean }): LoocStages {
  const fn = 'loocStages';
  assertNumber(options.strength, 'strength', fn, { min: 0, max: 1 });
  assertOneOf(options.flip, [true, false] as const, 'flip', fn);
  const spread = 0.8 * options.strength;
  const ratio: [number, number] =
    options.strength === 0.5 ? [3 / 4, 4 / 3] : [(3 / 4) ** (2 * options.strength), (4 / 3) ** (2 * options.strength)];
  return {
    crop: randomResizedCrop({ scale: [1 - spread, 1], ratio, flipProbability: options.flip ? 0.5 : 0 }),
    jitter: colorJitter({ probability: 0.8, brightness: [1 - spread, 1 + spread], contrast: [1 - spread, 1 + spread] }),
    noise: gaussianNoise({ probability: 0.5, std: 0.1 * options.strength }),
  };
}

/**
 * Whether the view augmentation mirrors crops: the CLI's rule (RECIPE.md) mirrors Fashion-MNIST and
 * never digits. `RecipeContext` does not carry the runner's `flip` setting, so it is read from the
 * dataset: digits are the datasets whose class names are exactly `'0'..'9'`.
 * @internal
 */
export function mirrorsCrops(classNames: readonly string[]): boolean {
  return !(classNames.length > 0 && classNames.every((name) => /^[0-9]$/.test(name)));
}

/**
 * LooC's views of a batch, and the label vectors of its embedding spaces until the step's loss has
 * used them. `generate` is the plan's {@link ViewGenerator}; `spaceLabels` is read by the
 * `lossInput` hook of the same step; `release` frees them after the step.
 * @internal
 */
export class LoocBatches {
  /** Views per image, `F + 2` (q, k_0, k_1 .. k_F). */
  readonly views: number;
  /** Embedding spaces, `F + 1` (Z_0, Z_1 .. Z_F). */
  readonly spaces: number;
  private readonly looc: LoocViews;
  private readonly noise: Augmentation;
  private pending: tf.Tensor1D | undefined;

  /**
   * @param families - the augmentation-aware families, in order (the recipe's: crop, jitter).
   * @param noise - drawn independently for every view after the families.
   */
  constructor(families: readonly Augmentation[], noise: Augmentation) {
    this.looc = loocViews({ families, keys: 'shareFamily' });
    this.noise = noise;
    this.views = this.looc.views;
    this.spaces = this.looc.heads;
  }

  /**
   * The `(F + 2) n` views of a batch of `n` images, view-major (q, k_0, k_1 .. k_F), labelled by
   * image (every view of image `b` gets label `b`: the labels of Z_0). The labels of all spaces are
   * kept for {@link LoocBatches.spaceLabels} until {@link LoocBatches.release}.
   */
  generate(batch: Batch, rng: Rng): Batch {
    this.release();
    const { images, heads } = this.looc.generate(batch.inputs as tf.Tensor4D, rng);
    let inputs: tf.Tensor4D | undefined;
    try {
      inputs = this.noise.apply(images, rng);
      this.pending = tf.concat([...heads], 0);
      return { inputs, labels: heads[0] as tf.Tensor1D };
    } catch (error) {
      inputs?.dispose();
      tf.dispose([...heads]);
      throw error;
    } finally {
      images.dispose();
      tf.dispose(heads.slice(1));
    }
  }

  /**
   * `[(F + 1) (F + 2) n]` int32: the labels of every space, space-major (`heads` of `loocViews`
   * concatenated), for the step whose views were generated last. Borrowed.
   * @throws `ContrastiveError` `STATE` when no views are pending or they do not fit `rows`.
   */
  spaceLabels(rows: number): tf.Tensor1D {
    const pending = this.pending;
    if (pending === undefined || pending.isDisposed || pending.shape[0] !== this.spaces * rows) {
      throw new ContrastiveError(
        'STATE',
        `'${RECIPE}': the loss of a step needs the labels of the views generated for it (${this.spaces} x ${rows} rows), got ${pending === undefined || pending.isDisposed ? 'none' : pending.shape[0]}`,
      );
    }
    return pending;
  }

  /** Free the pending labels (idempotent). */
  release(): void {
    this.pending?.dispose();
    this.pending = undefined;
  }
}

/**
 * The LooC objective: the sum over the `spaces` embedding spaces of an InfoNCE whose anchors are the
 * queries. `compute` takes the embeddings of every space stacked space-major —
 * `embeddings` `[S V n, d]`, block `s` = space `s` holding the `V n` view rows (q, k_0, .., k_F) —
 * and `labels` `[S V n]` int32 (the label vectors of `loocViews`, concatenated). In space `s` the
 * queries are the first `n` rows of the block and the keys the other `(V − 1) n`; key `j` is a
 * positive of query `i` when they share a label, and each positive pair costs
 * `−log(exp(s_ij / τ) / (exp(s_ij / τ) + Σ_{k: y_k ≠ y_i} exp(s_ik / τ)))` (cosine `s`), averaged over
 * the space's positive pairs (`ntXentLoss` of `@contrastive/losses` with the keys as `ref`).
 * @param options - temperature τ > 0, number of spaces `S` and views `V`.
 * @returns a `Loss` named `'loocLoss'`; `compute` returns a float32 scalar owned by the caller.
 * @throws `ContrastiveError` `INVALID_ARGUMENT` for a bad option; from `compute`, `SHAPE_MISMATCH`
 *   when the rows are not `S V n` and `LABEL_COUNT` when the labels do not match them.
 * @internal
 */
export function loocLoss(options: { readonly temperature: number; readonly spaces: number; readonly views: number }): Loss {
  const fn = 'loocLoss';
  assertNumber(options.temperature, 'temperature', fn, { min: 0, exclusiveMin: true });
  assertNumber(options.spaces, 'spaces', fn, { integer: true, min: 1 });
  assertNumber(options.views, 'views', fn, { integer: true, min: 2 });
  const { spaces, views } = options;
  const infoNce = ntXentLoss({ temperature: options.temperature });
  return {
    name: fn,
    compute(input: LossInput): tf.Scalar {
      const { embeddings, labels } = input;
      const rows = embeddings.shape[0];
      if (embeddings.rank !== 2 || rows === 0 || rows % (spaces * views) !== 0) {
        throw new ContrastiveError(
          'SHAPE_MISMATCH',
          `Argument 'embeddings' passed to '${fn}' must have ${spaces} x ${views} x n rows (spaces x views x images), got [${embeddings.shape.join(', ')}]`,
        );
      }
      if (labels.shape[0] !== rows) {
        throw new ContrastiveError('LABEL_COUNT', `Argument 'labels' passed to '${fn}' must have ${rows} entries (one per embedding row), got ${labels.shape[0]}`);
      }
      const n = rows / (spaces * views);
      return tf.tidy(() => {
        let total: tf.Scalar | undefined;
        for (let space = 0; space < spaces; space++) {
          const start = space * views * n;
          // Row gathers, not slices: a row slice is ~10x slower than a gather on wasm (tfjs 4.22).
          const queries = tf.range(start, start + n, 1, 'int32');
          const keys = tf.range(start + n, start + views * n, 1, 'int32');
          const term = infoNce.compute({
            embeddings: tf.gather(embeddings, queries),
            labels: tf.gather(labels, queries),
            ref: { embeddings: tf.gather(embeddings, keys), labels: tf.gather(labels, keys) },
          });
          total = total === undefined ? term : (tf.add(total, term) as tf.Scalar);
        }
        return total as tf.Scalar;
      });
    },
  };
}

/**
 * LooC, leave-one-out contrastive learning (Xiao, Wang, Efros & Darrell, ICLR 2021, "What Should
 * Not Be Contrastive in Contrastive Learning"): a shared backbone `h` and `F + 1` embedding spaces —
 * `Z_0` invariant to every augmentation, and one `Z_i` per augmentation-aware family `i` that is
 * variant to that family and invariant to the others.
 *
 * - Families (aware): the random resized crop (with the left-right mirror on non-digit datasets) and
 *   the brightness/contrast jitter of RECIPE.md at `options.strength`; the pixel noise is not a
 *   family: it is drawn independently for every view (as LooC's base augmentations).
 * - Views (`loocViews` of `@contrastive/augment`, `'shareFamily'`): per image a query `q`, a key
 *   `k_0` with every family drawn independently, and a key `k_i` per family that copies `q`'s
 *   parameters of family `i` and draws the others afresh: `[4 n, 28, 28, 1]`, view-major
 *   (q, k_0, k_crop, k_jitter).
 * - Heads: `Z_0` is the runner's 128-128-64 `head` (the one checkpointed with the encoder); each
 *   family gets its own 128-128-64 `projectionHead`, initialised from `context.rng`, whose variables
 *   are the plan's `variables` (optimised, checkpointed and restored by `train`).
 * - Loss (summed over the spaces, `loocLoss`, τ 0.2): in `Z_0` every key of the same image is a
 *   positive of `q` (an InfoNCE term per positive key, the keys of the other images as negatives);
 *   in `Z_i` the positive of `q` is `k_i` alone, and `k_0` and the other `k_j` of the same image are
 *   negatives together with every key of the other images.
 *
 * Deviation from the paper's MoCo base: no momentum key encoder and no queue — keys come from the
 * same network with gradient, and the negatives are the keys of the other images of the batch
 * (SimCLR-style in-batch negatives), as the other recipes here. τ 0.2 is the paper's MoCo v2 setting.
 * The evaluated representation is `h` (LooC's "general embedding space V"); the concatenation of the
 * spaces (LooC++) is not evaluated.
 *
 * @throws `ContrastiveError` from `plan`: `INVALID_ARGUMENT` naming `options.temperature` when it is
 *   not > 0, or `context.dataset` when its samples are not images (tables have no crop or jitter).
 * @category Recipes
 */
export const loocRecipe: Recipe = {
  name: 'looc',
  title: 'LooC, leave-one-out contrastive (Xiao et al. 2021)',
  defaults: { temperature: 0.2 },
  plan: (context: RecipeContext): RecipePlan => {
    const temperature = context.options.temperature;
    assertNumber(temperature, 'options.temperature', `${RECIPE}.plan`, { min: 0, exclusiveMin: true });
    const shape = context.dataset.train.shape;
    if (!isImageShape(shape)) {
      throw new ContrastiveError(
        'INVALID_ARGUMENT',
        `Argument 'context.dataset' passed to '${RECIPE}.plan' must hold images of at least 8 x 8 pixels (LooC's crop and jitter), got samples of shape [${shape.join(', ')}]`,
      );
    }
    const stages = loocStages({ strength: context.options.strength, flip: mirrorsCrops(context.dataset.classNames) });
    const batches = new LoocBatches([stages.crop, stages.jitter], stages.noise);
    const heads: Encoder[] = [];
    try {
      for (const family of ['crop', 'jitter']) {
        heads.push(
          projectionHead({
            inputDim: context.encoder.outputDim,
            hiddenDim: 128,
            outputDim: context.head.outputDim,
            rng: context.rng,
            name: `looc-${family}-head`,
          }),
        );
      }
    } catch (error) {
      for (const head of heads) head.dispose();
      throw error;
    }
    const loss = loocLoss({ temperature, spaces: batches.spaces, views: batches.views });
    const views: ViewGenerator = (batch, rng) => batches.generate(batch, rng);
    return {
      loss,
      views,
      variables: heads.flatMap((head) => head.trainableVariables),
      hooks: {
        lossInput: ({ features, embeddings }) => ({
          embeddings: tf.concat([embeddings, ...heads.map((head) => head.apply(features, { training: true }))], 0) as tf.Tensor2D,
          labels: batches.spaceLabels(embeddings.shape[0]),
        }),
        afterStep: () => batches.release(),
      },
      dispose: () => {
        batches.release();
        for (const head of heads) head.dispose();
      },
    };
  },
};
