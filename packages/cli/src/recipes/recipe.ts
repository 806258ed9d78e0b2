import type * as tf from '@tensorflow/tfjs-core';
import type { BatchSource, Encoder, Loss, Miner, Rng, TrainHooks, ViewGenerator } from '@contrastive/core';
import type { Augmentation } from '@contrastive/augment';
import type { ImageDataset } from '@contrastive/data';
import type { Progress } from '../progress.js';

/** Miners of the `triplet` recipe. @category Recipes */
export type TripletMinerName = 'batch-hard' | 'semihard';

/**
 * The knobs a recipe reads. Every field left undefined takes the recipe's own default
 * ({@link Recipe.defaults}); the runner resolves them before {@link Recipe.plan} runs.
 * @category Recipes
 */
export interface RecipeOptions {
  /** Softmax temperature τ of the InfoNCE-family losses. */
  readonly temperature?: number;
  /**
   * Strength of the view augmentation in `[0, 1]`: crop area `U(1 − 0.8 s, 1)`, brightness and
   * contrast factors in `[1 − 0.8 s, 1 + 0.8 s]`, noise std `0.1 s`. `0.5` is RECIPE.md's
   * augmentation exactly. @defaultValue 0.5
   */
  readonly strength?: number;
  /** Miner of the `triplet` recipe. @defaultValue 'batch-hard' */
  readonly miner?: TripletMinerName;
  /** Margin of margin-based losses (triplet). */
  readonly margin?: number;
  /** Keys in a memory queue (MoCo). */
  readonly queueSize?: number;
  /** Momentum of a key encoder (MoCo) or of a memory bank's entries (InstDisc). */
  readonly momentum?: number;
  /** Negatives drawn per anchor (InstDisc's NCE). */
  readonly negatives?: number;
  /**
   * InstDisc's objective: `'nce'` (the official code's NCE against sampled negatives) or
   * `'softmax'` (the exact non-parametric softmax over the whole memory bank, the paper's Eq. 2).
   * @defaultValue 'nce'
   */
  readonly objective?: 'nce' | 'softmax';
  /** Numbers of clusters of the prototype sets (PCL), e.g. `[10, 20, 40]`. */
  readonly clusters?: readonly number[];
  /** View strengths of a sweep (InfoMin). */
  readonly strengths?: readonly number[];
}

/**
 * What a recipe gets to build its training plan from. All tensors are borrowed from the runner.
 * @category Recipes
 */
export interface RecipeContext {
  /** The dataset (host arrays). */
  readonly dataset: ImageDataset;
  /** The whole training split on the device: `[n, h, w, c]` float32 images and `[n]` int32 labels. */
  readonly train: { readonly images: tf.Tensor4D; readonly labels: tf.Tensor1D };
  /** The encoder being trained; its output `h` is the evaluated representation. */
  readonly encoder: Encoder;
  /** The projection head `z = head(h)` the loss sees. */
  readonly head: Encoder;
  /** The options, with the recipe's defaults filled in. */
  readonly options: RecipeOptions & { readonly strength: number };
  /** The dataset's view augmentation at `options.strength` (mirror crops only for non-digit images). */
  readonly augmentation: Augmentation;
  /** Images per batch (before views). */
  readonly batchSize: number;
  /** Total epochs of the run. */
  readonly epochs: number;
  /** The run's seed. */
  readonly seed: number;
  /** A generator for the recipe's own initial parameters (drawn after the encoder's and head's). */
  readonly rng: Rng;
  /** Progress output (log lines do not break the bar). */
  readonly progress: Progress;
}

/**
 * A recipe's training plan: what `train` of `@contrastive/core` runs, plus the recipe's extra
 * state, epoch hook and metrics.
 * @category Recipes
 */
export interface RecipePlan {
  /** The loss. */
  readonly loss: Loss;
  /** Turns a batch of images into the batch the network sees (views, their labels). */
  readonly views: ViewGenerator;
  /** Mines the tuples of each batch for the loss. @defaultValue none */
  readonly miner?: Miner;
  /** Momentum encoders, queues, banks: see `TrainHooks`. @defaultValue none */
  readonly hooks?: TrainHooks;
  /** Trainable variables beyond the encoder's and head's (a text encoder, extra heads). @defaultValue none */
  readonly variables?: readonly tf.Variable[];
  /** The batches. @defaultValue the train split reshuffled every epoch, the last partial batch dropped */
  readonly data?: BatchSource;
  /**
   * Runs before every epoch this process trains (also the first epoch after a resume), e.g. PCL's
   * E-step (k-means over the current embeddings). @defaultValue none
   */
  beginEpoch?(epoch: number): void | Promise<void>;
  /**
   * Recipe-specific figures of the trained model, added to the report's metrics (e.g. CLIP's
   * zero-shot top-1). @defaultValue none
   */
  metrics?(): Record<string, number> | Promise<Record<string, number>>;
  /** Free everything the plan owns (the runner calls it once, also after an error). */
  dispose(): void;
}

/**
 * A training method of the `contrastive train` command: its name, its paper, its defaults, and how
 * it builds a {@link RecipePlan} around the reference CNN (RECIPE.md).
 * @category Recipes
 */
export interface Recipe {
  /** The `--recipe` name, e.g. `'simclr'`. */
  readonly name: string;
  /** The method and its paper, e.g. `'SimCLR (Chen et al. 2020)'`. */
  readonly title: string;
  /** Defaults of the options the recipe reads. */
  readonly defaults: RecipeOptions & { readonly temperature?: number };
  /**
   * Throws `ContrastiveError` naming `options.<field>` for an option out of range (e.g. a negative
   * margin). {@link runRecipe} calls it with the resolved options before anything is loaded or built.
   * @defaultValue none
   */
  check?(options: RecipeOptions & { readonly strength: number }, context: { readonly batchSize: number; readonly trainCount: number }): void;
  /** Build the plan (called after the baselines are evaluated and any checkpoint is loaded). */
  plan(context: RecipeContext): RecipePlan | Promise<RecipePlan>;
}
