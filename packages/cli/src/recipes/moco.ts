import * as tf from '@tensorflow/tfjs-core';
import { ContrastiveError, MomentumEncoder, assertNumber, l2Normalize } from '@contrastive/core';
import type { TrainHooks, ViewGenerator } from '@contrastive/core';
import { infoNceLoss } from '@contrastive/losses';
import { MemoryQueue } from '@contrastive/samplers';
import { twoViews } from './contrastive.js';
import type { Recipe, RecipeContext, RecipePlan } from './recipe.js';

const FN = 'mocoRecipe';

/** Key of the checkpoint's `extra` holding the key encoder's weights (encoder, then head). @internal */
export const MOCO_KEY_ENCODER_STATE = 'moco.keyEncoder';
/** Key of the checkpoint's `extra` holding the queue (`MemoryQueue.state()`: keys, labels, meta). @internal */
export const MOCO_QUEUE_STATE = 'moco.queue';

/**
 * MoCo v2 (He et al. 2019, "Momentum Contrast for Unsupervised Visual Representation Learning";
 * Chen et al. 2020, "Improved Baselines with Momentum Contrastive Learning") on the reference CNN
 * of RECIPE.md.
 *
 * Each batch of `N` images gives two augmented views (RECIPE.md's augmentation at
 * `options.strength`), stacked view-major as the other recipes: `x` is `[2N, 28, 28, 1]`, rows
 * `0..N-1` view 1, rows `N..2N-1` view 2.
 * - **Queries** `q = head(encoder(x))`, `[2N, 64]`: the trained network's forward pass (the step's
 *   `embeddings`).
 * - **Keys** `k = normalize(head_k(encoder_k(x)))`, `[2N, 64]`: the momentum (EMA) copy of encoder
 *   and head (`MomentumEncoder` of `@contrastive/core`), computed when the views are made, i.e.
 *   outside the gradient tape (MoCo's `torch.no_grad()`), with the key weights of before the step.
 * - **Loss**: InfoNCE at temperature τ (`infoNceLoss` of `@contrastive/losses` with
 *   `inBatchNegatives: false`, cosine critic): query `q1_i` (view 1) has the positive `k2_i` (the
 *   other view through the key encoder), query `q2_i` has the positive `k1_i`, and the negatives of
 *   every query are the `K` keys of the queue only — MoCo's `logits = [q·k₊, q·queue] / τ`, i.e.
 *   `L = 1/2N Σ_i −log( exp(q_i·k₊(i)/τ) / (exp(q_i·k₊(i)/τ) + Σ_j exp(q_i·queue_j/τ)) )`.
 *   This is the **symmetric** form (`ctr(q1, k2)` and `ctr(q2, k1)`, their mean), as MoCo v3 and the
 *   "symmetrized MoCo v2" of SimSiam (Chen & He 2021): the training loop forwards both views
 *   through the query encoder anyway, so both directions come at no extra forward pass. (It is
 *   not `infoNceLoss`'s `symmetric` option, which adds a keys → queries direction.)
 * - **After the optimizer step**: the key encoder moves, `θ_k ← m θ_k + (1 − m) θ_q` over every
 *   weight of encoder and head; then the step's `2N` L2-normalised keys (view 1 then view 2) are
 *   enqueued (`MemoryQueue` of `@contrastive/samplers`: a FIFO ring buffer, the oldest keys
 *   overwritten once it wraps).
 *
 * **Queue start.** As the official code (`queue = normalize(randn(dim, K))`), the queue starts full
 * of `K` random unit vectors (`MemoryQueue`'s `initialize: 'random'`, drawn from the run's
 * `context.rng`), which serve as negatives until real keys have replaced them after `K / 2N`
 * steps; so every query always has `K` negatives (an empty queue would leave the first step
 * without any negative, i.e. a zero loss).
 *
 * **Hyper-parameters** (`defaults`): τ 0.2 (MoCo v2), m 0.99, K 4096. MoCo v2 used m 0.999 and
 * K 65536 on ImageNet (1.28 M images, ~5000 steps per epoch); this recipe's runs have a few
 * dozen steps per epoch and 8000 or 60000 images, so a faster key encoder (0.99: a key encoder
 * ~100 steps behind) and a queue of 4096 keys (8 steps of 512 keys at batch 256, half of mnist10k)
 * keep the keys consistent. The rest follows RECIPE.md, not the paper: the 128-128-64 head (not
 * 2048-d), Adam 1e-3 (not SGD 0.03 with a cosine schedule), RECIPE.md's crop/jitter/noise views
 * (no blur, no grey-scale), and no shuffling BN (the CNN has no batch norm).
 *
 * **Checkpoints.** `hooks.saveState` stores the key encoder's weights under `'moco.keyEncoder'` and
 * the queue (keys, labels, `[pointer, length, next label]`) under `'moco.queue'`, so a `--resume`d
 * run continues exactly. Resuming a checkpoint without them (another recipe's) throws `STATE`
 * before the first epoch.
 *
 * Options (`RecipeOptions`): `temperature` (> 0), `momentum` in `[0, 1)`, `queueSize` an integer
 * `>= 2 · batchSize` (at least the keys of one step); the CLI passes them as `--temperature`,
 * `--momentum`, `--queue-size` (e.g. to compare K 4096 with K 256).
 *
 * `plan` throws `ContrastiveError` `INVALID_ARGUMENT` naming `options.queueSize`,
 * `options.momentum` or `options.temperature` when out of range, before building anything.
 *
 * @example
 * ```ts
 * const outcome = await runRecipe(mocoRecipe, {
 *   dataset: await loadMnist({ trainLimit: 256 }), flip: false, epochs: 1, batchSize: 64, seed: 0,
 *   learningRate: 1e-3, options: { queueSize: 512 }, runDir: '/tmp/moco', resume: false,
 *   progress: createProgress({ quiet: true }),
 * });
 * console.log(outcome.learned.knnTop1); // e.g. 0.8
 * ```
 * @category Recipes
 */
export const mocoRecipe: Recipe = {
  name: 'moco',
  title: 'MoCo v2 (He et al. 2019; Chen et al. 2020)',
  defaults: { temperature: 0.2, momentum: 0.99, queueSize: 4096 },
  plan: (context: RecipeContext) => mocoPlan(context),
};

/** The plan of {@link mocoRecipe}: validates the options, then builds the key encoder and queue. */
function mocoPlan(context: RecipeContext): RecipePlan {
  const { temperature, momentum, queueSize } = context.options;
  const keysPerStep = 2 * context.batchSize;
  assertNumber(temperature, 'options.temperature', FN, { min: 0, exclusiveMin: true });
  assertNumber(momentum, 'options.momentum', FN, { min: 0, max: 1, exclusiveMax: true });
  assertNumber(queueSize, 'options.queueSize', FN, { integer: true, min: keysPerStep });

  const loss = infoNceLoss({ temperature, inBatchNegatives: false });
  const makeViews = twoViews(context.augmentation, 'instance');
  const keyEncoder = new MomentumEncoder(context.encoder, { head: context.head, momentum });
  let queue: MemoryQueue;
  try {
    queue = new MemoryQueue({ size: queueSize, dim: context.head.outputDim, initialize: 'random', rng: context.rng });
  } catch (error) {
    keyEncoder.dispose();
    throw error;
  }

  /** `[2N, d]` unit keys of the step in progress (view 1, then view 2); made in `views`, enqueued in `afterStep`. */
  let stepKeys: tf.Tensor2D | undefined;
  /** Whether `loadState` restored a checkpoint's MoCo state. */
  let restored = false;
  let begun = false;
  const dropStepKeys = (): void => {
    stepKeys?.dispose();
    stepKeys = undefined;
  };

  const views: ViewGenerator = async (batch, rng) => {
    const viewBatch = await makeViews(batch, rng);
    dropStepKeys();
    try {
      stepKeys = tf.tidy(() => l2Normalize(keyEncoder.apply(viewBatch.inputs)));
    } catch (error) {
      tf.dispose([viewBatch.inputs, viewBatch.labels]);
      throw error;
    }
    return viewBatch;
  };

  const requireStepKeys = (member: string, rows: number): tf.Tensor2D => {
    if (stepKeys === undefined || stepKeys.shape[0] !== rows) {
      throw new ContrastiveError(
        'STATE',
        `'${FN}' hooks.${member}: no keys for this step's ${rows} views (the recipe's 'views' computes them; use the plan's views with its hooks)`,
      );
    }
    return stepKeys;
  };

  const hooks: TrainHooks = {
    lossInput: ({ embeddings, labels }) => {
      const rows = embeddings.shape[0];
      const keys = requireStepKeys('lossInput', rows);
      const half = rows / 2;
      // Query i's positive is the other view's key: rows [k2; k1], then the queue (negatives only).
      const swap = tf.concat([tf.range(half, rows, 1, 'int32'), tf.range(0, half, 1, 'int32')]);
      const positives = tf.gather(keys, swap) as tf.Tensor2D;
      const negatives = queue.reference();
      return {
        embeddings,
        labels,
        ref: {
          embeddings: tf.concat([positives, negatives.embeddings]) as tf.Tensor2D,
          labels: tf.concat([labels, negatives.labels]) as tf.Tensor1D,
        },
      };
    },
    afterStep: ({ inputs }) => {
      const keys = requireStepKeys('afterStep', inputs.shape[0] as number);
      keyEncoder.update();
      queue.enqueue(keys);
      dropStepKeys();
    },
    saveState: () => ({ [MOCO_KEY_ENCODER_STATE]: keyEncoder.getWeights(), [MOCO_QUEUE_STATE]: queue.state() }),
    loadState: (state) => {
      const weights = state[MOCO_KEY_ENCODER_STATE];
      const queued = state[MOCO_QUEUE_STATE];
      if (weights === undefined || queued === undefined) {
        throw new ContrastiveError(
          'INVALID_ARGUMENT',
          `Argument 'state' passed to '${FN}' hooks.loadState must hold '${MOCO_KEY_ENCODER_STATE}' and '${MOCO_QUEUE_STATE}', got ${Object.keys(state).join(', ') || 'nothing'}`,
        );
      }
      keyEncoder.setWeights(weights);
      queue.load(queued);
      restored = true;
    },
  };

  return {
    loss,
    views,
    hooks,
    beginEpoch: (epoch) => {
      if (!begun && epoch > 0 && !restored) {
        throw new ContrastiveError(
          'STATE',
          `'${FN}' resumes at epoch ${epoch} from a checkpoint without MoCo state ('${MOCO_KEY_ENCODER_STATE}', '${MOCO_QUEUE_STATE}'): was it written by another recipe?`,
        );
      }
      begun = true;
    },
    dispose: () => {
      dropStepKeys();
      queue.dispose();
      keyEncoder.dispose();
    },
  };
}
