import * as tf from '@tensorflow/tfjs-core';
import { assertNumber, assertOneOf, type Rng } from '@contrastive/core';
import { type Augmentation, compose } from './augmentation.js';
import { gaussianBlur } from './blur.js';
import { assertImages, assertObject, assertRng, assertSize } from './checks.js';
import { colorJitter } from './color-jitter.js';
import { randomGrayscale, solarize } from './photometric.js';
import { randomResizedCrop } from './random-resized-crop.js';

/** The methods with a view preset. @category Views */
export type ViewPresetName = 'simclr' | 'mocoV2' | 'byol';

/** Options of {@link viewPreset} and the per-method factories. @category Views */
export interface ViewPresetOptions {
  /**
   * Output `[height, width]` of every view, positive integers. Sides of at most 64 pixels select the
   * small-image parameters (CIFAR-10 / MNIST recipes: no blur), larger sides the ImageNet ones.
   */
  readonly size: readonly [height: number, width: number];
  /**
   * View strength `s` in [0, 1] (InfoMin, Tian et al. 2020: the views' strength decides what the
   * representation keeps). Every parameter moves linearly from the identity (`s = 0`: the whole
   * image resized, no colour change, no blur) to the preset's published value (`s = 1`):
   * probabilities `p·s`; jitter magnitudes `m·s` (brightness/contrast/saturation factors in
   * `[1 − m s, 1 + m s]`, hue in `[−h s, h s]`); crop area `[1 − s (1 − a_min), 1]`; aspect ratio
   * `[r_min^s, r_max^s]`; the blur's and solarization's probabilities `p·s`.
   * @defaultValue 1
   */
  readonly strength?: number;
}

/** The numbers a preset uses at its strength, for reports. @category Views */
export interface ViewPresetParameters {
  /** Random resized crop area range and aspect-ratio range, and the flip probability. */
  readonly crop: { readonly scale: readonly [number, number]; readonly ratio: readonly [number, number]; readonly flipProbability: number };
  /** Colour jitter: probability and the four factor ranges (hue as a shift). */
  readonly jitter: {
    readonly probability: number;
    readonly brightness: readonly [number, number];
    readonly contrast: readonly [number, number];
    readonly saturation: readonly [number, number];
    readonly hue: readonly [number, number];
  };
  /** Probability of converting to grey. */
  readonly grayscale: number;
  /** Gaussian blur probability per view (0 = none) and its sigma range. */
  readonly blur: { readonly probability: readonly number[]; readonly sigma: readonly [number, number] };
  /** Solarization probability per view (0 = none), threshold 0.5. */
  readonly solarize: readonly number[];
}

/** A preset returned by {@link viewPreset}. @category Views */
export interface ViewPreset {
  /** `'simclr'`, `'mocoV2'` or `'byol'`, with `@small` or `@imagenet`. */
  readonly name: string;
  /** Views per sample (2). */
  readonly views: number;
  /** The pipeline of every view (BYOL's two differ). */
  readonly pipelines: readonly Augmentation[];
  /** The parameters at this strength. */
  readonly parameters: ViewPresetParameters;
  /**
   * The views of a batch, view-major.
   * @param images - `[n, h, w, c]` float32 in [0, 1] (borrowed); grey images (c = 1) skip
   *   saturation, hue and grayscale, which are no-ops there.
   * @param rng - advanced by view 1's draws over the batch, then view 2's.
   * @returns `[2 n, height, width, c]` float32 in [0, 1], owned by the caller: rows `0..n-1` view 1,
   *   rows `n..2n-1` view 2; labels `viewLabels(n, 2)` of `@contrastive/core`.
   * @throws `ContrastiveError` for bad images (also 2 or more than 4 channels) or an `rng` that is
   *   not an `Rng`.
   */
  generate(images: tf.Tensor4D, rng: Rng): tf.Tensor4D;
}

interface Recipe {
  readonly scale: number;
  readonly jitter: readonly [brightness: number, contrast: number, saturation: number, hue: number];
  readonly blur: readonly [number, number];
  readonly solarize: readonly [number, number];
}

/**
 * The published parameters: SimCLR (Chen et al. 2020, appendix A: ImageNet s = 1 with blur 0.5;
 * CIFAR-10 s = 0.5, no blur), MoCo v2 (Chen, Fan, Girshick & He 2020: crop [0.2, 1], jitter
 * 0.4/0.4/0.4/0.1, blur 0.5), BYOL (Grill et al. 2020, table 6: jitter 0.4/0.4/0.2/0.1, blur 1.0/0.1,
 * solarize 0/0.2; small images as solo-learn's CIFAR recipe: no blur).
 */
const RECIPES: Record<ViewPresetName, { small: Recipe; imagenet: Recipe }> = {
  simclr: {
    small: { scale: 0.08, jitter: [0.4, 0.4, 0.4, 0.1], blur: [0, 0], solarize: [0, 0] },
    imagenet: { scale: 0.08, jitter: [0.8, 0.8, 0.8, 0.2], blur: [0.5, 0.5], solarize: [0, 0] },
  },
  mocoV2: {
    small: { scale: 0.2, jitter: [0.4, 0.4, 0.4, 0.1], blur: [0, 0], solarize: [0, 0] },
    imagenet: { scale: 0.2, jitter: [0.4, 0.4, 0.4, 0.1], blur: [0.5, 0.5], solarize: [0, 0] },
  },
  byol: {
    small: { scale: 0.08, jitter: [0.4, 0.4, 0.2, 0.1], blur: [0, 0], solarize: [0, 0.2] },
    imagenet: { scale: 0.08, jitter: [0.4, 0.4, 0.2, 0.1], blur: [1, 0.1], solarize: [0, 0.2] },
  },
};

const RATIO: readonly [number, number] = [3 / 4, 4 / 3];
const SIGMA: readonly [number, number] = [0.1, 2];

function factorRange(magnitude: number): [number, number] {
  return [Math.max(0, 1 - magnitude), 1 + magnitude];
}

/**
 * The two-view augmentation of SimCLR, MoCo v2 or BYOL, at small (≤ 64 px) or ImageNet resolution,
 * with one `strength` knob (InfoMin, Tian et al. 2020). Each view: random resized crop to `size`
 * (area `[a_min, 1]`, ratio `[3/4, 4/3]`) with a horizontal flip (p 0.5); colour jitter (p 0.8,
 * torchvision's semantics: random order of brightness, contrast, saturation, hue per image, contrast
 * towards the luma mean, clamped after each step); grayscale (p 0.2); Gaussian
 * blur (σ ∈ [0.1, 2], kernel 10 % of the side; ImageNet only); solarization (BYOL's second view).
 *
 * | preset | crop area | jitter b/c/s/h | blur p (view 1, view 2) | solarize p |
 * |---|---|---|---|---|
 * | `simclr` small | [0.08, 1] | 0.4/0.4/0.4/0.1 | – | – |
 * | `simclr` ImageNet | [0.08, 1] | 0.8/0.8/0.8/0.2 | 0.5, 0.5 | – |
 * | `mocoV2` small | [0.2, 1] | 0.4/0.4/0.4/0.1 | – | – |
 * | `mocoV2` ImageNet | [0.2, 1] | 0.4/0.4/0.4/0.1 | 0.5, 0.5 | – |
 * | `byol` small | [0.08, 1] | 0.4/0.4/0.2/0.1 | – | 0, 0.2 |
 * | `byol` ImageNet | [0.08, 1] | 0.4/0.4/0.2/0.1 | 1.0, 0.1 | 0, 0.2 |
 *
 * Draw order: view 1's pipeline over the batch (stage by stage, see `compose`), then view 2's.
 *
 * @param name - `'simclr'`, `'mocoV2'` or `'byol'`.
 * @param options - output `size` and `strength`; see {@link ViewPresetOptions}.
 * @returns a {@link ViewPreset}.
 * @throws `ContrastiveError` `INVALID_ARGUMENT` for an unknown name, a bad size or a strength
 *   outside [0, 1].
 * @example
 * ```ts
 * const views = viewPreset('simclr', { size: [28, 28] });
 * const batch = views.generate(tf.zeros([256, 28, 28, 1]) as tf.Tensor4D, new Rng(0));
 * console.log(batch.shape, views.parameters.crop.scale); // [512, 28, 28, 1] [0.08, 1]
 * ```
 * @category Views
 */
export function viewPreset(name: ViewPresetName, options: ViewPresetOptions): ViewPreset {
  const fn = 'viewPreset';
  assertOneOf(name, ['simclr', 'mocoV2', 'byol'] as const, 'name', fn);
  assertObject(options, 'options', fn, '{ size, strength? }');
  assertSize(options.size, 'size', fn);
  const size: readonly [number, number] = [options.size[0], options.size[1]];
  const strength = options.strength ?? 1;
  assertNumber(strength, 'strength', fn, { min: 0, max: 1 });
  const resolution = Math.max(size[0], size[1]) <= 64 ? 'small' : 'imagenet';
  const recipe = RECIPES[name][resolution];
  const [b, c, s, h] = recipe.jitter;
  const parameters: ViewPresetParameters = {
    crop: {
      scale: [recipe.scale + (1 - strength) * (1 - recipe.scale), 1],
      ratio: [RATIO[0] ** strength, RATIO[1] ** strength],
      flipProbability: 0.5 * strength,
    },
    jitter: {
      probability: 0.8 * strength,
      brightness: factorRange(b * strength),
      contrast: factorRange(c * strength),
      saturation: factorRange(s * strength),
      hue: [-h * strength, h * strength],
    },
    grayscale: 0.2 * strength,
    blur: { probability: recipe.blur.map((p) => p * strength), sigma: SIGMA },
    solarize: recipe.solarize.map((p) => p * strength),
  };
  const pipeline = (view: number): Augmentation => {
    const stages: Augmentation[] = [
      randomResizedCrop({ size, scale: parameters.crop.scale, ratio: parameters.crop.ratio, flipProbability: parameters.crop.flipProbability }),
      colorJitter({
        probability: parameters.jitter.probability,
        brightness: parameters.jitter.brightness,
        contrast: parameters.jitter.contrast,
        saturation: parameters.jitter.saturation,
        hue: parameters.jitter.hue,
        order: 'random',
        contrastMean: 'luma',
        clamp: 'each',
      }),
      randomGrayscale({ probability: parameters.grayscale }),
    ];
    const blurProbability = parameters.blur.probability[view] ?? 0;
    if (blurProbability > 0) stages.push(gaussianBlur({ probability: blurProbability, sigma: parameters.blur.sigma }));
    const solarizeProbability = parameters.solarize[view] ?? 0;
    if (solarizeProbability > 0) stages.push(solarize({ probability: solarizeProbability, threshold: 0.5 }));
    return compose(stages);
  };
  const pipelines = [pipeline(0), pipeline(1)];
  return {
    name: `${name}@${resolution}`,
    views: 2,
    pipelines,
    parameters,
    generate(images: tf.Tensor4D, rng: Rng): tf.Tensor4D {
      assertImages(images, `${fn}('${name}').generate`);
      assertRng(rng, `${fn}('${name}').generate`);
      const first = (pipelines[0] as Augmentation).apply(images, rng);
      let second: tf.Tensor4D | undefined;
      try {
        second = (pipelines[1] as Augmentation).apply(images, rng);
        return tf.concat([first, second], 0);
      } finally {
        tf.dispose([first, ...(second === undefined ? [] : [second])]);
      }
    },
  };
}
