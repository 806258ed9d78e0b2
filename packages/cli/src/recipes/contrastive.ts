import * as tf from '@tensorflow/tfjs-core';
import { assertNumber, assertOneOf, l2Normalize, viewLabels } from '@contrastive/core';
import type { Loss, LossInput, ViewGenerator } from '@contrastive/core';
import { viewGenerator } from '@contrastive/augment';
import type { Augmentation } from '@contrastive/augment';
import { debiasedContrastiveLoss, hardNegativeLoss, ntXentLoss, supConLoss } from '@contrastive/losses';
import { batchHardMiner, tripletMarginMiner } from '@contrastive/samplers';
import type { Recipe, RecipeContext, RecipePlan } from './recipe.js';

/**
 * Two augmented views of every image of the batch, stacked view-major (rows `0..n-1` view 1,
 * `n..2n-1` view 2, the same image order), labelled by instance (`viewLabels`: the views of an
 * image are each other's only positive) or by class (the image's label on both views).
 * @internal
 */
export function twoViews(augmentation: Augmentation, labels: 'instance' | 'class'): ViewGenerator {
  const generator = viewGenerator({ augmentation, views: 2 });
  return (batch, rng) => {
    const n = batch.labels.shape[0];
    return {
      inputs: generator.generate(batch.inputs as tf.Tensor4D, rng),
      labels: labels === 'instance' ? viewLabels(n, 2) : tf.concat([batch.labels, batch.labels]),
    };
  };
}

function plainPlan(loss: Loss, views: ViewGenerator, extra: Partial<RecipePlan> = {}): RecipePlan {
  return { loss, views, ...extra, dispose: () => undefined };
}

/**
 * SimCLR (Chen et al. 2020) as RECIPE.md runs it: NT-Xent (τ 0.5) over the `2N` projections of two
 * views per image, every other view of the batch a negative.
 * @category Recipes
 */
export const simclrRecipe: Recipe = {
  name: 'simclr',
  title: 'SimCLR (Chen et al. 2020)',
  defaults: { temperature: 0.5 },
  plan: (context: RecipeContext) =>
    plainPlan(ntXentLoss({ temperature: context.options.temperature as number }), twoViews(context.augmentation, 'instance')),
};

/**
 * Supervised contrastive learning (Khosla et al. 2020, `L_out`) as RECIPE.md runs it: τ 0.1, the
 * views labelled by class, every same-class view a positive.
 * @category Recipes
 */
export const supconRecipe: Recipe = {
  name: 'supcon',
  title: 'SupCon (Khosla et al. 2020)',
  defaults: { temperature: 0.1 },
  plan: (context: RecipeContext) =>
    plainPlan(supConLoss({ temperature: context.options.temperature as number }), twoViews(context.augmentation, 'class')),
};

/**
 * `torch.nn.TripletMarginLoss(margin, p = 2)` on L2-normalised rows, averaged over every mined
 * triplet (zeros included): `mean max(0, ‖u_a − u_p + ε‖ − ‖u_a − u_n + ε‖ + margin)`, ε = 1e-6,
 * as RECIPE.md's triplet recipe. The gradient flows into anchor, positive and negative.
 * @internal
 */
export function torchTripletLoss(margin: number): Loss {
  const eps = 1e-6;
  return {
    name: 'torchTripletMarginLoss',
    compute(input: LossInput): tf.Scalar {
      const { embeddings, tuples } = input;
      if (tuples?.kind !== 'triplets') throw new Error('torchTripletMarginLoss needs mined triplets');
      return tf.tidy(() => {
        if (tuples.anchor.shape[0] === 0) return tf.mul(tf.sum(embeddings), 0) as tf.Scalar;
        const unit = l2Normalize(embeddings);
        const anchor = tf.gather(unit, tuples.anchor);
        const distanceTo = (other: tf.Tensor1D): tf.Tensor1D =>
          tf.sqrt(tf.sum(tf.square(tf.add(tf.sub(anchor, tf.gather(unit, other)), eps)), 1)) as tf.Tensor1D;
        return tf.mean(tf.relu(tf.add(tf.sub(distanceTo(tuples.positive), distanceTo(tuples.negative)), margin))) as tf.Scalar;
      });
    },
  };
}

/**
 * Triplet training (Schroff et al. 2015, FaceNet; Hermans et al. 2017, batch-hard) as RECIPE.md
 * runs it: views labelled by class; per anchor the hardest positive and the hardest negative
 * (Euclidean on L2-normalised `z`, no gradient through the mining), or with `miner: 'semihard'`
 * every semi-hard triplet (`d_ap < d_an < d_ap + margin`); `torch.nn.TripletMarginLoss` (margin 0.2).
 * @category Recipes
 */
export const tripletRecipe: Recipe = {
  name: 'triplet',
  title: 'Triplet, batch-hard (Hermans et al. 2017) / semi-hard (Schroff et al. 2015)',
  defaults: { margin: 0.2, miner: 'batch-hard' },
  check: (options) => {
    assertNumber(options.margin, 'options.margin', 'tripletRecipe', { min: 0 });
    assertOneOf(options.miner, ['batch-hard', 'semihard'] as const, 'options.miner', 'tripletRecipe');
  },
  plan: (context: RecipeContext) => {
    const margin = context.options.margin as number;
    const miner = context.options.miner === 'semihard' ? tripletMarginMiner({ margin, type: 'semihard' }) : batchHardMiner();
    return plainPlan(torchTripletLoss(margin), twoViews(context.augmentation, 'class'), { miner });
  },
};

/**
 * Hard negative sampling (Robinson et al. 2021, HCL): NT-Xent whose negatives are reweighted
 * towards the hardest (β 1) with the debiasing of DCL (τ⁺ 0.1), τ 0.5.
 * @category Recipes
 */
export const hclRecipe: Recipe = {
  name: 'hcl',
  title: 'HCL, hard negatives (Robinson et al. 2021)',
  defaults: { temperature: 0.5 },
  plan: (context: RecipeContext) =>
    plainPlan(
      hardNegativeLoss({ temperature: context.options.temperature as number, beta: 1, tauPlus: 0.1 }),
      twoViews(context.augmentation, 'instance'),
    ),
};

/**
 * Debiased contrastive learning (Chuang et al. 2020, DCL): NT-Xent with the negatives' sum
 * corrected for same-class "negatives" (τ⁺ 0.1), τ 0.5.
 * @category Recipes
 */
export const dclRecipe: Recipe = {
  name: 'dcl',
  title: 'DCL, debiased contrastive (Chuang et al. 2020)',
  defaults: { temperature: 0.5 },
  plan: (context: RecipeContext) =>
    plainPlan(debiasedContrastiveLoss({ temperature: context.options.temperature as number, tauPlus: 0.1 }), twoViews(context.augmentation, 'instance')),
};
