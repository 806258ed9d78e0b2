import * as tf from '@tensorflow/tfjs-core';
import { ContrastiveError, assertNumber, assertOneOf, dotProductSimilarity, l2Normalize } from '@contrastive/core';
import type { Loss, LossInput, Rng, StepContext, TrainHooks, ViewGenerator } from '@contrastive/core';
import { viewGenerator } from '@contrastive/augment';
import type { Augmentation } from '@contrastive/augment';
import { nceLoss, supConLoss } from '@contrastive/losses';
import type { NceLoss } from '@contrastive/losses';
import { MemoryBank } from '@contrastive/samplers';
import type { Recipe, RecipeContext, RecipePlan } from './recipe.js';

const FN = 'instdiscRecipe';
/** `TrainState.extra` key of the memory bank (`MemoryBank.state()`: entries and generator). */
const BANK_KEY = 'instdisc.bank';
/** `TrainState.extra` key of the frozen `log Z` (a float32 scalar), once estimated. */
const PARTITION_KEY = 'instdisc.logPartition';

/**
 * The noise draws of one step of {@link instdiscRecipe}, as the official code draws them
 * (`idx = multinomial.draw(B (K + 1))` with uniform unigrams): `negatives` dataset indices per anchor,
 * uniform over the whole bank `[0, bankSize)`, with replacement, the anchor's own index not
 * excluded. Anchor `i`'s draws are entries `i K .. (i + 1) K − 1`, drawn in that order from `rng`
 * (one `rng.choice(bankSize, anchors · negatives, { replace: true })`), so replaying the same
 * generator state gives the same draws.
 *
 * @param rng - the training loop's generator (advanced by `anchors · negatives` draws).
 * @param anchors - batch size `B`, a positive integer.
 * @param negatives - draws per anchor `K`, a positive integer.
 * @param bankSize - number of bank entries `N` (the training set size), a positive integer.
 * @returns `[B K]` int32 dataset indices, anchor-major.
 * @internal
 */
export function drawNoiseIndices(rng: Rng, anchors: number, negatives: number, bankSize: number): Int32Array {
  return rng.choice(bankSize, anchors * negatives, { replace: true });
}

/**
 * `[B K]` int32 anchor of every noise draw (`i` repeated `K` times), the `anchorNeg` of the tuples.
 * @internal
 */
function anchorOfDraws(anchors: number, negatives: number): Int32Array {
  const rows = new Int32Array(anchors * negatives);
  for (let i = 0; i < anchors; i++) rows.fill(i, i * negatives, (i + 1) * negatives);
  return rows;
}

/** One augmented view of every image, labelled by instance: its dataset index (`batch.indices`). */
function oneView(augmentation: Augmentation): ViewGenerator {
  const generator = viewGenerator({ augmentation, views: 1 });
  return (batch, rng) => {
    if (batch.indices === undefined) {
      throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'data' passed to '${FN}' must give each batch its dataset 'indices' (one memory-bank entry per image)`);
    }
    return { inputs: generator.generate(batch.inputs as tf.Tensor4D, rng), labels: tf.clone(batch.indices) };
  };
}

/**
 * Instance discrimination (Wu, Xiong, Yu & Lin 2018, "Unsupervised Feature Learning via
 * Non-Parametric Instance Discrimination") with the NCE approximation of its non-parametric
 * softmax, as the official code (`zhirongw/lemniscate.pytorch`, `NCEAverage` + `NCECriterion`) runs
 * it, on the reference CNN and its 128-128-64 head.
 *
 * Every training image `i` is its own class. One augmented view per image (no view pairs) gives
 * `v_i = z_i / ‖z_i‖` (`[B, 64]`, the head output L2-normalised). A memory bank (`MemoryBank` of
 * `@contrastive/samplers`, `[N, 64]`, one entry per training image, `N` = train set size) holds
 * `v̄_j`. Per step:
 *
 * 1. Noise: `K` indices per anchor drawn uniformly from the whole bank with replacement
 *    (`drawNoiseIndices`, from the loop's generator); the positive is the anchor's own entry
 *    `v̄_{idx_i}` (the official code's slot 0).
 * 2. Loss: `nceLoss` of `@contrastive/losses` with the whole bank as `ref` and the draws as `pairs`
 *    tuples, i.e. the official `NCECriterion`: with `P(j | v) = exp(v̄_j · v / τ) / Z` and
 *    `h = P / (P + K / N)`, `L = (1 / B) Σ_i [−log h(i, idx_i) − Σ_k log(1 − h(i, n_ik))]`;
 *    the gradient flows into `v` only (the bank is a constant).
 * 3. `Z` is estimated once, on the first batch, as `N · mean_{i,k} exp(v̄_{n_ik} · v_i / τ)`
 *    (`NceLoss.logPartition`) and frozen for the rest of the run (and checkpointed).
 * 4. After the optimizer step: `v̄_{idx_i} ← normalize(m v̄_{idx_i} + (1 − m) v_i)` (`MemoryBank.update`,
 *    momentum `m`) with the `v_i` of this step's forward pass, as the official backward does.
 *
 * Defaults (the paper's): `τ` 0.07, `m` 0.5, `K` 4096. Choices and deviations:
 * - The bank starts as random unit vectors drawn from `context.rng` (`MemoryBank`'s initialisation);
 *   the official code draws `U(±1/√(d/3))` (norm ≈ 1, not normalised), and an entry's first update
 *   normalises it either way.
 * - `K` is clamped to `N − 1` when the train set is smaller (a `--train-limit` run; logged), so the
 *   noise-to-data ratio `K / N` stays below 1; the paper's regime is `K ≪ N`.
 * - The `Z` estimate averages the `B K` noise draws; the official one also includes the `B`
 *   positives (slot 0). With a random initial bank the positives are as random as the noise, so the
 *   two estimate the same quantity. The official `NCECriterion`'s `eps` (1e-7, next to `K / N`) is
 *   left out.
 * - The loss sees the whole bank (`[B, N]` similarities), with the draws as per-anchor counts: the
 *   same loss as gathering `[B, K + 1, d]` rows, in `O(B N d)` instead of `O(B K d)` (cheaper here,
 *   where `B K ≥ N`; gathering would hold 67 M floats per step at `B` 256).
 *
 * **Objective.** `options.objective: 'softmax'` (CLI `--objective softmax`) replaces steps 1–3 by the
 * paper's exact non-parametric softmax (its Eq. 2; NCE is its approximation for ImageNet's 1.28 M
 * entries): `L = (1 / B) Σ_i −log( exp(v̄_{idx_i} · v_i / τ) / Σ_j exp(v̄_j · v_i / τ) )` over all `N`
 * bank entries — `supConLoss` against the bank with the dataset indices as labels (one positive
 * per view), no noise draws and no `Z`. At this recipe's scale (`N` 8,000 or 60,000) the `[B, N]`
 * logits are cheap, and the NCE's frozen `Z`, estimated on the first batch, does not hold once the
 * bank fills with the reference CNN's bunched features (see the README).
 *
 * Options: `temperature` (> 0), `momentum` (in `[0, 1)`), `negatives` (integer ≥ 1, NCE only),
 * `objective` (`'nce'` or `'softmax'`). The batches
 * must carry their dataset `indices` (the default data source does). Checkpoints hold the bank and
 * `log Z` (`hooks.saveState`), so `--resume` continues exactly.
 *
 * @throws `ContrastiveError` `INVALID_ARGUMENT` from `plan` naming `options.temperature`,
 *   `options.momentum`, `options.negatives` or `options.objective` when out of range; from a step, naming `data` when a
 *   batch has no `indices`.
 * @category Recipes
 */
export const instdiscRecipe: Recipe = {
  name: 'instdisc',
  title: 'InstDisc, memory bank + NCE (Wu et al. 2018)',
  defaults: { temperature: 0.07, momentum: 0.5, negatives: 4096, objective: 'nce' },
  plan: (context: RecipeContext): RecipePlan => {
    const { temperature, momentum, negatives } = context.options;
    const objective = context.options.objective ?? 'nce';
    assertNumber(temperature, 'options.temperature', FN, { min: 0, exclusiveMin: true });
    assertNumber(momentum, 'options.momentum', FN, { min: 0, max: 1, exclusiveMax: true });
    assertNumber(negatives, 'options.negatives', FN, { integer: true, min: 1 });
    assertOneOf(objective, ['nce', 'softmax'] as const, 'options.objective', FN);
    const size = context.dataset.train.count;
    assertNumber(size, 'dataset.train.count', FN, { integer: true, min: 2 });
    const k = Math.min(negatives, size - 1);
    if (objective === 'nce' && k < negatives) context.progress.log(`instdisc: ${negatives} negatives per anchor clamped to ${k} (the train set has ${size} images)`);

    const bank = new MemoryBank({ size, dim: context.head.outputDim, momentum, rng: context.rng });
    const similarity = dotProductSimilarity();
    const estimator: NceLoss = nceLoss({ temperature, noiseProbability: 1 / size, distance: similarity });
    let logPartition: number | undefined;
    let frozen: NceLoss | undefined;
    /** `v` of the current step's forward pass, kept for the bank update in `afterStep`. */
    let pending: tf.Tensor2D | undefined;

    const freeze = (value: number): void => {
      logPartition = value;
      frozen = nceLoss({ temperature, noiseProbability: 1 / size, partition: Math.exp(value), distance: similarity });
    };
    const dropPending = (): void => {
      pending?.dispose();
      pending = undefined;
    };

    // The exact non-parametric softmax: each view against every bank entry, its own entry (same
    // label: its dataset index) the one positive — SupCon's row with a single positive.
    const softmax = objective === 'softmax' ? supConLoss({ temperature, distance: similarity }) : undefined;
    const loss: Loss = softmax ?? {
      name: 'instdiscNce',
      compute(input: LossInput): tf.Scalar {
        if (frozen === undefined) {
          const estimate = estimator.logPartition(input);
          try {
            freeze(estimate.dataSync()[0] as number);
          } finally {
            estimate.dispose();
          }
        }
        return (frozen as NceLoss).compute(input);
      },
    };

    const hooks: TrainHooks = {
      lossInput: ({ embeddings, indices, rng }: StepContext): LossInput => {
        if (indices === undefined) {
          throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'data' passed to '${FN}' must give each batch its dataset 'indices' (one memory-bank entry per image)`);
        }
        const b = embeddings.shape[0];
        const v = l2Normalize(embeddings);
        dropPending();
        pending = tf.keep(v);
        if (softmax !== undefined) return { embeddings: v, labels: indices, ref: bank.reference() };
        const drawn = drawNoiseIndices(rng, b, k, size);
        return {
          embeddings: v,
          labels: indices,
          ref: bank.reference(),
          tuples: {
            kind: 'pairs',
            anchorPos: tf.range(0, b, 1, 'int32') as tf.Tensor1D,
            positive: indices,
            anchorNeg: tf.tensor1d(anchorOfDraws(b, k), 'int32'),
            negative: tf.tensor1d(drawn, 'int32'),
          },
        };
      },
      afterStep: ({ indices }) => {
        const features = pending;
        pending = undefined;
        if (features === undefined || indices === undefined) return;
        try {
          bank.update(indices, features);
        } finally {
          features.dispose();
        }
      },
      saveState: () => ({
        [BANK_KEY]: bank.state(),
        ...(logPartition === undefined ? {} : { [PARTITION_KEY]: [tf.scalar(logPartition)] }),
      }),
      loadState: (state) => {
        const saved = state[BANK_KEY];
        if (saved === undefined) {
          throw new ContrastiveError('CHECKPOINT', `Argument 'state' passed to '${FN}' has no '${BANK_KEY}' (not an instdisc checkpoint)`);
        }
        bank.load(saved);
        const partition = state[PARTITION_KEY]?.[0];
        if (partition !== undefined) freeze(partition.dataSync()[0] as number);
      },
    };

    return {
      loss,
      views: oneView(context.augmentation),
      hooks,
      dispose: () => {
        dropPending();
        bank.dispose();
      },
    };
  },
};
