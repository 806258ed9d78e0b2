import * as tf from '@tensorflow/tfjs-core';
import {
  ContrastiveError,
  assertLabels,
  assertNumber,
  assertOneOf,
  assertTensor,
  viewLabels,
  type Batch,
  type Labels,
  type Rng,
  type ViewGenerator as TrainingViewGenerator,
} from '@contrastive/core';
import type { Augmentation } from './augmentation.js';
import { type Interval, assertImages, assertInterval, assertObject, assertProbability, assertRng, assertSize, describeValue } from './checks.js';
import { type RandomResizedCrop, cropAndResizeExact, cropBoxes, randomResizedCrop } from './random-resized-crop.js';

/** Ratio of SwAV's local to global crop side (96 / 224), used for the default `localSize`. */
const LOCAL_SIDE_RATIO = 96 / 224;

/** Options of {@link multiCrop}; defaults are SwAV's (Caron et al. 2020). @category Views */
export interface MultiCropOptions {
  /** Number of global (large) crops per image, an integer >= 1. @defaultValue 2 */
  readonly globalCrops?: number;
  /** Output `[height, width]` of the global crops (SwAV: 224x224). @defaultValue the input's `[h, w]` */
  readonly globalSize?: readonly [height: number, width: number];
  /**
   * Area range of the global crops as a fraction of the image, inside (0, 1] (SwAV `[0.14, 1]`;
   * DINO uses `[0.4, 1]`).
   * @defaultValue `[0.14, 1]`
   */
  readonly globalScale?: Interval;
  /** Number of local (small) crops per image, an integer >= 0. @defaultValue 6 */
  readonly localCrops?: number;
  /**
   * Output `[height, width]` of the local crops (SwAV: 96x96 for 224x224 globals).
   * @defaultValue `globalSize` scaled by 96/224 and rounded, each side >= 1 (12x12 for 28x28)
   */
  readonly localSize?: readonly [height: number, width: number];
  /** Area range of the local crops, inside (0, 1] (SwAV `[0.05, 0.14]`). @defaultValue `[0.05, 0.14]` */
  readonly localScale?: Interval;
  /** Aspect-ratio range of every crop, ends > 0 (torchvision's `RandomResizedCrop`). @defaultValue `[3/4, 4/3]` */
  readonly ratio?: Interval;
  /**
   * Probability of mirroring each crop left-right inside the crop, in [0, 1]. SwAV flips with
   * probability 0.5 after cropping: set 0.5 here, or put `horizontalFlip()` in `augmentation`.
   * @defaultValue 0
   */
  readonly flipProbability?: number;
  /** Applied to every crop after cropping (SwAV: flip, colour distortion, blur). @defaultValue none */
  readonly augmentation?: Augmentation;
}

/**
 * The views made by {@link MultiCrop.generate}; every tensor is new and owned by the caller.
 * @category Views
 */
export interface MultiCropViews {
  /** `globalCrops` tensors, each `[n, gh, gw, c]` float32: entry `v` holds view `v` of images `0..n-1`. */
  readonly global: tf.Tensor4D[];
  /** `localCrops` tensors, each `[n, lh, lw, c]` float32 (empty when `localCrops = 0`). */
  readonly local: tf.Tensor4D[];
}

/** Options of {@link MultiCrop.toViewGenerator}. @category Views */
export interface MultiCropViewGeneratorOptions {
  /**
   * Labels of the stacked global views: `'views'` = `viewLabels(n, globalCrops)` (self-supervised:
   * the views of a sample are its positives), `'samples'` = the batch's labels repeated
   * `globalCrops` times (supervised, SupCon).
   * @defaultValue 'views'
   */
  readonly labels?: 'views' | 'samples';
}

/**
 * The multi-crop view generator returned by {@link multiCrop}.
 * @category Views
 */
export interface MultiCrop {
  /** `'multiCrop'`. */
  readonly name: string;
  /** Number of global crops per image. */
  readonly globalCrops: number;
  /** Number of local crops per image. */
  readonly localCrops: number;
  /**
   * Crop (and augment) every image `globalCrops + localCrops` times.
   *
   * Draw order: the global crops as one view-major batch of `globalCrops n` rows (row `v n + i` is
   * view `v` of image `i`): `randomResizedCrop`'s 5 uniforms per row for rows `0 .. globalCrops n - 1`,
   * then `augmentation`'s draws for that batch; then the same for the local crops (`localCrops n`
   * rows; no draws when `localCrops = 0`).
   *
   * @param images - `[n, h, w, c]` float32 in [0, 1] (borrowed).
   * @param rng - advanced by the draws above.
   * @returns new tensors owned by the caller (see {@link MultiCropViews}); values stay in the input's
   *   range unless `augmentation` leaves it.
   * @throws `ContrastiveError` for bad images or an `rng` that is not an `Rng`, or when `augmentation`
   *   does not return one image per row.
   */
  generate(images: tf.Tensor4D, rng: Rng): MultiCropViews;
  /**
   * Labels of all views stacked view-major, globals first: `viewLabels(n, globalCrops + localCrops)`.
   * @param n - number of images, a positive integer.
   * @returns a new `[(globalCrops + localCrops) n]` int32 tensor owned by the caller.
   */
  labels(n: number): Labels;
  /**
   * The global crops as a training-loop view generator (core's `ViewGenerator`): the batch's
   * `inputs` become the global views stacked view-major (`[globalCrops n, gh, gw, c]`), the labels
   * `viewLabels(n, globalCrops)` or the sample labels repeated. **Local crops are not made** (the
   * loop's batch holds one tensor and the crops differ in size), so its draws are only the global
   * part of {@link MultiCrop.generate}'s; to train on local crops, call `generate` in a custom
   * step (see {@link multiCrop}).
   * @param options - which labels.
   * @returns a function `(batch, rng) => batch` that never disposes its input and returns new tensors.
   * @throws `ContrastiveError` (from the returned function) when `batch.inputs` is not
   *   `[n, h, w, c]` float32, with `'samples'` `batch.labels` is not `[n]` int32, or `rng` is not an
   *   `Rng`.
   */
  toViewGenerator(options?: MultiCropViewGeneratorOptions): TrainingViewGenerator;
}

interface CropSet {
  readonly count: number;
  readonly sampler: RandomResizedCrop;
}

function defaultLocalSize([height, width]: readonly [number, number]): [number, number] {
  return [Math.max(1, Math.round(height * LOCAL_SIDE_RATIO)), Math.max(1, Math.round(width * LOCAL_SIDE_RATIO))];
}

/**
 * `views` crops of every image, view-major (row `v n + i` is view `v` of image `i`), then the
 * augmentation on all of them as one batch. Exactly randomResizedCrop({ scale, ratio,
 * flipProbability, size }).apply on the view-major repetition of the batch, without repeating it:
 * box `r` reads image `r mod n`. `stacked` returns one `[views n, ...]` tensor, otherwise one
 * `[n, ...]` tensor per view (cropped view by view when there is no augmentation: slicing a stacked
 * batch apart is slower on wasm than cropping each view on its own).
 */
function cropViews(
  images: tf.Tensor4D,
  crops: CropSet,
  size: readonly [number, number],
  augmentation: Augmentation | undefined,
  rng: Rng,
  fn: string,
  stacked: boolean,
): tf.Tensor4D[] {
  const n = images.shape[0];
  const rows = crops.count * n;
  const boxes = cropBoxes(crops.sampler.sample(rows, rng));
  const flat = new Float32Array(rows * 4);
  const source = new Int32Array(rows);
  boxes.forEach((box, row) => {
    flat.set(box, row * 4);
    source[row] = row % n;
  });
  // The exact crop of randomResizedCrop: bit-identical on every backend.
  const crop = (start: number, count: number): tf.Tensor4D =>
    cropAndResizeExact(images, flat.subarray(start * 4, (start + count) * 4), source.subarray(start, start + count), size);
  // One tidy: intermediates (also those of an augmentation that throws) are freed.
  return tf.tidy(() => {
    if (augmentation === undefined) {
      return stacked ? [crop(0, rows)] : Array.from({ length: crops.count }, (_, view) => crop(view * n, n));
    }
    const cropped = crop(0, rows);
    const out = augmentation.apply(cropped, rng) as unknown;
    if (!(out instanceof tf.Tensor) || out.rank !== 4 || out.shape[0] !== rows || out.dtype !== 'float32') {
      const got = out instanceof tf.Tensor ? `${out.dtype} [${out.shape.join(', ')}]` : describeValue(out);
      throw new ContrastiveError(
        'SHAPE_MISMATCH',
        `The augmentation '${augmentation.name}' applied by '${fn}' to ${rows} crops must return a [${rows}, h, w, c] float32 tensor, got ${got}`,
      );
    }
    const augmented = out as tf.Tensor4D;
    return stacked || crops.count === 1 ? [augmented] : tf.split(augmented, crops.count, 0);
  });
}

/**
 * Multi-crop views (Caron et al. 2020, "Unsupervised Learning of Visual Features by Contrasting
 * Cluster Assignments", SwAV; also DINO, Caron et al. 2021): every image gives `globalCrops`
 * large crops at `globalSize` and `localCrops` small crops at `localSize`, each an independent
 * {@link randomResizedCrop} (area from `globalScale` / `localScale`, bilinear) followed by
 * `augmentation`. Small crops add views at little cost because they are cheap to encode.
 *
 * How a loss consumes views of different sizes: encode each size group as one batch — the globals
 * stacked view-major (`tf.concat(views.global)`, `[G n, gh, gw, c]`), the locals likewise
 * (`[L n, lh, lw, c]`) — and concatenate the embeddings globals first: `[(G + L) n, d]` with
 * labels `multiCrop.labels(n)` = `viewLabels(n, G + L)` from `@contrastive/core` (the sample index
 * repeated, so all views of a sample are positives of each other). The globals alone take
 * `viewLabels(n, G)`. SwAV/DINO-style losses that predict from every view but take targets from
 * the globals only read the first `G n` rows as targets.
 *
 * The global views equal `viewGenerator({ augmentation: compose([randomResizedCrop({ scale:
 * globalScale, ratio, flipProbability, size: globalSize }), augmentation]), views: G })` with the
 * same `rng`, and the local views continue the stream in the same way.
 *
 * @param options - crop counts, sizes and scales; defaults are SwAV's 2x224 + 6x96 recipe with
 *   sizes taken from the input.
 * @returns a {@link MultiCrop}.
 * @throws `ContrastiveError` `INVALID_ARGUMENT` when a count is not an integer (`globalCrops >= 1`,
 *   `localCrops >= 0`), a scale leaves (0, 1], a ratio end is not > 0, an interval has low > high,
 *   `flipProbability` leaves [0, 1], a size is not two positive integers, or `augmentation` is not
 *   an augmentation.
 * @example
 * ```ts
 * const crops = multiCrop({ globalCrops: 2, localCrops: 6, augmentation: colorJitter() });
 * const images = tf.zeros([4, 28, 28, 1]) as tf.Tensor4D;
 * const views = crops.generate(images, new Rng(0));
 * console.log(views.global.length, views.global[0].shape); // 2 [4, 28, 28, 1]
 * console.log(views.local.length, views.local[0].shape);   // 6 [4, 12, 12, 1]
 * const globals = tf.concat(views.global);                 // [8, 28, 28, 1], labels viewLabels(4, 2)
 * crops.labels(4).print();                                 // [0, 1, 2, 3, 0, 1, 2, 3, ... ] (32 entries)
 * ```
 * @category Views
 */
export function multiCrop(options: MultiCropOptions = {}): MultiCrop {
  const fn = 'multiCrop';
  assertObject(options, 'options', fn);
  const globalCrops = options.globalCrops ?? 2;
  const localCrops = options.localCrops ?? 6;
  const globalScale = options.globalScale ?? [0.14, 1];
  const localScale = options.localScale ?? [0.05, 0.14];
  const ratio = options.ratio ?? [3 / 4, 4 / 3];
  const flipProbability = options.flipProbability ?? 0;
  assertNumber(globalCrops, 'globalCrops', fn, { integer: true, min: 1 });
  assertNumber(localCrops, 'localCrops', fn, { integer: true, min: 0 });
  assertInterval(globalScale, 'globalScale', fn, { min: 0, exclusiveMin: true, max: 1 });
  assertInterval(localScale, 'localScale', fn, { min: 0, exclusiveMin: true, max: 1 });
  assertInterval(ratio, 'ratio', fn, { min: 0, exclusiveMin: true });
  assertProbability(flipProbability, 'flipProbability', fn);
  if (options.globalSize !== undefined) assertSize(options.globalSize, 'globalSize', fn);
  if (options.localSize !== undefined) assertSize(options.localSize, 'localSize', fn);
  const augmentation = options.augmentation;
  if (augmentation !== undefined) {
    const candidate = augmentation as Partial<Augmentation> | null;
    if (candidate === null || typeof candidate !== 'object' || typeof candidate.apply !== 'function') {
      throw new ContrastiveError(
        'INVALID_ARGUMENT',
        `Argument 'augmentation' passed to '${fn}' must be an Augmentation (with an apply method), got ${describeValue(augmentation)}`,
      );
    }
  }
  const global: CropSet = { count: globalCrops, sampler: randomResizedCrop({ scale: globalScale, ratio, flipProbability }) };
  const local: CropSet = { count: localCrops, sampler: randomResizedCrop({ scale: localScale, ratio, flipProbability }) };
  const sizes = (images: tf.Tensor4D): { globalSize: readonly [number, number]; localSize: readonly [number, number] } => {
    const globalSize = options.globalSize ?? [images.shape[1], images.shape[2]];
    return { globalSize, localSize: options.localSize ?? defaultLocalSize(globalSize) };
  };

  return {
    name: fn,
    globalCrops,
    localCrops,
    generate(images: tf.Tensor4D, rng: Rng): MultiCropViews {
      const where = `${fn}.generate`;
      assertImages(images, where);
      assertRng(rng, where);
      const { globalSize, localSize } = sizes(images);
      const globalViews = cropViews(images, global, globalSize, augmentation, rng, where, false);
      if (localCrops === 0) return { global: globalViews, local: [] };
      try {
        return { global: globalViews, local: cropViews(images, local, localSize, augmentation, rng, where, false) };
      } catch (error) {
        tf.dispose(globalViews);
        throw error;
      }
    },
    labels(n: number): Labels {
      assertNumber(n, 'n', `${fn}.labels`, { integer: true, min: 1 });
      return viewLabels(n, globalCrops + localCrops);
    },
    toViewGenerator(generatorOptions: MultiCropViewGeneratorOptions = {}): TrainingViewGenerator {
      const where = `${fn}.toViewGenerator`;
      assertObject(generatorOptions, 'options', where);
      const labels = generatorOptions.labels ?? 'views';
      assertOneOf(labels, ['views', 'samples'] as const, 'labels', where);
      return (batch: Batch, rng: Rng): Batch => {
        const call = `${fn}.viewGenerator`;
        if (batch === null || typeof batch !== 'object') {
          throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'batch' passed to '${call}' must be a Batch { inputs, labels }, got ${describeValue(batch)}`);
        }
        const inputs = batch.inputs;
        assertTensor(inputs, 4, 'batch.inputs', call, 'float32');
        if (inputs.shape.some((size) => size < 1)) {
          throw new ContrastiveError(
            'SHAPE_MISMATCH',
            `Argument 'batch.inputs' passed to '${call}' must be [n, h, w, c] with every dimension >= 1, got [${inputs.shape.join(', ')}]`,
          );
        }
        const images = inputs as tf.Tensor4D;
        const n = images.shape[0];
        if (labels === 'samples') assertLabels(batch.labels, n, 'batch.labels', call);
        assertRng(rng, call);
        const [stacked] = cropViews(images, global, sizes(images).globalSize, augmentation, rng, call, true) as [tf.Tensor4D];
        const viewLabelsTensor =
          labels === 'views'
            ? viewLabels(n, globalCrops)
            : globalCrops === 1
              ? tf.clone(batch.labels)
              : (tf.concat(new Array<Labels>(globalCrops).fill(batch.labels), 0) as Labels);
        return { inputs: stacked, labels: viewLabelsTensor };
      };
    },
  };
}
