import * as tf from '@tensorflow/tfjs-core';
import { ContrastiveError, Rng, assertNumber, embedDataset } from '@contrastive/core';
import type { Encoder, EncoderApplyOptions, Loss, LossInput, StepContext } from '@contrastive/core';
import { ntXentLoss, protoNceLoss } from '@contrastive/losses';
import type { ProtoNceLoss } from '@contrastive/losses';
import { PrototypeBank } from '@contrastive/samplers';
import type { PrototypeSet } from '@contrastive/samplers';
import { twoViews } from './contrastive.js';
import type { Recipe, RecipeContext, RecipePlan } from './recipe.js';

const FN = 'pclRecipe';

/**
 * Smoothing α of PCL's concentration `φ = mean ‖v − c‖ / log(Z + α)` (salesforce/PCL `main_pcl.py`).
 * @category Recipes
 */
export const PCL_ALPHA = 10;

/**
 * Percentiles the concentrations are clipped to before they are scaled to mean τ (PCL's "clamp
 * extreme values for stability").
 * @category Recipes
 */
export const PCL_PERCENTILE_CLIP: readonly [number, number] = [10, 90];

/** Lloyd iterations (faiss `niter`) and restarts (faiss `nredo`) of each k-means, as PCL. */
const KMEANS_ITERATIONS = 20;
const KMEANS_RESTARTS = 5;

/** Images per forward pass of the E-step's embedding of the train split. */
const EMBED_BATCH = 500;

/**
 * PCL's warm-up: the first epochs train with the instance term alone, on features that are not
 * yet worth clustering. PCL warms up for 20 of 200 epochs; here 10 % of the run's epochs, rounded
 * down — so runs under 10 epochs have no warm-up at all.
 *
 * @param epochs - total epochs of the run, an integer >= 0.
 * @returns `floor(epochs / 10)`.
 * @throws `ContrastiveError` `INVALID_ARGUMENT` naming `epochs` when it is not an integer >= 0.
 * @example
 * ```ts
 * pclWarmupEpochs(200); // 20 (PCL's ImageNet schedule)
 * pclWarmupEpochs(5);   // 0
 * ```
 * @category Recipes
 */
export function pclWarmupEpochs(epochs: number): number {
  assertNumber(epochs, 'epochs', 'pclWarmupEpochs', { integer: true, min: 0 });
  return Math.floor(epochs / 10);
}

/** Options of `pclEStep`. @category Recipes */
export interface PclEStepOptions {
  /** Clusters `K_m` of each granularity, integers in `[2, N]`. */
  readonly clusters: readonly number[];
  /** Mean τ of the concentrations (PCL uses its instance temperature). */
  readonly temperature: number;
  /** Seeds the k-means++ initialisations (advanced). */
  readonly rng: Rng;
}

/**
 * One E-step of Prototypical Contrastive Learning (Li, Zhou, Xiong & Hoi 2021): spherical k-means
 * of the L2-normalised features at every granularity (`PrototypeBank` of `@contrastive/samplers`,
 * metric `'cosine'`, 20 Lloyd iterations, best of 5 k-means++ restarts as PCL's faiss `niter` /
 * `nredo`), and per cluster the concentration
 * `φ_c = mean_{z ∈ c} ‖v_z − c‖ / log(Z_c + 10)` (a singleton takes the largest φ), clipped to
 * its 10th–90th percentiles and scaled to mean `temperature`, as PCL's `run_kmeans`.
 *
 * Deviation from PCL: PCL runs faiss's L2 k-means on the normalised features and normalises the
 * centroids afterwards, so an image's cluster is not always its nearest prototype; spherical
 * k-means makes the prototypes the centroids themselves and every image's cluster its nearest
 * prototype by cosine, and φ is measured to the unit centroid.
 *
 * @param features - `[N, d]` float32 features of the whole train split, row = dataset index;
 *   borrowed (normalised inside).
 * @param options - clusters, temperature and generator; see {@link PclEStepOptions}.
 * @returns a `PrototypeBank` holding `[K_m, d]` unit prototypes, `[K_m]` concentrations (mean
 *   `temperature`) and `[N]` int32 assignments per granularity; owned by the caller (`dispose()`).
 * @throws `ContrastiveError` from `PrototypeBank` (e.g. `SHAPE_MISMATCH` for fewer rows than
 *   clusters, `NON_FINITE` features, `INVALID_ARGUMENT` for a zero row).
 * @example
 * ```ts
 * const features = tf.tensor2d(new Rng(1).normalArray(200 * 8), [200, 8]);
 * const bank = pclEStep(features, { clusters: [10, 20], temperature: 0.2, rng: new Rng(0) });
 * bank.prototypes().prototypes[1]!.shape; // [20, 8]
 * bank.dispose();
 * ```
 * @category Recipes
 */
export function pclEStep(features: tf.Tensor2D, options: PclEStepOptions): PrototypeBank {
  const bank = new PrototypeBank({
    numClusters: options.clusters,
    temperature: options.temperature,
    alpha: PCL_ALPHA,
    percentileClip: PCL_PERCENTILE_CLIP,
    metric: 'cosine',
    maxIterations: KMEANS_ITERATIONS,
    restarts: KMEANS_RESTARTS,
    rng: options.rng,
  });
  try {
    bank.update(features);
  } catch (error) {
    bank.dispose();
    throw error;
  }
  return bank;
}

/**
 * The generator of the E-step before `epoch`: a stream of its own per (seed, epoch), apart from the
 * run's init stream `Rng(seed)`, so that an E-step depends only on the weights, the seed and the
 * epoch — and a resumed run recomputes exactly the prototypes of the uninterrupted one.
 */
function eStepRng(seed: number, epoch: number): Rng {
  return new Rng(new Rng(seed).int(2 ** 31 - 1) + (epoch + 1) * 2 ** 31);
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((item) => (typeof item === 'number' ? String(item) : typeof item)).join(', ')}]`;
  return value === null ? 'null' : typeof value === 'number' ? String(value) : typeof value;
}

/** Throws unless `value` is a non-empty list of integers in `[2, images]`. */
function checkClusters(value: unknown, images: number): readonly number[] {
  const expected = `a non-empty array of integers in [2, ${images}] (at least 2 clusters, at most the ${images} train images)`;
  if (!Array.isArray(value) || value.length === 0) {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'options.clusters' passed to '${FN}' must be ${expected}, got ${describe(value)}`);
  }
  value.forEach((k: unknown, m) => {
    if (typeof k !== 'number' || !Number.isInteger(k) || k < 2 || k > images) {
      throw new ContrastiveError(
        'INVALID_ARGUMENT',
        `Argument 'options.clusters' passed to '${FN}' must be ${expected}, got ${describe(value)} (entry ${m} is ${describe(k)})`,
      );
    }
  });
  return Object.freeze([...(value as number[])]);
}

/**
 * The plan of {@link pclRecipe}: a {@link RecipePlan} whose E-step state can be inspected.
 * @category Recipes
 */
export interface PclPlan extends RecipePlan {
  /** Epochs trained with the instance term alone (no E-step before them). */
  readonly warmupEpochs: number;
  /** Clusters of each granularity. */
  readonly clusters: readonly number[];
  /**
   * The prototypes, concentrations and assignments of the last E-step (borrowed: valid until the
   * next `beginEpoch` or `dispose()`), or `undefined` during the warm-up.
   */
  prototypes(): PrototypeSet | undefined;
}

/** Settings of {@link pclRecipeWith} that are not command-line options. @category Recipes */
export interface PclRecipeConfig {
  /**
   * Warm-up epochs (instance term alone), an integer >= 0.
   * @defaultValue `pclWarmupEpochs` of the run's epochs (10 %, rounded down)
   */
  readonly warmupEpochs?: number;
}

/** A {@link Recipe} whose `plan` returns a {@link PclPlan}. @category Recipes */
export interface PclRecipe extends Recipe {
  plan(context: RecipeContext): PclPlan;
}

/**
 * Prototypical contrastive learning (Li, Zhou, Xiong & Hoi 2021, "Prototypical Contrastive Learning
 * of Unsupervised Representations"; official code salesforce/PCL) with a configurable warm-up; see
 * {@link pclRecipe} for the method. `pclRecipe` is `pclRecipeWith()`.
 *
 * @param config - `warmupEpochs` (a test sets 0 to have the prototype term from the first epoch).
 * @returns the `pcl` recipe.
 * @throws `ContrastiveError` `INVALID_ARGUMENT` naming `config.warmupEpochs` when it is not an
 *   integer >= 0.
 * @example
 * ```ts
 * const recipe = pclRecipeWith({ warmupEpochs: 0 });
 * const outcome = await runRecipe(recipe, settings); // settings: RecipeSettings
 * ```
 * @category Recipes
 */
export function pclRecipeWith(config: PclRecipeConfig = {}): PclRecipe {
  if (config === null || typeof config !== 'object') {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'config' passed to 'pclRecipeWith' must be an object, got ${describe(config)}`);
  }
  if (config.warmupEpochs !== undefined) assertNumber(config.warmupEpochs, 'config.warmupEpochs', 'pclRecipeWith', { integer: true, min: 0 });
  const fixedWarmup = config.warmupEpochs;
  return {
    name: 'pcl',
    title: 'PCL, prototypical contrastive (Li et al. 2021)',
    defaults: { temperature: 0.2, clusters: [10, 20, 40] },
    plan: (context: RecipeContext): PclPlan => {
      const temperature = context.options.temperature;
      assertNumber(temperature, 'options.temperature', FN, { min: 0, exclusiveMin: true });
      const images = context.train.images.shape[0];
      const clusters = checkClusters(context.options.clusters, images);
      const warmupEpochs = fixedWarmup ?? pclWarmupEpochs(context.epochs);
      const { encoder, head } = context;
      // z = head(encoder(x)): PCL clusters the output of its (momentum) network, the MLP head's.
      const network: Pick<Encoder, 'apply'> = {
        apply: (x: tf.Tensor, options?: EncoderApplyOptions) => tf.tidy(() => head.apply(encoder.apply(x, options), options)),
      };

      const instance = ntXentLoss({ temperature });
      // ProtoNCE of @contrastive/losses always adds its own instance term (queries vs. stop-gradient
      // keys): the prototype term alone is the loss with the prototypes minus the loss without them
      // (the same computation on the same input, so the difference is exact up to one rounding).
      const withoutPrototypes = protoNceLoss({ tauInstance: temperature, negativePrototypes: 'all', form: 'paper' });
      let withPrototypes: ProtoNceLoss | undefined;
      let bank: PrototypeBank | undefined;
      const release = (): void => {
        bank?.dispose();
        bank = undefined;
        withPrototypes = undefined;
      };

      const loss: Loss = {
        name: 'pclLoss',
        compute: (input: LossInput): tf.Scalar =>
          tf.tidy(() => {
            const value = instance.compute(input);
            const current = withPrototypes;
            if (current === undefined) return value;
            return tf.add(value, tf.sub(current.compute(input), withoutPrototypes.compute(input))) as tf.Scalar;
          }),
      };

      return {
        loss,
        views: twoViews(context.augmentation, 'instance'),
        hooks: {
          // Label every view with its image's dataset index: the two views of an image are the
          // NT-Xent positives (as viewLabels), and rows 0..N-1 index the E-step's assignments.
          lossInput: ({ embeddings, indices }: StepContext): LossInput => {
            if (indices === undefined || indices.shape[0] * 2 !== embeddings.shape[0]) {
              throw new ContrastiveError(
                'SHAPE_MISMATCH',
                `Argument 'data' passed to '${FN}' must give every batch its dataset indices, one per image of the ${embeddings.shape[0] / 2}-image batch, got ${indices === undefined ? 'none' : `${indices.shape[0]}`}`,
              );
            }
            return { embeddings, labels: tf.concat([indices, indices]) as tf.Tensor1D };
          },
        },
        warmupEpochs,
        clusters,
        prototypes: () => bank?.prototypes(),
        beginEpoch: (epoch: number): void => {
          if (epoch < warmupEpochs) {
            release();
            return;
          }
          const started = performance.now();
          const features = embedDataset(network, context.train.images, { batchSize: EMBED_BATCH });
          let next: PrototypeBank;
          try {
            next = pclEStep(features, { clusters, temperature, rng: eStepRng(context.seed, epoch) });
          } finally {
            features.dispose();
          }
          let nextLoss: ProtoNceLoss;
          try {
            nextLoss = withoutPrototypes.withPrototypes(next.prototypes());
          } catch (error) {
            next.dispose();
            throw error;
          }
          release();
          bank = next;
          withPrototypes = nextLoss;
          const seconds = (performance.now() - started) / 1000;
          context.progress.log(`E-step before epoch ${epoch + 1}: k-means ${clusters.join('/')} on ${images} images (${seconds.toFixed(1)} s)`);
        },
        dispose: release,
      };
    },
  };
}

/**
 * Prototypical contrastive learning (Li, Zhou, Xiong & Hoi 2021, "Prototypical Contrastive Learning
 * of Unsupervised Representations"; official code salesforce/PCL), an EM loop:
 *
 * - **E-step** (`plan.beginEpoch`, every epoch after the warm-up, also the first after a resume):
 *   the whole train split, un-augmented, through `head ∘ encoder` in inference mode, L2-normalised
 *   (`[N, 64]`), clustered by `pclEStep` at every granularity of `options.clusters`
 *   (default `[10, 20, 40]`, i.e. 1×, 2× and 4× the classes of the 10-class datasets; PCL clusters
 *   ImageNet into 25k/50k/100k) from a generator of the run's seed and the epoch; per cluster the
 *   concentration φ of PCL (α 10, clipped to the 10th–90th percentiles, mean τ).
 * - **M-step** (every step): `L = NT-Xent(z; τ) + (1/M) Σ_m ProtoNCE_m`, where NT-Xent (τ 0.2,
 *   `ntXentLoss`) runs over the `2N` projections of two views per image (the instance term), and
 *   `ProtoNCE_m = mean_i −log(exp(u_i·c_{s_i}/φ_{s_i}) / Σ_j exp(u_i·c_j/φ_j))` over the view-1
 *   rows `u_i` (L2-normalised `z`), with `s_i` the cluster of the image's dataset index
 *   (`context.indices`) and every other prototype of granularity `m` a negative (`protoNceLoss`,
 *   paper form; PCL's code samples `r = 16,384` negatives among its 25,000+ prototypes, here
 *   `K_m` is small, so all are used). Prototypes get no gradient.
 * - **Warm-up**: the first `floor(epochs / 10)` epochs (`pclWarmupEpochs`; PCL: 20 of 200)
 *   use the instance term alone.
 *
 * Deviations from PCL, for this scale: the instance term is SimCLR's NT-Xent over the batch (both
 * views get gradients, `2N − 2` negatives) instead of PCL's MoCo (a momentum key encoder and a
 * queue of 16,384 keys): with batches of 256 the batch already holds the negatives a queue would
 * supply on these small datasets, and the instance term is then exactly the `simclr` recipe's at
 * τ 0.2, so the two recipes differ only by the prototype term. Accordingly the E-step embeds with
 * the current network rather than a momentum encoder, and k-means is spherical (see
 * `pclEStep`). The prototypes are not checkpointed: they depend only on the weights, the
 * seed and the epoch, so a resumed run recomputes them exactly.
 *
 * Cost: an E-step is one inference pass over the train split plus `5 × M` k-means runs of 20
 * iterations (on wasm about a sixth of an epoch's network work, plus a few seconds per 10,000
 * images); the prototype term adds a few `[N, K]` products per step.
 *
 * Options: `temperature` (τ of NT-Xent and mean of the concentrations, default 0.2 as PCL) and
 * `clusters` (integers in `[2, N]` for `N` train images — a subset smaller than a granularity is
 * rejected, not scaled down, so a run never silently clusters at another granularity than asked).
 *
 * Every batch must carry its dataset indices (the default batches of `runRecipe` do).
 * @throws `ContrastiveError` from `plan`: `INVALID_ARGUMENT` naming `options.clusters` (not a
 *   non-empty array of integers in `[2, N]`) or `options.temperature`; from a step,
 *   `SHAPE_MISMATCH` naming `data` for a batch without indices.
 * @category Recipes
 */
export const pclRecipe: PclRecipe = pclRecipeWith();
