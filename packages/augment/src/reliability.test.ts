/**
 * Reliability battery of `@contrastive/augment`: every runtime export of the package index has
 * bad-input cases, each of which must throw a `ContrastiveError` with a stable code naming the
 * argument and leave no tensor behind; fast-check properties over random bad probabilities, sizes,
 * scales, shapes and channel counts; and the documented results: a batch of one is a valid batch,
 * finite images in [0, 1] give finite images of the documented shape on cpu and on wasm, a NaN or
 * ±Infinity pixel is not an error and never reaches another image of the batch, parameters at the
 * edges of their documented ranges stay finite, and time series of length 1 are valid.
 */
import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { Rng, isContrastiveError } from '@contrastive/core';
import type { Batch } from '@contrastive/core';
import { expectNoLeak, expectRejectsContrastive, exportCoverageGaps, useTestBackend } from '@contrastive/core/testing';
import type { BadInputCase, ExportCoverage } from '@contrastive/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as api from './index.js';
import type { Augmentation } from './index.js';
import { useCpuAndWasm } from './test-support/backends.js';
import { pattern } from './test-support/images.js';

beforeAll(useCpuAndWasm);

// ---------------------------------------------------------------------------------------------
// Fixtures (made once the backend is selected, disposed at the end)

interface Fixtures {
  /** `[2, 4, 4, 3]` in [0, 1). */
  readonly images: tf.Tensor4D;
  readonly grey: tf.Tensor4D;
  readonly twoChannels: tf.Tensor4D;
  readonly fiveChannels: tf.Tensor4D;
  /** `[2, 4, 6, 3]`: not square. */
  readonly wide: tf.Tensor4D;
  /** `[2, 1, 1, 3]`. */
  readonly tiny: tf.Tensor4D;
  /** `[1, 4, 4, 3]`. */
  readonly single: tf.Tensor4D;
  readonly rank3: tf.Tensor3D;
  readonly int32Images: tf.Tensor4D;
  /** `[0, 4, 4, 3]`. */
  readonly empty: tf.Tensor4D;
  readonly gone: tf.Tensor4D;
  /** `[2, 4, 4, 3]` with a NaN in image 1. */
  readonly withNaN: tf.Tensor4D;
  /** `[3, 4]` float32 rows. */
  readonly table: tf.Tensor2D;
  readonly table3: tf.Tensor2D;
  readonly intTable: tf.Tensor2D;
  readonly vector: tf.Tensor1D;
  readonly emptyTable: tf.Tensor2D;
  readonly goneTable: tf.Tensor2D;
  /** `[5, 4]`. */
  readonly marginals: tf.Tensor2D;
  /** `[2, 6]` int32 ids 1..9. */
  readonly tokens: tf.Tensor2D;
  readonly floatTokens: tf.Tensor2D;
  readonly tokenVector: tf.Tensor1D;
  /** `[2, 0]` int32. */
  readonly emptyTokens: tf.Tensor2D;
  readonly goneTokens: tf.Tensor2D;
  /** `[2, 6, 2]`. */
  readonly series: tf.Tensor3D;
  /** `[2, 0, 2]`: a series of length 0. */
  readonly series0: tf.Tensor3D;
  readonly seriesRank2: tf.Tensor2D;
  readonly intSeries: tf.Tensor3D;
  readonly goneSeries: tf.Tensor3D;
  /** `[2]` int32 and float32, `[3]` int32. */
  readonly labels: tf.Tensor1D;
  readonly floatLabels: tf.Tensor1D;
  readonly labels3: tf.Tensor1D;
}

let fx: Fixtures;

function disposed<T extends tf.Tensor>(tensor: T): T {
  tensor.dispose();
  return tensor;
}

beforeAll(() => {
  const images = (shape: [number, number, number, number], seed = 0): tf.Tensor4D => tf.tensor4d(pattern(shape, seed), shape);
  const withNaN = pattern([2, 4, 4, 3], 5);
  withNaN[60] = NaN;
  fx = {
    images: images([2, 4, 4, 3]),
    grey: images([2, 4, 4, 1], 1),
    twoChannels: images([2, 4, 4, 2], 2),
    fiveChannels: images([2, 4, 4, 5], 3),
    wide: images([2, 4, 6, 3], 4),
    tiny: images([2, 1, 1, 3], 6),
    single: images([1, 4, 4, 3], 7),
    rank3: tf.tensor3d(pattern([1, 4, 4, 3], 8), [4, 4, 3]),
    int32Images: tf.zeros([2, 4, 4, 3], 'int32') as tf.Tensor4D,
    empty: tf.zeros([0, 4, 4, 3]) as tf.Tensor4D,
    gone: disposed(images([2, 4, 4, 3])),
    withNaN: tf.tensor4d(withNaN, [2, 4, 4, 3]),
    table: tf.tensor2d(pattern([1, 1, 3, 4], 9), [3, 4]),
    table3: tf.tensor2d(pattern([1, 1, 3, 3], 10), [3, 3]),
    intTable: tf.zeros([3, 4], 'int32') as tf.Tensor2D,
    vector: tf.ones([4]) as tf.Tensor1D,
    emptyTable: tf.zeros([0, 4]) as tf.Tensor2D,
    goneTable: disposed(tf.ones([3, 4]) as tf.Tensor2D),
    marginals: tf.tensor2d(pattern([1, 1, 5, 4], 11), [5, 4]),
    tokens: tf.tensor2d([1, 2, 3, 4, 5, 6, 7, 8, 9, 1, 2, 3], [2, 6], 'int32'),
    floatTokens: tf.tensor2d([1, 2, 3, 4, 5, 6, 7, 8, 9, 1, 2, 3.5], [2, 6]),
    tokenVector: tf.tensor1d([1, 2, 3], 'int32'),
    emptyTokens: tf.zeros([2, 0], 'int32') as tf.Tensor2D,
    goneTokens: disposed(tf.ones([2, 6], 'int32') as tf.Tensor2D),
    series: tf.tensor3d(pattern([1, 2, 6, 2], 12), [2, 6, 2]),
    series0: tf.zeros([2, 0, 2]) as tf.Tensor3D,
    seriesRank2: tf.ones([6, 2]) as tf.Tensor2D,
    intSeries: tf.zeros([2, 6, 2], 'int32') as tf.Tensor3D,
    goneSeries: disposed(tf.ones([2, 6, 2]) as tf.Tensor3D),
    labels: tf.tensor1d([0, 1], 'int32'),
    floatLabels: tf.tensor1d([0, 1]),
    labels3: tf.tensor1d([0, 1, 2], 'int32'),
  };
});

afterAll(() => {
  tf.dispose(Object.values(fx));
});

const rng = (): Rng => new Rng(1);

/** Some augmentations that keep `[h, w, c]`, for the combinators. */
const flip = (): Augmentation => api.horizontalFlip({ probability: 1 });
const jitter = (): Augmentation => api.colorJitter({ probability: 1 });
/** An augmentation that breaks its contract: it returns one image whatever the batch. */
const shrink: Augmentation = { name: 'shrink', apply: (images) => tf.slice(images, [0, 0, 0, 0], [1, -1, -1, -1]) };

// ---------------------------------------------------------------------------------------------
// Case builders

type Call = (value: unknown) => unknown;

function prefixed(prefix: string, cases: readonly BadInputCase[]): BadInputCase[] {
  return cases.map((entry) => ({ ...entry, what: `${prefix}${entry.what}` }));
}

function invalid(what: string, run: () => unknown, argument: string): BadInputCase {
  return { what, run, code: 'INVALID_ARGUMENT', argument };
}

function shapeCase(what: string, run: () => unknown, argument: string | null): BadInputCase {
  return { what, run, code: 'SHAPE_MISMATCH', argument };
}

/**
 * Wrong rank, int32 pixels, an empty batch, a disposed tensor and a plain array as `images`
 * (`arrayArgument`: the name an array gets, for `renderGrid`, which reads it as a list of views).
 */
function imageCases(call: Call, argument = 'images', arrayArgument = argument): BadInputCase[] {
  return [
    shapeCase('rank-3 images (no batch axis)', () => call(fx.rank3), argument),
    { what: 'int32 images', run: () => call(fx.int32Images), code: 'DTYPE_MISMATCH', argument },
    shapeCase('an empty batch', () => call(fx.empty), argument),
    { what: 'disposed images', run: () => call(fx.gone), code: 'DISPOSED', argument },
    shapeCase('a nested array instead of a tensor', () => call([[[[0.5]]]]), arrayArgument),
  ];
}

/** A seed, nothing and a stub in place of an `Rng`. */
function rngCases(call: Call): BadInputCase[] {
  return [
    invalid('a seed instead of an Rng', () => call(7), 'rng'),
    invalid('no rng', () => call(undefined), 'rng'),
    invalid('an object without the Rng methods', () => call({ uniform: () => 0.5 }), 'rng'),
  ];
}

/** `n` of 0 and 2.5 for `sample(n, rng)`, and bad rngs. */
function sampleCases(sample: (n: unknown, generator: unknown) => unknown): BadInputCase[] {
  return prefixed('sample: ', [
    invalid('n = 0', () => sample(0, rng()), 'n'),
    invalid('n = 2.5', () => sample(2.5, rng()), 'n'),
    ...rngCases((generator) => sample(2, generator)),
  ]);
}

/** Bad images and bad rngs for `apply` of an augmentation made by `make`. */
function applyCases(make: () => Augmentation, method = 'apply'): BadInputCase[] {
  return prefixed(`${method}: `, [
    ...imageCases((images) => make().apply(images as tf.Tensor4D, rng())),
    ...rngCases((generator) => make().apply(fx.images, generator as Rng)),
  ]);
}

/** Probabilities below 0, above 1, NaN, Infinity and a string. */
function probabilityCases(make: Call, argument = 'probability'): BadInputCase[] {
  return [-0.1, 1.5, NaN, Infinity, '0.5'].map((value) => invalid(`${argument} = ${String(value)}`, () => make(value), argument));
}

/** Tables of the wrong rank, dtype and size, and disposed. */
function tableCases(call: Call): BadInputCase[] {
  return [
    shapeCase('a rank-1 table', () => call(fx.vector), 'table'),
    { what: 'an int32 table', run: () => call(fx.intTable), code: 'DTYPE_MISMATCH', argument: 'table' },
    shapeCase('an empty table', () => call(fx.emptyTable), 'table'),
    { what: 'a disposed table', run: () => call(fx.goneTable), code: 'DISPOSED', argument: 'table' },
  ];
}

/** Token ids of the wrong rank, as floats, of length 0, and disposed. */
function tokenCases(call: Call): BadInputCase[] {
  return [
    shapeCase('rank-1 tokens', () => call(fx.tokenVector), 'tokens'),
    { what: 'float token ids', run: () => call(fx.floatTokens), code: 'DTYPE_MISMATCH', argument: 'tokens' },
    shapeCase('sequences of length 0', () => call(fx.emptyTokens), 'tokens'),
    { what: 'disposed tokens', run: () => call(fx.goneTokens), code: 'DISPOSED', argument: 'tokens' },
  ];
}

/** Series of length 0, of the wrong rank and dtype, and disposed. */
function seriesCases(call: Call): BadInputCase[] {
  return [
    shapeCase('a series of length 0', () => call(fx.series0), 'series'),
    shapeCase('a rank-2 series', () => call(fx.seriesRank2), 'series'),
    { what: 'an int32 series', run: () => call(fx.intSeries), code: 'DTYPE_MISMATCH', argument: 'series' },
    { what: 'a disposed series', run: () => call(fx.goneSeries), code: 'DISPOSED', argument: 'series' },
  ];
}

/** Bad `[n, ...]` shapes for `sample(shape, rng)`, and bad rngs. */
function shapeSampleCases(sample: (shape: unknown, generator: unknown) => unknown, good: readonly number[]): BadInputCase[] {
  const zero = [...good];
  zero[1] = 0;
  return prefixed('sample: ', [
    invalid('a shape with a 0', () => sample(zero, rng()), 'shape[1]'),
    invalid('a shape of the wrong rank', () => sample(good.slice(1), rng()), 'shape'),
    ...rngCases((generator) => sample(good, generator)),
  ]);
}

/** `apply` of a tensor augmentation: bad tensors (from `tensorCases`) and bad rngs. */
function tensorApplyCases<T>(
  make: () => { apply(x: T, generator: Rng): unknown },
  tensorCases: (call: Call) => BadInputCase[],
  good: () => T,
  method: 'apply' | 'applyWithMask' = 'apply',
): BadInputCase[] {
  const call = (x: unknown, generator: unknown): unknown => {
    const augmentation = make() as unknown as Record<string, (x: unknown, generator: unknown) => unknown>;
    return (augmentation[method] as (x: unknown, generator: unknown) => unknown).call(augmentation, x, generator);
  };
  return prefixed(`${method}: `, [...tensorCases((x) => call(x, rng())), ...rngCases((generator) => call(good(), generator))]);
}

// Valid explicit parameters for the 2-image fixture batch.
const two = <T>(value: T): T[] => [value, value];
const epsilonOf = (size: number, value = 0.1): number[] => new Array<number>(size).fill(value);

// ---------------------------------------------------------------------------------------------
// Coverage: one entry per runtime export

const coverage: Record<keyof typeof api, ExportCoverage> = {
  compose: [
    invalid('a non-array', () => api.compose(5 as never), 'augmentations'),
    invalid('an entry without apply', () => api.compose([flip(), {} as never]), 'augmentations[1]'),
    ...applyCases(() => api.compose([flip(), jitter()])),
    ...applyCases(() => api.compose([]), 'apply (no stages)'),
  ],
  randomResizedCrop: [
    invalid('null options', () => api.randomResizedCrop(null as never), 'options'),
    invalid('a scale starting at 0', () => api.randomResizedCrop({ scale: [0, 1] }), 'scale[0]'),
    invalid('a scale above 1', () => api.randomResizedCrop({ scale: [0.5, 1.5] }), 'scale[1]'),
    invalid('a scale with low > high', () => api.randomResizedCrop({ scale: [0.8, 0.5] }), 'scale'),
    invalid('a negative ratio', () => api.randomResizedCrop({ ratio: [-1, 2] }), 'ratio[0]'),
    invalid('a size of 0', () => api.randomResizedCrop({ size: [0, 4] }), 'size[0]'),
    invalid('a fractional size', () => api.randomResizedCrop({ size: [4, 2.5] }), 'size[1]'),
    ...probabilityCases((value) => api.randomResizedCrop({ flipProbability: value as number }), 'flipProbability'),
    ...applyCases(() => api.randomResizedCrop()),
    ...sampleCases((n, generator) => api.randomResizedCrop().sample(n as number, generator as Rng)),
  ],
  applyResizedCrop: [
    ...imageCases((images) => api.applyResizedCrop(images as tf.Tensor4D, { sw: [1], sh: [1], cx: [0], cy: [0] })),
    invalid('null crop', () => api.applyResizedCrop(fx.images, null as never), 'crop'),
    shapeCase('crop arrays of the wrong length', () => api.applyResizedCrop(fx.images, { sw: [1], sh: [1], cx: [0], cy: [0] }), 'crop.sw'),
    invalid('a crop width of 0', () => api.applyResizedCrop(fx.images, { sw: [0, 1], sh: two(1), cx: two(0), cy: two(0) }), 'crop.sw[0]'),
    invalid('a crop that leaves the image', () => api.applyResizedCrop(fx.images, { sw: two(0.5), sh: two(1), cx: [0.8, 0], cy: two(0) }), 'crop.cx[0]'),
    invalid('a flip that is not a boolean', () => api.applyResizedCrop(fx.images, { sw: two(1), sh: two(1), cx: two(0), cy: two(0), flip: [1, 0] as never }), 'crop.flip[0]'),
    invalid('an output size of 0', () => api.applyResizedCrop(fx.images, { sw: two(1), sh: two(1), cx: two(0), cy: two(0) }, { size: [0, 2] }), 'options.size[0]'),
  ],
  applyCropBoxes: [
    ...imageCases((images) => api.applyCropBoxes(images as tf.Tensor4D, [[0, 0, 1, 1]])),
    invalid('null boxes', () => api.applyCropBoxes(fx.images, null as never), 'boxes'),
    shapeCase('one box for two images', () => api.applyCropBoxes(fx.images, [[0, 0, 1, 1]]), 'boxes'),
    shapeCase('a box of 3 numbers', () => api.applyCropBoxes(fx.images, [[0, 0, 1], [0, 0, 1, 1]]), 'boxes[0]'),
    invalid('a NaN coordinate', () => api.applyCropBoxes(fx.images, [[0, NaN, 1, 1], [0, 0, 1, 1]]), 'boxes[0][1]'),
    invalid('a fractional output size', () => api.applyCropBoxes(fx.images, two([0, 0, 1, 1]), { size: [2, 1.5] }), 'options.size[1]'),
  ],
  cropBoxes: [
    invalid('null crop', () => api.cropBoxes(null as never), 'crop'),
    shapeCase('arrays of different lengths', () => api.cropBoxes({ sw: [1, 1], sh: [1], cx: [0, 0], cy: [0, 0] }), 'crop.sh'),
    invalid('a crop width above 1', () => api.cropBoxes({ sw: [1.5], sh: [1], cx: [0], cy: [0] }), 'crop.sw[0]'),
    invalid('a crop that leaves the image', () => api.cropBoxes({ sw: [0.5], sh: [0.5], cx: [0], cy: [0.9] }), 'crop.cy[0]'),
  ],
  horizontalFlip: [
    invalid('null options', () => api.horizontalFlip(null as never), 'options'),
    ...probabilityCases((value) => api.horizontalFlip({ probability: value as number })),
    ...applyCases(() => api.horizontalFlip()),
    ...sampleCases((n, generator) => api.horizontalFlip().sample(n as number, generator as Rng)),
  ],
  applyHorizontalFlip: [
    ...imageCases((images) => api.applyHorizontalFlip(images as tf.Tensor4D, { flip: two(true) })),
    invalid('null params', () => api.applyHorizontalFlip(fx.images, null as never), 'params'),
    shapeCase('one flag for two images', () => api.applyHorizontalFlip(fx.images, { flip: [true] }), 'params.flip'),
    invalid('a flag that is not a boolean', () => api.applyHorizontalFlip(fx.images, { flip: [1, 0] as never }), 'params.flip[0]'),
  ],
  colorJitter: [
    invalid('null options', () => api.colorJitter(null as never), 'options'),
    ...probabilityCases((value) => api.colorJitter({ probability: value as number })),
    invalid('a negative brightness', () => api.colorJitter({ brightness: [-1, 1] }), 'brightness[0]'),
    invalid('a brightness above 1e6', () => api.colorJitter({ brightness: [0.5, 2e6] }), 'brightness[1]'),
    invalid('a contrast range with low > high', () => api.colorJitter({ contrast: [2, 1] }), 'contrast'),
    invalid('a saturation above 1e6', () => api.colorJitter({ saturation: [1, 1e300] }), 'saturation[1]'),
    invalid('a hue below -0.5', () => api.colorJitter({ hue: [-0.6, 0] }), 'hue[0]'),
    invalid('an unknown order', () => api.colorJitter({ order: 'shuffled' as never }), 'order'),
    invalid('an unknown contrast mean', () => api.colorJitter({ contrastMean: 'median' as never }), 'contrastMean'),
    invalid('an unknown clamp', () => api.colorJitter({ clamp: 'never' as never }), 'clamp'),
    shapeCase('apply: two channels with saturation', () => api.colorJitter({ saturation: [0.5, 1.5] }).apply(fx.twoChannels, rng()), 'images'),
    ...applyCases(() => api.colorJitter()),
    ...sampleCases((n, generator) => api.colorJitter().sample(n as number, generator as Rng)),
  ],
  applyColorJitter: [
    ...imageCases((images) => api.applyColorJitter(images as tf.Tensor4D, { jitter: two(true), brightness: two(1), contrast: two(1) })),
    invalid('null params', () => api.applyColorJitter(fx.images, null as never), 'params'),
    shapeCase('one coin for two images', () => api.applyColorJitter(fx.images, { jitter: [true], brightness: two(1), contrast: two(1) }), 'params.jitter'),
    invalid('a negative brightness', () => api.applyColorJitter(fx.images, { jitter: two(true), brightness: [-1, 1], contrast: two(1) }), 'params.brightness[0]'),
    invalid('a brightness of 1e300', () => api.applyColorJitter(fx.images, { jitter: two(true), brightness: [1e300, 1], contrast: two(1) }), 'params.brightness[0]'),
    invalid('a contrast of 1e7', () => api.applyColorJitter(fx.images, { jitter: two(true), brightness: two(1), contrast: [1, 1e7] }), 'params.contrast[1]'),
    invalid('a hue shift of 0.7', () => api.applyColorJitter(fx.images, { jitter: two(true), brightness: two(1), contrast: two(1), hue: [0.7, 0] }), 'params.hue[0]'),
    invalid(
      'an order that is not a permutation',
      () => api.applyColorJitter(fx.images, { jitter: two(true), brightness: two(1), contrast: two(1), order: [[0, 1, 2, 2], [0, 1, 2, 3]] }),
      'params.order[0]',
    ),
    shapeCase('five channels with a hue step', () => api.applyColorJitter(fx.fiveChannels, { jitter: two(true), brightness: two(1), contrast: two(1), hue: two(0.1) }), 'images'),
    invalid('an unknown clamp', () => api.applyColorJitter(fx.images, { jitter: two(true), brightness: two(1), contrast: two(1) }, { clamp: 'x' as never }), 'clamp'),
  ],
  gaussianNoise: [
    invalid('null options', () => api.gaussianNoise(null as never), 'options'),
    ...probabilityCases((value) => api.gaussianNoise({ probability: value as number })),
    invalid('a negative std', () => api.gaussianNoise({ std: -1 }), 'std'),
    invalid('a std beyond float32', () => api.gaussianNoise({ std: 1e39 }), 'std'),
    ...applyCases(() => api.gaussianNoise()),
    ...shapeSampleCases((shape, generator) => api.gaussianNoise().sample(shape as never, generator as Rng), [2, 4, 4, 3]),
  ],
  applyGaussianNoise: [
    ...imageCases((images) => api.applyGaussianNoise(images as tf.Tensor4D, { noise: two(false), epsilon: epsilonOf(96) })),
    invalid('null params', () => api.applyGaussianNoise(fx.images, null as never), 'params'),
    shapeCase('one coin for two images', () => api.applyGaussianNoise(fx.images, { noise: [true], epsilon: epsilonOf(96) }), 'params.noise'),
    shapeCase('epsilon of the wrong length', () => api.applyGaussianNoise(fx.images, { noise: two(true), epsilon: epsilonOf(3) }), 'params.epsilon'),
    invalid('a NaN epsilon', () => api.applyGaussianNoise(fx.images, { noise: [true, false], epsilon: [NaN, ...epsilonOf(95)] }), 'params.epsilon[0]'),
    invalid('an epsilon beyond float32', () => api.applyGaussianNoise(fx.images, { noise: [true, false], epsilon: [1e39, ...epsilonOf(95)] }), 'params.epsilon[0]'),
    invalid('a negative std', () => api.applyGaussianNoise(fx.images, { noise: two(true), epsilon: epsilonOf(96) }, { std: -1 }), 'std'),
    invalid('a std beyond float32', () => api.applyGaussianNoise(fx.images, { noise: two(true), epsilon: epsilonOf(96, 0) }, { std: 1e39 }), 'std'),
  ],
  recipeAugmentation: [
    invalid('null options', () => api.recipeAugmentation(null as never), 'options'),
    invalid('a flip that is not a boolean', () => api.recipeAugmentation({ flip: 'yes' as never }), 'flip'),
    invalid('a strength above 1', () => api.recipeAugmentation({ strength: 1.01 }), 'strength'),
    ...applyCases(() => api.recipeAugmentation()),
  ],
  viewGenerator: [
    invalid('no options', () => api.viewGenerator(undefined as never), 'options'),
    invalid('no augmentation', () => api.viewGenerator({} as never), 'augmentation'),
    invalid('0 views', () => api.viewGenerator({ augmentation: flip(), views: 0 }), 'views'),
    invalid('2.5 views', () => api.viewGenerator({ augmentation: flip(), views: 2.5 }), 'views'),
    ...prefixed('generate: ', [
      ...imageCases((images) => api.viewGenerator({ augmentation: flip() }).generate(images as tf.Tensor4D, rng())),
      ...rngCases((generator) => api.viewGenerator({ augmentation: flip() }).generate(fx.images, generator as Rng)),
    ]),
  ],
  randomRotation: [
    invalid('no options', () => api.randomRotation(undefined as never), 'options'),
    invalid('negative degrees', () => api.randomRotation({ degrees: -1 }), 'degrees'),
    invalid('NaN degrees', () => api.randomRotation({ degrees: NaN }), 'degrees'),
    invalid('a degree range with low > high', () => api.randomRotation({ degrees: [10, -10] }), 'degrees'),
    invalid('an unknown interpolation', () => api.randomRotation({ degrees: 10, interpolation: 'cubic' as never }), 'interpolation'),
    invalid('a NaN fill', () => api.randomRotation({ degrees: 10, fill: NaN }), 'fill'),
    invalid('a fill beyond float32', () => api.randomRotation({ degrees: 10, fill: 1e39 }), 'fill'),
    ...applyCases(() => api.randomRotation({ degrees: 30 })),
    ...sampleCases((n, generator) => api.randomRotation({ degrees: 30 }).sample(n as number, generator as Rng)),
  ],
  applyRotation: [
    ...imageCases((images) => api.applyRotation(images as tf.Tensor4D, { angle: two(10) })),
    invalid('null params', () => api.applyRotation(fx.images, null as never), 'params'),
    shapeCase('one angle for two images', () => api.applyRotation(fx.images, { angle: [10] }), 'params.angle'),
    invalid('an infinite angle', () => api.applyRotation(fx.images, { angle: [Infinity, 0] }), 'params.angle[0]'),
    invalid('an unknown interpolation', () => api.applyRotation(fx.images, { angle: two(10) }, { interpolation: 'cubic' as never }), 'options.interpolation'),
    invalid('a fill beyond float32', () => api.applyRotation(fx.images, { angle: two(10) }, { fill: 1e39 }), 'options.fill'),
  ],
  randomTranslation: [
    invalid('no translate', () => api.randomTranslation({} as never), 'translate'),
    invalid('a translate fraction above 1', () => api.randomTranslation({ translate: [1.5, 0] }), 'translate[0]'),
    invalid('a subpixel that is not a boolean', () => api.randomTranslation({ translate: [0.1, 0.1], subpixel: 'no' as never }), 'subpixel'),
    ...applyCases(() => api.randomTranslation({ translate: [0.2, 0.2] })),
    ...sampleCases((n, generator) => api.randomTranslation({ translate: [0.2, 0.2] }).sample(n as number, generator as Rng, [4, 4])),
    invalid('sample: an image size of 0', () => api.randomTranslation({ translate: [0.2, 0.2] }).sample(2, rng(), [0, 4]), 'imageSize[0]'),
  ],
  applyTranslation: [
    ...imageCases((images) => api.applyTranslation(images as tf.Tensor4D, { dx: two(1), dy: two(1) })),
    invalid('null params', () => api.applyTranslation(fx.images, null as never), 'params'),
    shapeCase('one dx for two images', () => api.applyTranslation(fx.images, { dx: [1], dy: two(1) }), 'params.dx'),
    invalid('a NaN dy', () => api.applyTranslation(fx.images, { dx: two(1), dy: [NaN, 0] }), 'params.dy[0]'),
    invalid('a NaN fill', () => api.applyTranslation(fx.images, { dx: two(1), dy: two(1) }, { fill: NaN }), 'options.fill'),
  ],
  randomAffine: [
    invalid('no degrees', () => api.randomAffine({} as never), 'degrees'),
    invalid('a scale starting at 0', () => api.randomAffine({ degrees: 0, scale: [0, 1] }), 'scale[0]'),
    invalid('a shear of 90', () => api.randomAffine({ degrees: 0, shear: 90 }), 'shear'),
    invalid('a shear range beyond 90', () => api.randomAffine({ degrees: 0, shear: [0, 95] }), 'shear[1]'),
    invalid('a y-shear range beyond -90', () => api.randomAffine({ degrees: 0, shear: [0, 0, -95, 0] }), 'shear[2..3][0]'),
    invalid('a negative translate fraction', () => api.randomAffine({ degrees: 0, translate: [0, -0.1] }), 'translate[1]'),
    ...applyCases(() => api.randomAffine({ degrees: 20, translate: [0.1, 0.1], scale: [0.8, 1.2], shear: 10 })),
    ...sampleCases((n, generator) => api.randomAffine({ degrees: 20 }).sample(n as number, generator as Rng, [4, 4])),
    invalid('sample: a fractional image size', () => api.randomAffine({ degrees: 20 }).sample(2, rng(), [4, 4.5]), 'imageSize[1]'),
  ],
  applyAffine: [
    ...imageCases((images) => api.applyAffine(images as tf.Tensor4D, { angle: two(0), dx: two(0), dy: two(0), scale: two(1), shearX: two(0), shearY: two(0) })),
    invalid('null params', () => api.applyAffine(fx.images, null as never), 'params'),
    shapeCase('one angle for two images', () => api.applyAffine(fx.images, { angle: [0], dx: two(0), dy: two(0), scale: two(1), shearX: two(0), shearY: two(0) }), 'params.angle'),
    invalid('a scale of 0', () => api.applyAffine(fx.images, { angle: two(0), dx: two(0), dy: two(0), scale: [0, 1], shearX: two(0), shearY: two(0) }), 'params.scale[0]'),
    invalid('a shear of 90', () => api.applyAffine(fx.images, { angle: two(0), dx: two(0), dy: two(0), scale: two(1), shearX: [90, 0], shearY: two(0) }), 'params.shearX[0]'),
  ],
  randomCrop: [
    invalid('null options', () => api.randomCrop(null as never), 'options'),
    invalid('a size of 0', () => api.randomCrop({ size: [0, 2] }), 'size[0]'),
    invalid('negative padding', () => api.randomCrop({ padding: -1 }), 'padding'),
    invalid('fractional padding', () => api.randomCrop({ padding: 1.5 }), 'padding'),
    invalid('padding of three sides', () => api.randomCrop({ padding: [1, 2, 3] as never }), 'padding'),
    invalid('a NaN fill', () => api.randomCrop({ fill: NaN }), 'fill'),
    invalid('a fill beyond float32', () => api.randomCrop({ padding: 1, fill: -1e39 }), 'fill'),
    invalid('an unknown padding mode', () => api.randomCrop({ paddingMode: 'wrap' as never }), 'paddingMode'),
    shapeCase('apply: a crop larger than the image', () => api.randomCrop({ size: [8, 8] }).apply(fx.images, rng()), 'images'),
    shapeCase('apply: reflect padding wider than the image', () => api.randomCrop({ padding: 2, paddingMode: 'reflect' }).apply(fx.tiny, rng()), 'images'),
    ...applyCases(() => api.randomCrop({ size: [3, 3], padding: 1 })),
    ...sampleCases((n, generator) => api.randomCrop({ size: [3, 3] }).sample(n as number, generator as Rng, [4, 4])),
    shapeCase('sample: a crop larger than the image size', () => api.randomCrop({ size: [8, 8] }).sample(2, rng(), [4, 4]), 'imageSize'),
    invalid('sample: an image size of 0', () => api.randomCrop().sample(2, rng(), [0, 4]), 'imageSize[0]'),
  ],
  applyCrop: [
    ...imageCases((images) => api.applyCrop(images as tf.Tensor4D, { top: two(0), left: two(0) })),
    invalid('null offsets', () => api.applyCrop(fx.images, null as never), 'offsets'),
    shapeCase('one top for two images', () => api.applyCrop(fx.images, { top: [0], left: two(0) }), 'offsets.top'),
    invalid('a top beyond the padded image', () => api.applyCrop(fx.images, { top: [5, 0], left: two(0) }, { size: [2, 2] }), 'offsets.top[0]'),
    invalid('a fractional left', () => api.applyCrop(fx.images, { top: two(0), left: [0.5, 0] }, { size: [2, 2] }), 'offsets.left[0]'),
    shapeCase('a crop larger than the image', () => api.applyCrop(fx.images, { top: two(0), left: two(0) }, { size: [8, 8] }), 'images'),
    invalid('negative padding', () => api.applyCrop(fx.images, { top: two(0), left: two(0) }, { padding: -1 }), 'options.padding'),
  ],
  verticalFlip: [
    invalid('null options', () => api.verticalFlip(null as never), 'options'),
    ...probabilityCases((value) => api.verticalFlip({ probability: value as number })),
    ...applyCases(() => api.verticalFlip()),
    ...sampleCases((n, generator) => api.verticalFlip().sample(n as number, generator as Rng)),
  ],
  applyVerticalFlip: [
    ...imageCases((images) => api.applyVerticalFlip(images as tf.Tensor4D, { flip: two(true) })),
    invalid('null params', () => api.applyVerticalFlip(fx.images, null as never), 'params'),
    shapeCase('three flags for two images', () => api.applyVerticalFlip(fx.images, { flip: [true, true, true] }), 'params.flip'),
    invalid('a flag that is not a boolean', () => api.applyVerticalFlip(fx.images, { flip: ['yes', true] as never }), 'params.flip[0]'),
  ],
  rotate90: [
    invalid('null options', () => api.rotate90(null as never), 'options'),
    ...probabilityCases((value) => api.rotate90({ probability: value as number })),
    invalid('no turns', () => api.rotate90({ turns: [] }), 'turns'),
    invalid('5 turns', () => api.rotate90({ turns: [5 as never] }), 'turns[0]'),
    shapeCase('apply: odd turns of non-square images', () => api.rotate90().apply(fx.wide, rng()), 'images'),
    ...applyCases(() => api.rotate90()),
    ...sampleCases((n, generator) => api.rotate90().sample(n as number, generator as Rng)),
  ],
  applyRotate90: [
    ...imageCases((images) => api.applyRotate90(images as tf.Tensor4D, { turns: two(1) })),
    invalid('null params', () => api.applyRotate90(fx.images, null as never), 'params'),
    shapeCase('one turn for two images', () => api.applyRotate90(fx.images, { turns: [1] }), 'params.turns'),
    invalid('4 turns', () => api.applyRotate90(fx.images, { turns: [4, 0] }), 'params.turns[0]'),
    invalid('1.5 turns', () => api.applyRotate90(fx.images, { turns: [1.5, 0] }), 'params.turns[0]'),
    shapeCase('odd and even turns of non-square images', () => api.applyRotate90(fx.wide, { turns: [1, 0] }), 'images'),
  ],
  loocViews: [
    invalid('no options', () => api.loocViews(undefined as never), 'options'),
    invalid('no families', () => api.loocViews({ families: [] }), 'families'),
    invalid('a family without apply', () => api.loocViews({ families: [{} as never] }), 'families[0]'),
    invalid('a base that is not an augmentation', () => api.loocViews({ families: [flip()], base: 5 as never }), 'base'),
    invalid('an unknown key mode', () => api.loocViews({ families: [flip()], keys: 'both' as never }), 'keys'),
    ...prefixed('generate: ', [
      ...imageCases((images) => api.loocViews({ families: [flip()] }).generate(images as tf.Tensor4D, rng())),
      ...rngCases((generator) => api.loocViews({ families: [flip()] }).generate(fx.images, generator as Rng)),
    ]),
  ],
  randomApply: [
    invalid('no augmentation', () => api.randomApply(null as never), 'augmentation'),
    ...probabilityCases((value) => api.randomApply(flip(), { probability: value as number })),
    shapeCase('apply: an augmentation that returns the wrong batch', () => api.randomApply(shrink, { probability: 1 }).apply(fx.images, rng()), null),
    ...applyCases(() => api.randomApply(flip())),
    ...sampleCases((n, generator) => api.randomApply(flip()).sample(n as number, generator as Rng)),
  ],
  oneOf: [
    invalid('no augmentations', () => api.oneOf([]), 'augmentations'),
    invalid('an entry without apply', () => api.oneOf([flip(), 3 as never]), 'augmentations[1]'),
    shapeCase('one weight for two augmentations', () => api.oneOf([flip(), jitter()], { weights: [1] }), 'weights'),
    invalid('a negative weight', () => api.oneOf([flip(), jitter()], { weights: [-1, 1] }), 'weights[0]'),
    invalid('a NaN weight', () => api.oneOf([flip(), jitter()], { weights: [1, NaN] }), 'weights[1]'),
    invalid('weights summing to 0', () => api.oneOf([flip(), jitter()], { weights: [0, 0] }), 'weights'),
    shapeCase('apply: an augmentation that returns the wrong batch', () => api.oneOf([shrink]).apply(fx.images, rng()), null),
    ...applyCases(() => api.oneOf([flip(), jitter()])),
    ...sampleCases((n, generator) => api.oneOf([flip(), jitter()]).sample(n as number, generator as Rng)),
  ],
  randomOrder: [
    invalid('a non-array', () => api.randomOrder(5 as never), 'augmentations'),
    invalid('an entry without apply', () => api.randomOrder([{} as never]), 'augmentations[0]'),
    ...applyCases(() => api.randomOrder([flip(), jitter()])),
    ...sampleCases((n, generator) => api.randomOrder([flip(), jitter()]).sample(n as number, generator as Rng)),
  ],
  applySelected: [
    ...imageCases((images) => api.applySelected(images as tf.Tensor4D, { selected: two(true) }, flip(), rng())),
    invalid('null params', () => api.applySelected(fx.images, null as never, flip(), rng()), 'params'),
    shapeCase('one flag for two images', () => api.applySelected(fx.images, { selected: [true] }, flip(), rng()), 'params.selected'),
    invalid('an augmentation without apply', () => api.applySelected(fx.images, { selected: two(true) }, {} as never, rng()), 'augmentation'),
    shapeCase('an augmentation that returns the wrong batch', () => api.applySelected(fx.images, { selected: two(true) }, shrink, rng()), null),
    ...rngCases((generator) => api.applySelected(fx.images, { selected: two(true) }, flip(), generator as Rng)),
  ],
  applyChoice: [
    ...imageCases((images) => api.applyChoice(images as tf.Tensor4D, { choice: two(0) }, [flip()], rng())),
    invalid('a choice out of range', () => api.applyChoice(fx.images, { choice: [0, 2] }, [flip(), jitter()], rng()), 'params.choice[1]'),
    invalid('a fractional choice', () => api.applyChoice(fx.images, { choice: [0.5, 0] }, [flip(), jitter()], rng()), 'params.choice[0]'),
    shapeCase('one choice for two images', () => api.applyChoice(fx.images, { choice: [0] }, [flip()], rng()), 'params.choice'),
    invalid('no augmentations', () => api.applyChoice(fx.images, { choice: two(0) }, [], rng()), 'augmentations'),
    ...rngCases((generator) => api.applyChoice(fx.images, { choice: two(0) }, [flip()], generator as Rng)),
  ],
  applyOrder: [
    ...imageCases((images) => api.applyOrder(images as tf.Tensor4D, { order: two([0, 1]) }, [flip(), jitter()], rng())),
    invalid('an order that is not a permutation', () => api.applyOrder(fx.images, { order: [[0, 0], [0, 1]] }, [flip(), jitter()], rng()), 'params.order[0]'),
    shapeCase('one order for two images', () => api.applyOrder(fx.images, { order: [[0, 1]] }, [flip(), jitter()], rng()), 'params.order'),
    invalid('an order index out of range', () => api.applyOrder(fx.images, { order: [[0, 2], [0, 1]] }, [flip(), jitter()], rng()), 'params.order[0][1]'),
    ...rngCases((generator) => api.applyOrder(fx.images, { order: two([0, 1]) }, [flip(), jitter()], generator as Rng)),
  ],
  multiCrop: [
    invalid('null options', () => api.multiCrop(null as never), 'options'),
    invalid('0 global crops', () => api.multiCrop({ globalCrops: 0 }), 'globalCrops'),
    invalid('-1 local crops', () => api.multiCrop({ localCrops: -1 }), 'localCrops'),
    invalid('a global scale starting at 0', () => api.multiCrop({ globalScale: [0, 1] }), 'globalScale[0]'),
    invalid('a local scale with low > high', () => api.multiCrop({ localScale: [0.5, 0.1] }), 'localScale'),
    invalid('a ratio starting at 0', () => api.multiCrop({ ratio: [0, 1] }), 'ratio[0]'),
    invalid('a global size of 0', () => api.multiCrop({ globalSize: [0, 4] }), 'globalSize[0]'),
    invalid('a fractional local size', () => api.multiCrop({ localSize: [2.5, 2] }), 'localSize[0]'),
    invalid('an augmentation without apply', () => api.multiCrop({ augmentation: {} as never }), 'augmentation'),
    ...probabilityCases((value) => api.multiCrop({ flipProbability: value as number }), 'flipProbability'),
    ...prefixed('generate: ', [
      ...imageCases((images) => api.multiCrop({ localCrops: 1 }).generate(images as tf.Tensor4D, rng())),
      ...rngCases((generator) => api.multiCrop({ localCrops: 1 }).generate(fx.images, generator as Rng)),
    ]),
    shapeCase('generate: an augmentation that returns the wrong batch', () => api.multiCrop({ augmentation: shrink }).generate(fx.images, rng()), null),
    invalid('labels: n = 0', () => api.multiCrop().labels(0), 'n'),
    invalid('toViewGenerator: unknown labels', () => api.multiCrop().toViewGenerator({ labels: 'both' as never }), 'labels'),
    invalid('view generator: no batch', () => api.multiCrop().toViewGenerator()(null as never, rng()), 'batch'),
    shapeCase('view generator: rank-3 inputs', () => api.multiCrop().toViewGenerator()({ inputs: fx.rank3, labels: fx.labels }, rng()), 'batch.inputs'),
    shapeCase('view generator: an empty batch', () => api.multiCrop().toViewGenerator()({ inputs: fx.empty, labels: fx.labels }, rng()), 'batch.inputs'),
    {
      what: 'view generator: float sample labels',
      run: () => api.multiCrop().toViewGenerator({ labels: 'samples' })({ inputs: fx.images, labels: fx.floatLabels }, rng()),
      code: 'DTYPE_MISMATCH',
      argument: 'batch.labels',
    },
    {
      what: 'view generator: three labels for two images',
      run: () => api.multiCrop().toViewGenerator({ labels: 'samples' })({ inputs: fx.images, labels: fx.labels3 }, rng()),
      code: 'LABEL_COUNT',
      argument: 'batch.labels',
    },
    ...prefixed('view generator: ', rngCases((generator) => api.multiCrop().toViewGenerator()({ inputs: fx.images, labels: fx.labels }, generator as Rng))),
  ],
  renderGrid: [
    invalid('an empty list', () => api.renderGrid([]), 'views'),
    ...imageCases((views) => api.renderGrid(views as tf.Tensor4D), 'views', 'views[0]'),
    { what: 'a NaN pixel', run: () => api.renderGrid(fx.withNaN), code: 'NON_FINITE', argument: 'views' },
    shapeCase('five channels', () => api.renderGrid(fx.fiveChannels), 'views'),
    shapeCase('views of different batch sizes', () => api.renderGrid([fx.images, fx.single]), 'views[1]'),
    shapeCase('views of different channel counts', () => api.renderGrid([fx.images, fx.grey]), 'views[1]'),
    invalid('columns that differ from the number of views', () => api.renderGrid([fx.images, fx.images], { columns: 3 }), 'columns'),
    invalid('0 columns', () => api.renderGrid(fx.images, { columns: 0 }), 'columns'),
    invalid('a scale of 0', () => api.renderGrid(fx.images, { scale: 0 }), 'scale'),
    invalid('negative padding', () => api.renderGrid(fx.images, { padding: -1 }), 'padding'),
    invalid('a background above 1', () => api.renderGrid(fx.images, { background: 2 }), 'background'),
  ],
  scarfCorruption: [
    invalid('no options', () => api.scarfCorruption(undefined as never), 'options'),
    shapeCase('no marginals', () => api.scarfCorruption({} as never), 'marginals'),
    { what: 'int32 marginals', run: () => api.scarfCorruption({ marginals: fx.intTable }), code: 'DTYPE_MISMATCH', argument: 'marginals' },
    { what: 'disposed marginals', run: () => api.scarfCorruption({ marginals: fx.goneTable }), code: 'DISPOSED', argument: 'marginals' },
    ...probabilityCases((value) => api.scarfCorruption({ marginals: fx.marginals, rate: value as number }), 'rate'),
    invalid('an unknown marginal draw', () => api.scarfCorruption({ marginals: fx.marginals, marginalDraw: 'perColumn' as never }), 'marginalDraw'),
    shapeCase('apply: a table with other columns than the marginals', () => api.scarfCorruption({ marginals: fx.marginals }).apply(fx.table3, rng()), 'table'),
    ...tensorApplyCases(() => api.scarfCorruption({ marginals: fx.marginals }), tableCases, () => fx.table),
    ...sampleCases((n, generator) => api.scarfCorruption({ marginals: fx.marginals }).sample(n as number, generator as Rng)),
  ],
  applyScarfCorruption: [
    ...tableCases((table) => api.applyScarfCorruption(table as tf.Tensor2D, fx.marginals, { corrupted: epsilonOf(12, 0), rows: epsilonOf(12, 0) })),
    shapeCase('marginals with other columns than the table', () => api.applyScarfCorruption(fx.table, fx.table3, { corrupted: epsilonOf(12, 0), rows: epsilonOf(12, 0) }), 'marginals'),
    invalid('null params', () => api.applyScarfCorruption(fx.table, fx.marginals, null as never), 'params'),
    shapeCase('flags of the wrong length', () => api.applyScarfCorruption(fx.table, fx.marginals, { corrupted: [1], rows: epsilonOf(12, 0) }), 'params.corrupted'),
    invalid('a flag of 2', () => api.applyScarfCorruption(fx.table, fx.marginals, { corrupted: [2, ...epsilonOf(11, 0)], rows: epsilonOf(12, 0) }), 'params.corrupted[0]'),
    invalid('a source row out of range', () => api.applyScarfCorruption(fx.table, fx.marginals, { corrupted: [1, ...epsilonOf(11, 0)], rows: [5, ...epsilonOf(11, 0)] }), 'params.rows[0]'),
    invalid('a fractional source row', () => api.applyScarfCorruption(fx.table, fx.marginals, { corrupted: [1, ...epsilonOf(11, 0)], rows: [0.5, ...epsilonOf(11, 0)] }), 'params.rows[0]'),
  ],
  featureMasking: [
    invalid('null options', () => api.featureMasking(null as never), 'options'),
    ...probabilityCases((value) => api.featureMasking({ rate: value as number }), 'rate'),
    invalid('a NaN value', () => api.featureMasking({ value: NaN }), 'value'),
    invalid('a value beyond float32', () => api.featureMasking({ value: 1e39 }), 'value'),
    ...tensorApplyCases(() => api.featureMasking(), tableCases, () => fx.table),
    ...tensorApplyCases(() => api.featureMasking(), tableCases, () => fx.table, 'applyWithMask'),
    ...shapeSampleCases((shape, generator) => api.featureMasking().sample(shape as never, generator as Rng), [3, 4]),
  ],
  applyFeatureMasking: [
    ...tableCases((table) => api.applyFeatureMasking(table as tf.Tensor2D, { mask: epsilonOf(12, 0) })),
    invalid('null params', () => api.applyFeatureMasking(fx.table, null as never), 'params'),
    shapeCase('a mask of the wrong length', () => api.applyFeatureMasking(fx.table, { mask: [true] }), 'params.mask'),
    invalid('a mask entry of 2', () => api.applyFeatureMasking(fx.table, { mask: [2, ...epsilonOf(11, 0)] }), 'params.mask[0]'),
    invalid('an infinite value', () => api.applyFeatureMasking(fx.table, { mask: epsilonOf(12, 1) }, { value: Infinity }), 'value'),
    invalid('a value beyond float32', () => api.applyFeatureMasking(fx.table, { mask: epsilonOf(12, 1) }, { value: -1e39 }), 'value'),
  ],
  tabularNoise: [
    invalid('null options', () => api.tabularNoise(null as never), 'options'),
    invalid('a negative std', () => api.tabularNoise({ std: -1 }), 'std'),
    invalid('a NaN std', () => api.tabularNoise({ std: NaN }), 'std'),
    invalid('a std beyond float32', () => api.tabularNoise({ std: 1e39 }), 'std'),
    ...tensorApplyCases(() => api.tabularNoise(), tableCases, () => fx.table),
    ...shapeSampleCases((shape, generator) => api.tabularNoise().sample(shape as never, generator as Rng), [3, 4]),
  ],
  applyTabularNoise: [
    ...tableCases((table) => api.applyTabularNoise(table as tf.Tensor2D, { epsilon: epsilonOf(12) })),
    invalid('null params', () => api.applyTabularNoise(fx.table, null as never), 'params'),
    shapeCase('epsilon of the wrong length', () => api.applyTabularNoise(fx.table, { epsilon: epsilonOf(11) }), 'params.epsilon'),
    invalid('a NaN epsilon', () => api.applyTabularNoise(fx.table, { epsilon: [NaN, ...epsilonOf(11)] }), 'params.epsilon[0]'),
    invalid('an epsilon beyond float32', () => api.applyTabularNoise(fx.table, { epsilon: [1e39, ...epsilonOf(11)] }), 'params.epsilon[0]'),
    invalid('a negative std', () => api.applyTabularNoise(fx.table, { epsilon: epsilonOf(12) }, { std: -1 }), 'std'),
  ],
  tokenMasking: [
    invalid('no options', () => api.tokenMasking(undefined as never), 'options'),
    invalid('no mask id', () => api.tokenMasking({} as never), 'maskId'),
    invalid('a fractional mask id', () => api.tokenMasking({ maskId: 1.5 }), 'maskId'),
    invalid('a mask id equal to the pad id', () => api.tokenMasking({ maskId: 1, padId: 1 }), 'maskId'),
    ...probabilityCases((value) => api.tokenMasking({ maskId: 1, rate: value as number }), 'rate'),
    invalid('a vocabulary of 0', () => api.tokenMasking({ maskId: 1, vocabSize: 0 }), 'vocabSize'),
    invalid('a split that does not sum to 1', () => api.tokenMasking({ maskId: 1, split: [0.5, 0.5, 0.5] }), 'split'),
    invalid('a negative split share', () => api.tokenMasking({ maskId: 1, split: [1.2, -0.1, -0.1] }), 'split[0]'),
    invalid('random replacement without a vocabulary', () => api.tokenMasking({ maskId: 1, split: [0.8, 0.2, 0] }), 'vocabSize'),
    ...tensorApplyCases(() => api.tokenMasking({ maskId: 1 }), tokenCases, () => fx.tokens),
    ...shapeSampleCases((shape, generator) => api.tokenMasking({ maskId: 1 }).sample(shape as never, generator as Rng), [2, 6]),
  ],
  applyTokenMasking: [
    ...tokenCases((tokens) => api.applyTokenMasking(tokens as tf.Tensor2D, { selected: epsilonOf(12, 0), replacement: epsilonOf(12, 0) })),
    invalid('null params', () => api.applyTokenMasking(fx.tokens, null as never), 'params'),
    shapeCase('flags of the wrong length', () => api.applyTokenMasking(fx.tokens, { selected: [1, 0, 1], replacement: epsilonOf(12, 0) }), 'params.selected'),
    invalid('a replacement of -2', () => api.applyTokenMasking(fx.tokens, { selected: [1, ...epsilonOf(11, 0)], replacement: [-2, ...epsilonOf(11, 0)] }), 'params.replacement[0]'),
    invalid('a float replacement id', () => api.applyTokenMasking(fx.tokens, { selected: [1, ...epsilonOf(11, 0)], replacement: [1.5, ...epsilonOf(11, 0)] }), 'params.replacement[0]'),
    invalid('a negative pad id', () => api.applyTokenMasking(fx.tokens, { selected: epsilonOf(12, 0), replacement: epsilonOf(12, 0) }, { padId: -1 }), 'padId'),
  ],
  spanDeletion: [
    invalid('no options', () => api.spanDeletion(undefined as never), 'options'),
    invalid('no pad id', () => api.spanDeletion({} as never), 'padId'),
    ...probabilityCases((value) => api.spanDeletion({ padId: 0, rate: value as number }), 'rate'),
    invalid('a longest span of 0', () => api.spanDeletion({ padId: 0, maxSpan: 0 }), 'maxSpan'),
    ...tensorApplyCases(() => api.spanDeletion({ padId: 0 }), tokenCases, () => fx.tokens),
    ...shapeSampleCases((shape, generator) => api.spanDeletion({ padId: 0 }).sample(shape as never, generator as Rng), [2, 6]),
  ],
  applySpanDeletion: [
    ...tokenCases((tokens) => api.applySpanDeletion(tokens as tf.Tensor2D, { deleted: epsilonOf(12, 0) }, { padId: 0 })),
    invalid('null params', () => api.applySpanDeletion(fx.tokens, null as never, { padId: 0 }), 'params'),
    shapeCase('flags of the wrong length', () => api.applySpanDeletion(fx.tokens, { deleted: [true] }, { padId: 0 }), 'params.deleted'),
    invalid('no options', () => api.applySpanDeletion(fx.tokens, { deleted: epsilonOf(12, 0) }, undefined as never), 'options'),
    invalid('no pad id', () => api.applySpanDeletion(fx.tokens, { deleted: epsilonOf(12, 0) }, {} as never), 'padId'),
  ],
  randomTokenCrop: [
    invalid('no options', () => api.randomTokenCrop(undefined as never), 'options'),
    invalid('a length of 0', () => api.randomTokenCrop({ length: 0, padId: 0 }), 'length'),
    invalid('a negative pad id', () => api.randomTokenCrop({ length: 2, padId: -1 }), 'padId'),
    ...tensorApplyCases(() => api.randomTokenCrop({ length: 3, padId: 0 }), tokenCases, () => fx.tokens),
    ...prefixed('sample: ', [
      ...tokenCases((tokens) => api.randomTokenCrop({ length: 3, padId: 0 }).sample(tokens as tf.Tensor2D, rng())),
      ...rngCases((generator) => api.randomTokenCrop({ length: 3, padId: 0 }).sample(fx.tokens, generator as Rng)),
    ]),
  ],
  applyTokenCrop: [
    ...tokenCases((tokens) => api.applyTokenCrop(tokens as tf.Tensor2D, { start: two(0) }, { length: 3, padId: 0 })),
    invalid('null params', () => api.applyTokenCrop(fx.tokens, null as never, { length: 3, padId: 0 }), 'params'),
    invalid('a start beyond the content', () => api.applyTokenCrop(fx.tokens, { start: [5, 0] }, { length: 2, padId: 0 }), 'params.start[0]'),
    shapeCase('one start for two rows', () => api.applyTokenCrop(fx.tokens, { start: [0] }, { length: 2, padId: 0 }), 'params.start'),
    invalid('a length of 0', () => api.applyTokenCrop(fx.tokens, { start: two(0) }, { length: 0, padId: 0 }), 'length'),
  ],
  localShuffle: [
    invalid('null options', () => api.localShuffle(null as never), 'options'),
    invalid('a window of 0', () => api.localShuffle({ window: 0 }), 'window'),
    invalid('a fractional pad id', () => api.localShuffle({ padId: 1.5 }), 'padId'),
    ...tensorApplyCases(() => api.localShuffle(), tokenCases, () => fx.tokens),
    ...shapeSampleCases((shape, generator) => api.localShuffle().sample(shape as never, generator as Rng), [2, 6]),
  ],
  applyLocalShuffle: [
    ...tokenCases((tokens) => api.applyLocalShuffle(tokens as tf.Tensor2D, { order: [0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 5] })),
    invalid('null params', () => api.applyLocalShuffle(fx.tokens, null as never), 'params'),
    invalid('a row that repeats a position', () => api.applyLocalShuffle(fx.tokens, { order: [0, 0, 2, 3, 4, 5, 0, 1, 2, 3, 4, 5] }), 'params.order'),
    invalid('a position out of range', () => api.applyLocalShuffle(fx.tokens, { order: [6, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 5] }), 'params.order[0]'),
    shapeCase('an order of the wrong length', () => api.applyLocalShuffle(fx.tokens, { order: [0, 1, 2, 3, 4, 5] }), 'params.order'),
  ],
  jitter: [
    invalid('null options', () => api.jitter(null as never), 'options'),
    invalid('a negative std', () => api.jitter({ std: -0.1 }), 'std'),
    invalid('a std beyond float32', () => api.jitter({ std: 1e39 }), 'std'),
    ...tensorApplyCases(() => api.jitter(), seriesCases, () => fx.series),
    ...shapeSampleCases((shape, generator) => api.jitter().sample(shape as never, generator as Rng), [2, 6, 2]),
  ],
  applyJitter: [
    ...seriesCases((series) => api.applyJitter(series as tf.Tensor3D, { epsilon: epsilonOf(24) })),
    invalid('null params', () => api.applyJitter(fx.series, null as never), 'params'),
    shapeCase('epsilon of the wrong length', () => api.applyJitter(fx.series, { epsilon: epsilonOf(23) }), 'params.epsilon'),
    invalid('an epsilon beyond float32', () => api.applyJitter(fx.series, { epsilon: [-1e39, ...epsilonOf(23)] }), 'params.epsilon[0]'),
    invalid('a NaN std', () => api.applyJitter(fx.series, { epsilon: epsilonOf(24) }, { std: NaN }), 'std'),
  ],
  scaling: [
    invalid('null options', () => api.scaling(null as never), 'options'),
    invalid('a negative std', () => api.scaling({ std: -1 }), 'std'),
    invalid('a std beyond float32', () => api.scaling({ std: 1e39 }), 'std'),
    ...tensorApplyCases(() => api.scaling(), seriesCases, () => fx.series),
    ...shapeSampleCases((shape, generator) => api.scaling().sample(shape as never, generator as Rng), [2, 6, 2]),
  ],
  applyScaling: [
    ...seriesCases((series) => api.applyScaling(series as tf.Tensor3D, { factor: epsilonOf(4, 1) })),
    invalid('null params', () => api.applyScaling(fx.series, null as never), 'params'),
    shapeCase('factors of the wrong length', () => api.applyScaling(fx.series, { factor: epsilonOf(3, 1) }), 'params.factor'),
    invalid('a NaN factor', () => api.applyScaling(fx.series, { factor: [NaN, 1, 1, 1] }), 'params.factor[0]'),
    invalid('a factor beyond float32', () => api.applyScaling(fx.series, { factor: [1, 1e39, 1, 1] }), 'params.factor[1]'),
  ],
  magnitudeWarp: [
    invalid('null options', () => api.magnitudeWarp(null as never), 'options'),
    invalid('-1 knots', () => api.magnitudeWarp({ knots: -1 }), 'knots'),
    invalid('1.5 knots', () => api.magnitudeWarp({ knots: 1.5 }), 'knots'),
    invalid('a negative std', () => api.magnitudeWarp({ std: -0.2 }), 'std'),
    invalid('a std beyond float32', () => api.magnitudeWarp({ std: 1e39 }), 'std'),
    ...tensorApplyCases(() => api.magnitudeWarp(), seriesCases, () => fx.series),
    ...shapeSampleCases((shape, generator) => api.magnitudeWarp().sample(shape as never, generator as Rng), [2, 6, 2]),
  ],
  applyMagnitudeWarp: [
    ...seriesCases((series) => api.applyMagnitudeWarp(series as tf.Tensor3D, { warps: epsilonOf(24, 1) })),
    invalid('null params', () => api.applyMagnitudeWarp(fx.series, null as never), 'params'),
    shapeCase('warps of the wrong length', () => api.applyMagnitudeWarp(fx.series, { warps: epsilonOf(20, 1) }), 'params.warps'),
    invalid('a warp beyond float32', () => api.applyMagnitudeWarp(fx.series, { warps: [1e39, ...epsilonOf(23, 1)] }), 'params.warps[0]'),
    invalid('-1 knots', () => api.applyMagnitudeWarp(fx.series, { warps: epsilonOf(24, 1) }, { knots: -1 }), 'knots'),
  ],
  timeWarp: [
    invalid('null options', () => api.timeWarp(null as never), 'options'),
    invalid('-1 knots', () => api.timeWarp({ knots: -1 }), 'knots'),
    invalid('a NaN std', () => api.timeWarp({ std: NaN }), 'std'),
    invalid('a std beyond float32', () => api.timeWarp({ std: 1e39 }), 'std'),
    ...tensorApplyCases(() => api.timeWarp(), seriesCases, () => fx.series),
    ...shapeSampleCases((shape, generator) => api.timeWarp().sample(shape as never, generator as Rng), [2, 6, 2]),
  ],
  applyTimeWarp: [
    ...seriesCases((series) => api.applyTimeWarp(series as tf.Tensor3D, { warps: epsilonOf(24, 1) })),
    invalid('null params', () => api.applyTimeWarp(fx.series, null as never), 'params'),
    shapeCase('warps of the wrong length', () => api.applyTimeWarp(fx.series, { warps: epsilonOf(25, 1) }), 'params.warps'),
    invalid('a NaN warp', () => api.applyTimeWarp(fx.series, { warps: [1, NaN, ...epsilonOf(22, 1)] }), 'params.warps[1]'),
    invalid('a warp beyond float32', () => api.applyTimeWarp(fx.series, { warps: [1e300, ...epsilonOf(23, 1)] }), 'params.warps[0]'),
  ],
  windowCrop: [
    invalid('null options', () => api.windowCrop(null as never), 'options'),
    invalid('both length and ratio', () => api.windowCrop({ length: 2, ratio: 0.5 }), 'length'),
    invalid('a ratio of 0', () => api.windowCrop({ ratio: 0 }), 'ratio'),
    invalid('a ratio above 1', () => api.windowCrop({ ratio: 1.5 }), 'ratio'),
    invalid('a length of 0', () => api.windowCrop({ length: 0 }), 'length'),
    shapeCase('apply: a window longer than the series', () => api.windowCrop({ length: 10 }).apply(fx.series, rng()), 'length'),
    shapeCase('sample: a window longer than the series', () => api.windowCrop({ length: 10 }).sample([2, 6, 2], rng()), 'length'),
    ...tensorApplyCases(() => api.windowCrop(), seriesCases, () => fx.series),
    ...shapeSampleCases((shape, generator) => api.windowCrop().sample(shape as never, generator as Rng), [2, 6, 2]),
  ],
  applyWindowCrop: [
    ...seriesCases((series) => api.applyWindowCrop(series as tf.Tensor3D, { start: two(0) }, { length: 2 })),
    invalid('null params', () => api.applyWindowCrop(fx.series, null as never, { length: 2 }), 'params'),
    invalid('no options', () => api.applyWindowCrop(fx.series, { start: two(0) }, undefined as never), 'options'),
    invalid('a window longer than the series', () => api.applyWindowCrop(fx.series, { start: two(0) }, { length: 10 }), 'length'),
    invalid('a start beyond the series', () => api.applyWindowCrop(fx.series, { start: [5, 0] }, { length: 2 }), 'params.start[0]'),
    shapeCase('one start for two series', () => api.applyWindowCrop(fx.series, { start: [0] }, { length: 2 }), 'params.start'),
  ],
  segmentPermutation: [
    invalid('null options', () => api.segmentPermutation(null as never), 'options'),
    invalid('0 segments', () => api.segmentPermutation({ segments: 0 }), 'segments'),
    invalid('a segment range with low > high', () => api.segmentPermutation({ segments: [3, 2] }), 'segments[1]'),
    invalid('segments that are a string', () => api.segmentPermutation({ segments: 'many' as never }), 'segments'),
    invalid('an unknown mode', () => api.segmentPermutation({ mode: 'shuffled' as never }), 'mode'),
    ...tensorApplyCases(() => api.segmentPermutation(), seriesCases, () => fx.series),
    ...shapeSampleCases((shape, generator) => api.segmentPermutation().sample(shape as never, generator as Rng), [2, 6, 2]),
  ],
  applySegmentPermutation: [
    ...seriesCases((series) => api.applySegmentPermutation(series as tf.Tensor3D, { boundaries: two([]), order: two([0]) })),
    invalid('null params', () => api.applySegmentPermutation(fx.series, null as never), 'params'),
    shapeCase('boundaries for one series of two', () => api.applySegmentPermutation(fx.series, { boundaries: [[2]], order: two([0]) }), 'params.boundaries'),
    invalid('cuts that do not increase', () => api.applySegmentPermutation(fx.series, { boundaries: [[3, 2], []], order: [[0, 1, 2], [0]] }), 'params.boundaries[0]'),
    invalid('a cut at 0', () => api.applySegmentPermutation(fx.series, { boundaries: [[0], []], order: [[0, 1], [0]] }), 'params.boundaries[0][0]'),
    invalid('an order that is not a permutation', () => api.applySegmentPermutation(fx.series, { boundaries: [[3], []], order: [[0, 0], [0]] }), 'params.order[0]'),
    shapeCase('an order of the wrong length', () => api.applySegmentPermutation(fx.series, { boundaries: [[3], []], order: [[0], [0]] }), 'params.order[0]'),
  ],
  randomGrayscale: [
    invalid('options that are an array', () => api.randomGrayscale([] as never), 'options'),
    ...probabilityCases((value) => api.randomGrayscale({ probability: value as number })),
    shapeCase('apply: two channels', () => api.randomGrayscale().apply(fx.twoChannels, rng()), 'images'),
    ...applyCases(() => api.randomGrayscale()),
    ...sampleCases((n, generator) => api.randomGrayscale().sample(n as number, generator as Rng)),
  ],
  applyGrayscale: [
    ...imageCases((images) => api.applyGrayscale(images as tf.Tensor4D, { grayscale: two(true) })),
    shapeCase('five channels', () => api.applyGrayscale(fx.fiveChannels, { grayscale: two(true) }), 'images'),
    invalid('params that are an array', () => api.applyGrayscale(fx.images, [] as never), 'params'),
    shapeCase('one flag for two images', () => api.applyGrayscale(fx.images, { grayscale: [true] }), 'params.grayscale'),
  ],
  solarize: [
    invalid('options that are an array', () => api.solarize([] as never), 'options'),
    invalid('a threshold above 1', () => api.solarize({ threshold: 1.5 }), 'threshold'),
    ...probabilityCases((value) => api.solarize({ probability: value as number })),
    ...applyCases(() => api.solarize()),
    ...sampleCases((n, generator) => api.solarize().sample(n as number, generator as Rng)),
  ],
  applySolarize: [
    ...imageCases((images) => api.applySolarize(images as tf.Tensor4D, { solarize: two(true) })),
    invalid('null params', () => api.applySolarize(fx.images, null as never), 'params'),
    shapeCase('one flag for two images', () => api.applySolarize(fx.images, { solarize: [true] }), 'params.solarize'),
    invalid('a NaN threshold', () => api.applySolarize(fx.images, { solarize: two(true) }, { threshold: NaN }), 'threshold'),
  ],
  posterize: [
    invalid('options that are an array', () => api.posterize([] as never), 'options'),
    invalid('9 bits', () => api.posterize({ bits: 9 }), 'bits'),
    invalid('2.5 bits', () => api.posterize({ bits: 2.5 }), 'bits'),
    ...probabilityCases((value) => api.posterize({ probability: value as number })),
    ...applyCases(() => api.posterize()),
    ...sampleCases((n, generator) => api.posterize().sample(n as number, generator as Rng)),
  ],
  applyPosterize: [
    ...imageCases((images) => api.applyPosterize(images as tf.Tensor4D, { posterize: two(true) })),
    invalid('null params', () => api.applyPosterize(fx.images, null as never), 'params'),
    shapeCase('one flag for two images', () => api.applyPosterize(fx.images, { posterize: [true] }), 'params.posterize'),
    invalid('-1 bits', () => api.applyPosterize(fx.images, { posterize: two(true) }, { bits: -1 }), 'bits'),
  ],
  equalize: [
    invalid('options that are an array', () => api.equalize([] as never), 'options'),
    ...probabilityCases((value) => api.equalize({ probability: value as number })),
    ...applyCases(() => api.equalize()),
    ...sampleCases((n, generator) => api.equalize().sample(n as number, generator as Rng)),
  ],
  applyEqualize: [
    ...imageCases((images) => api.applyEqualize(images as tf.Tensor4D, { equalize: two(true) })),
    invalid('null params', () => api.applyEqualize(fx.images, null as never), 'params'),
    shapeCase('one flag for two images', () => api.applyEqualize(fx.images, { equalize: [true] }), 'params.equalize'),
    invalid('a flag that is not a boolean', () => api.applyEqualize(fx.images, { equalize: [1, 0] as never }), 'params.equalize[0]'),
  ],
  normalize: [
    invalid('no options', () => api.normalize(undefined as never), 'options'),
    invalid('no means', () => api.normalize({ mean: [], std: [1] }), 'mean'),
    invalid('a std of 0', () => api.normalize({ mean: [0], std: [0] }), 'std[0]'),
    invalid('a std that is 0 in float32', () => api.normalize({ mean: [0], std: [1e-50] }), 'std[0]'),
    invalid('a mean beyond float32', () => api.normalize({ mean: [1e39], std: [1] }), 'mean[0]'),
    shapeCase('means and stds of different lengths', () => api.normalize({ mean: [0, 0], std: [1, 1, 1] }), 'mean'),
    shapeCase('apply: three means for grey images', () => api.normalize({ mean: [0, 0, 0], std: [1] }).apply(fx.grey, rng()), 'mean'),
    ...prefixed('apply: ', imageCases((images) => api.normalize({ mean: [0.5], std: [0.5] }).apply(images as tf.Tensor4D, rng()))),
  ],
  applyNormalize: [
    ...imageCases((images) => api.applyNormalize(images as tf.Tensor4D, { mean: [0.5], std: [0.5] })),
    invalid('no options', () => api.applyNormalize(fx.images, undefined as never), 'options'),
    invalid('a negative std', () => api.applyNormalize(fx.images, { mean: [0], std: [-1] }), 'std[0]'),
    invalid('a std below the smallest normal float32', () => api.applyNormalize(fx.images, { mean: [0], std: [1e-39] }), 'std[0]'),
    invalid('a NaN mean', () => api.applyNormalize(fx.images, { mean: [NaN], std: [1] }), 'mean[0]'),
    shapeCase('two stds for three channels', () => api.applyNormalize(fx.images, { mean: [0], std: [1, 1] }), 'std'),
  ],
  randomErasing: [
    invalid('options that are an array', () => api.randomErasing([] as never), 'options'),
    ...probabilityCases((value) => api.randomErasing({ probability: value as number })),
    invalid('a scale above 1', () => api.randomErasing({ scale: [0.5, 1.5] }), 'scale[1]'),
    invalid('a ratio starting at 0', () => api.randomErasing({ ratio: [0, 1] }), 'ratio[0]'),
    invalid('an unknown value', () => api.randomErasing({ value: 'noise' as never }), 'value'),
    invalid('a value beyond float32', () => api.randomErasing({ value: 1e39 }), 'value'),
    invalid('no per-channel values', () => api.randomErasing({ value: [] }), 'value'),
    invalid('a per-channel value beyond float32', () => api.randomErasing({ value: [0, 1e39] }), 'value[1]'),
    shapeCase('apply: two values for three channels', () => api.randomErasing({ value: [0, 0] }).apply(fx.images, rng()), 'value'),
    ...applyCases(() => api.randomErasing({ probability: 1, value: 'random' })),
    ...shapeSampleCases((shape, generator) => api.randomErasing().sample(shape as never, generator as Rng), [2, 4, 4, 3]),
  ],
  cutout: [
    invalid('options that are an array', () => api.cutout([] as never), 'options'),
    invalid('a size of 0', () => api.cutout({ size: 0 }), 'size'),
    invalid('a fractional size', () => api.cutout({ size: 2.5 }), 'size'),
    invalid('a NaN value', () => api.cutout({ value: NaN }), 'value'),
    ...probabilityCases((value) => api.cutout({ probability: value as number })),
    ...applyCases(() => api.cutout({ size: 2 })),
    ...shapeSampleCases((shape, generator) => api.cutout({ size: 2 }).sample(shape as never, generator as Rng), [2, 4, 4, 3]),
  ],
  applyErasing: [
    ...imageCases((images) => api.applyErasing(images as tf.Tensor4D, { erase: [true, false], top: two(0), left: two(0), height: [2, 0], width: [2, 0] })),
    invalid('params that are an array', () => api.applyErasing(fx.images, [] as never), 'params'),
    shapeCase('one flag for two images', () => api.applyErasing(fx.images, { erase: [true], top: two(0), left: two(0), height: two(2), width: two(2) }), 'params.erase'),
    invalid('a box taller than the image', () => api.applyErasing(fx.images, { erase: [true, false], top: two(0), left: two(0), height: [5, 0], width: [2, 0] }), 'params.height[0]'),
    invalid('a fractional top', () => api.applyErasing(fx.images, { erase: [true, false], top: [1.5, 0], left: two(0), height: [2, 0], width: [2, 0] }), 'params.top[0]'),
    shapeCase('noise for one image of two', () => api.applyErasing(fx.images, { erase: [true, false], top: two(0), left: two(0), height: [2, 0], width: [2, 0], noise: [[0.1]] }), 'params.noise'),
    shapeCase('a noise fill of the wrong size', () => api.applyErasing(fx.images, { erase: [true, false], top: two(0), left: two(0), height: [2, 0], width: [2, 0], noise: [[0.1], null] }), 'params.noise[0]'),
    invalid('a NaN noise value', () => api.applyErasing(fx.images, { erase: [true, false], top: two(0), left: two(0), height: [2, 0], width: [2, 0], noise: [[NaN, ...epsilonOf(11)], null] }), 'params.noise[0][0]'),
    invalid('a noise value beyond float32', () => api.applyErasing(fx.images, { erase: [true, false], top: two(0), left: two(0), height: [2, 0], width: [2, 0], noise: [[1e39, ...epsilonOf(11)], null] }), 'params.noise[0][0]'),
    shapeCase('two values for three channels', () => api.applyErasing(fx.images, { erase: two(false), top: two(0), left: two(0), height: two(0), width: two(0) }, { value: [0, 0] }), 'value'),
  ],
  gaussianBlur: [
    invalid('options that are an array', () => api.gaussianBlur([] as never), 'options'),
    invalid('an even kernel size', () => api.gaussianBlur({ kernelSize: 4 }), 'kernelSize'),
    invalid('a kernel size of 0', () => api.gaussianBlur({ kernelSize: 0 }), 'kernelSize'),
    invalid('a sigma range starting at 0', () => api.gaussianBlur({ sigma: [0, 1] }), 'sigma[0]'),
    ...probabilityCases((value) => api.gaussianBlur({ probability: value as number })),
    invalid('apply: a kernel larger than the images', () => api.gaussianBlur({ kernelSize: 5 }).apply(fx.tiny, rng()), 'kernelSize'),
    ...applyCases(() => api.gaussianBlur({ kernelSize: 3 })),
    ...sampleCases((n, generator) => api.gaussianBlur().sample(n as number, generator as Rng)),
  ],
  applyGaussianBlur: [
    ...imageCases((images) => api.applyGaussianBlur(images as tf.Tensor4D, { blur: two(true), sigma: two(1) })),
    invalid('params that are an array', () => api.applyGaussianBlur(fx.images, [] as never), 'params'),
    shapeCase('one flag for two images', () => api.applyGaussianBlur(fx.images, { blur: [true], sigma: two(1) }), 'params.blur'),
    invalid('a sigma of 0', () => api.applyGaussianBlur(fx.images, { blur: two(true), sigma: [0, 1] }), 'params.sigma[0]'),
    invalid('a kernel larger than the images', () => api.applyGaussianBlur(fx.images, { blur: two(true), sigma: two(1) }, { kernelSize: 9 }), 'kernelSize'),
  ],
  gaussianKernel1d: [
    invalid('an even kernel size', () => api.gaussianKernel1d(2, 1), 'kernelSize'),
    invalid('a kernel size of 0', () => api.gaussianKernel1d(0, 1), 'kernelSize'),
    invalid('a fractional kernel size', () => api.gaussianKernel1d(3.5, 1), 'kernelSize'),
    invalid('a sigma of 0', () => api.gaussianKernel1d(3, 0), 'sigma'),
    invalid('a NaN sigma', () => api.gaussianKernel1d(3, NaN), 'sigma'),
  ],
  viewPreset: [
    invalid('an unknown preset', () => api.viewPreset('swav' as never, { size: [8, 8] }), 'name'),
    invalid('no options', () => api.viewPreset('simclr', undefined as never), 'options'),
    invalid('no size', () => api.viewPreset('simclr', {} as never), 'size'),
    invalid('a size of 0', () => api.viewPreset('simclr', { size: [0, 8] }), 'size[0]'),
    invalid('a strength above 1', () => api.viewPreset('byol', { size: [8, 8], strength: 1.5 }), 'strength'),
    invalid('a NaN strength', () => api.viewPreset('mocoV2', { size: [8, 8], strength: NaN }), 'strength'),
    shapeCase('generate: two channels', () => api.viewPreset('simclr', { size: [4, 4] }).generate(fx.twoChannels, rng()), 'images'),
    ...prefixed('generate: ', [
      ...imageCases((images) => api.viewPreset('simclr', { size: [4, 4] }).generate(images as tf.Tensor4D, rng())),
      ...rngCases((generator) => api.viewPreset('simclr', { size: [4, 4] }).generate(fx.images, generator as Rng)),
    ]),
  ],
};

describe('@contrastive/augment reliability battery', () => {
  it('every export of the index has a case', () => {
    expect(exportCoverageGaps(api, coverage)).toEqual({ missing: [], stale: [] });
  });

  for (const [name, entry] of Object.entries(coverage) as [string, ExportCoverage][]) {
    if (!Array.isArray(entry)) continue;
    for (const { what, run, code, argument } of entry as readonly BadInputCase[]) {
      it(`${name}: ${what}`, async () => {
        await expectNoLeak(() => expectRejectsContrastive(run, code, argument));
      });
    }
  }
});

// ---------------------------------------------------------------------------------------------
// Image ops for the properties: random valid hyper-parameters for a given input shape

type Shape = [number, number, number, number];

/** One random trial of an image op: the call, and the output shape it documents (view-major rows). */
interface Trial {
  readonly run: (images: tf.Tensor4D, generator: Rng) => tf.Tensor4D;
  readonly shape: readonly number[];
}

interface ImageOp {
  /** Channel counts the op accepts. */
  readonly channels: readonly number[];
  /** Smallest image side the trials need. */
  readonly minSide: number;
  /** The argument that names the images in messages. */
  readonly argument: string;
  readonly trials: (shape: Shape) => fc.Arbitrary<Trial>;
}

function imageOp(trials: (shape: Shape) => fc.Arbitrary<Trial>, options: Partial<Omit<ImageOp, 'trials'>> = {}): ImageOp {
  return { channels: [1, 3], minSide: 1, argument: 'images', ...options, trials };
}

const unit = fc.double({ min: 0, max: 1, noNaN: true });
const probabilityArb = fc.oneof(fc.constantFrom(0, 1), unit);
function range(min: number, max: number): fc.Arbitrary<[number, number]> {
  return fc.tuple(fc.double({ min, max, noNaN: true }), fc.double({ min, max, noNaN: true })).map(([a, b]) => (a <= b ? [a, b] : [b, a]));
}
const sizeArb = fc.tuple(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 6 }));
const optional = <T>(arbitrary: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> => fc.option(arbitrary, { nil: undefined });
const interpolationArb = fc.constantFrom<api.WarpInterpolation>('nearest', 'bilinear');
const perImage = <T>(arbitrary: fc.Arbitrary<T>, n: number): fc.Arbitrary<T[]> => fc.array(arbitrary, { minLength: n, maxLength: n });
/** Shape-keeping augmentations for the combinators. */
const stages = (): Augmentation[] => [api.horizontalFlip(), api.colorJitter({ saturation: [0.5, 1.5] }), api.gaussianNoise({ probability: 1 })];
const same = (shape: Shape, run: Trial['run']): Trial => ({ shape, run });

const jitterOptions = fc.record({
  probability: probabilityArb,
  brightness: range(0, 3),
  contrast: range(0, 3),
  saturation: optional(range(0, 3)),
  hue: optional(range(-0.5, 0.5)),
  order: fc.constantFrom<api.JitterOrder>('fixed', 'random'),
  contrastMean: fc.constantFrom<api.ContrastMean>('all', 'luma'),
  clamp: fc.constantFrom<api.JitterClamp>('end', 'each'),
});
const rotationOptions = fc.record({ degrees: fc.oneof(fc.double({ min: 0, max: 360, noNaN: true }), range(-360, 360)), interpolation: interpolationArb, fill: unit });
const shearArb = fc.oneof(
  fc.double({ min: 0, max: 60, noNaN: true }),
  range(-60, 60),
  fc.tuple(range(-60, 60), range(-60, 60)).map(([x, y]): [number, number, number, number] => [...x, ...y]),
);
const cropOptions = ([, h, w]: Shape): fc.Arbitrary<api.RandomCropOptions> =>
  fc.integer({ min: 0, max: 2 }).chain((padding) =>
    fc.record({
      padding: fc.constant(padding),
      paddingMode: fc.constantFrom<api.CropPaddingMode>('constant', 'edge', 'reflect', 'symmetric'),
      fill: unit,
      size: optional(fc.tuple(fc.integer({ min: 1, max: h + 2 * padding }), fc.integer({ min: 1, max: w + 2 * padding }))),
    }),
  );
const erasingOptions = (c: number): fc.Arbitrary<api.RandomErasingOptions> =>
  fc.record({
    probability: probabilityArb,
    scale: range(0, 1),
    ratio: range(0.2, 5),
    value: fc.oneof(unit, fc.constant('random' as const), perImage(unit, c)),
  });
const blurOptions = ([, h, w]: Shape): fc.Arbitrary<api.GaussianBlurOptions> =>
  fc.record({
    kernelSize: optional(fc.integer({ min: 0, max: Math.min(h, w) - 1 }).map((radius) => 2 * radius + 1)),
    sigma: range(0.05, 3),
    probability: probabilityArb,
  });
const statistics = (c: number): fc.Arbitrary<api.NormalizeOptions> =>
  fc.record({
    mean: fc.oneof(perImage(fc.double({ min: -2, max: 2, noNaN: true }), 1), perImage(fc.double({ min: -2, max: 2, noNaN: true }), c)),
    std: fc.oneof(perImage(fc.double({ min: 0.01, max: 10, noNaN: true }), 1), perImage(fc.double({ min: 0.01, max: 10, noNaN: true }), c)),
  });

const IMAGE_OPS: Record<string, ImageOp> = {
  compose: imageOp((shape) => fc.boolean().map((empty) => same(shape, (x, r) => api.compose(empty ? [] : [api.randomResizedCrop(), ...stages()]).apply(x, r)))),
  randomResizedCrop: imageOp(([n, h, w, c]) =>
    fc.record({ scale: range(0.01, 1), ratio: range(0.2, 5), flipProbability: probabilityArb, size: optional(sizeArb) }).map((options) => ({
      shape: [n, ...(options.size ?? [h, w]), c],
      run: (x, r) => api.randomResizedCrop(options).apply(x, r),
    })),
  ),
  applyResizedCrop: imageOp(([n, h, w, c]) =>
    fc.record({ scale: range(0.01, 1), ratio: range(0.2, 5), flipProbability: probabilityArb, size: optional(sizeArb) }).map((options) => ({
      shape: [n, ...(options.size ?? [h, w]), c],
      run: (x, r) => api.applyResizedCrop(x, api.randomResizedCrop(options).sample(n, r), { size: options.size }),
    })),
  ),
  applyCropBoxes: imageOp(([n, h, w, c]) =>
    fc.record({ boxes: perImage(perImage(fc.double({ min: -2, max: 3, noNaN: true }), 4), n), size: optional(sizeArb) }).map(({ boxes, size }) => ({
      shape: [n, ...(size ?? [h, w]), c],
      run: (x) => api.applyCropBoxes(x, boxes, { size }),
    })),
  ),
  horizontalFlip: imageOp((shape) => probabilityArb.map((probability) => same(shape, (x, r) => api.horizontalFlip({ probability }).apply(x, r)))),
  applyHorizontalFlip: imageOp((shape) => perImage(fc.boolean(), shape[0]).map((flip) => same(shape, (x) => api.applyHorizontalFlip(x, { flip })))),
  colorJitter: imageOp((shape) => jitterOptions.map((options) => same(shape, (x, r) => api.colorJitter(options).apply(x, r))), { channels: [1, 3, 4] }),
  applyColorJitter: imageOp(
    (shape) => jitterOptions.map((options) => same(shape, (x, r) => api.applyColorJitter(x, api.colorJitter(options).sample(shape[0], r), options))),
    { channels: [1, 3, 4] },
  ),
  gaussianNoise: imageOp((shape) =>
    fc.record({ probability: probabilityArb, std: fc.double({ min: 0, max: 1, noNaN: true }) }).map((options) => same(shape, (x, r) => api.gaussianNoise(options).apply(x, r))),
  ),
  applyGaussianNoise: imageOp((shape) =>
    fc
      .record({ probability: probabilityArb, std: fc.double({ min: 0, max: 1, noNaN: true }) })
      .map((options) => same(shape, (x, r) => api.applyGaussianNoise(x, api.gaussianNoise(options).sample(shape, r), options))),
  ),
  recipeAugmentation: imageOp((shape) => fc.boolean().map((flip) => same(shape, (x, r) => api.recipeAugmentation({ flip }).apply(x, r)))),
  viewGenerator: imageOp(([n, h, w, c]) =>
    fc.record({ views: fc.integer({ min: 1, max: 3 }), stage: fc.integer({ min: 0, max: 2 }) }).map(({ views, stage }) => ({
      shape: [views * n, h, w, c],
      run: (x, r) => api.viewGenerator({ augmentation: stages()[stage] as Augmentation, views }).generate(x, r),
    })),
  ),
  randomRotation: imageOp((shape) => rotationOptions.map((options) => same(shape, (x, r) => api.randomRotation(options).apply(x, r)))),
  applyRotation: imageOp((shape) =>
    fc
      .record({ angle: perImage(fc.oneof(fc.double({ min: -720, max: 720, noNaN: true }), fc.constantFrom(90, -180, 1e6)), shape[0]), interpolation: interpolationArb, fill: unit })
      .map(({ angle, ...options }) => same(shape, (x) => api.applyRotation(x, { angle }, options))),
  ),
  randomTranslation: imageOp((shape) =>
    fc
      .record({ translate: fc.tuple(unit, unit), subpixel: fc.boolean(), interpolation: interpolationArb, fill: unit })
      .map((options) => same(shape, (x, r) => api.randomTranslation(options).apply(x, r))),
  ),
  applyTranslation: imageOp((shape) =>
    fc
      .record({ dx: perImage(fc.double({ min: -10, max: 10, noNaN: true }), shape[0]), dy: perImage(fc.double({ min: -10, max: 10, noNaN: true }), shape[0]), interpolation: interpolationArb, fill: unit })
      .map(({ dx, dy, ...options }) => same(shape, (x) => api.applyTranslation(x, { dx, dy }, options))),
  ),
  randomAffine: imageOp((shape) =>
    fc
      .record({
        degrees: fc.oneof(fc.double({ min: 0, max: 180, noNaN: true }), range(-180, 180)),
        translate: fc.tuple(unit, unit),
        scale: range(0.1, 3),
        shear: shearArb,
        subpixel: fc.boolean(),
        interpolation: interpolationArb,
        fill: unit,
      })
      .map((options) => same(shape, (x, r) => api.randomAffine(options).apply(x, r))),
  ),
  applyAffine: imageOp((shape) => {
    const values = (min: number, max: number): fc.Arbitrary<number[]> => perImage(fc.double({ min, max, noNaN: true }), shape[0]);
    return fc
      .record({ angle: values(-360, 360), dx: values(-10, 10), dy: values(-10, 10), scale: values(0.05, 5), shearX: values(-80, 80), shearY: values(-80, 80), interpolation: interpolationArb, fill: unit })
      .map(({ interpolation, fill, ...params }) => same(shape, (x) => api.applyAffine(x, params, { interpolation, fill })));
  }),
  randomCrop: imageOp(
    ([n, h, w, c]) => cropOptions([n, h, w, c]).map((options) => ({ shape: [n, ...(options.size ?? [h, w]), c], run: (x, r) => api.randomCrop(options).apply(x, r) })),
    { minSide: 3 },
  ),
  applyCrop: imageOp(
    ([n, h, w, c]) =>
      cropOptions([n, h, w, c]).map((options) => ({
        shape: [n, ...(options.size ?? [h, w]), c],
        run: (x, r) => api.applyCrop(x, api.randomCrop(options).sample(n, r, [h, w]), options),
      })),
    { minSide: 3 },
  ),
  verticalFlip: imageOp((shape) => probabilityArb.map((probability) => same(shape, (x, r) => api.verticalFlip({ probability }).apply(x, r)))),
  applyVerticalFlip: imageOp((shape) => perImage(fc.boolean(), shape[0]).map((flip) => same(shape, (x) => api.applyVerticalFlip(x, { flip })))),
  rotate90: imageOp((shape) => {
    const turn = shape[1] === shape[2] ? fc.constantFrom<api.QuarterTurns>(0, 1, 2, 3) : fc.constantFrom<api.QuarterTurns>(0, 2);
    return fc
      .record({ probability: probabilityArb, turns: fc.array(turn, { minLength: 1, maxLength: 4 }) })
      .map((options) => same(shape, (x, r) => api.rotate90(options).apply(x, r)));
  }),
  applyRotate90: imageOp((shape) => {
    const turn = shape[1] === shape[2] ? fc.constantFrom(0, 1, 2, 3) : fc.constantFrom(0, 2);
    return perImage(turn, shape[0]).map((turns) => same(shape, (x) => api.applyRotate90(x, { turns })));
  }),
  loocViews: imageOp(([n, h, w, c]) =>
    fc.record({ keys: fc.constantFrom<api.LoocKeyMode>('shareFamily', 'varyFamily'), base: fc.boolean() }).map(({ keys, base }) => ({
      shape: [4 * n, h, w, c],
      run: (x, r) => {
        const families = [api.colorJitter({ probability: 1 }), api.randomRotation({ degrees: 30 })];
        const batch = api.loocViews({ families, keys, ...(base ? { base: api.randomResizedCrop() } : {}) }).generate(x, r);
        tf.dispose([...batch.heads]);
        return batch.images;
      },
    })),
  ),
  randomApply: imageOp((shape) =>
    fc.record({ probability: probabilityArb, stage: fc.integer({ min: 0, max: 2 }) }).map(({ probability, stage }) => same(shape, (x, r) => api.randomApply(stages()[stage] as Augmentation, { probability }).apply(x, r))),
  ),
  oneOf: imageOp((shape) =>
    perImage(fc.double({ min: 0, max: 5, noNaN: true }), 3)
      .filter((weights) => weights.reduce((a, b) => a + b, 0) > 0)
      .map((weights) => same(shape, (x, r) => api.oneOf(stages(), { weights }).apply(x, r))),
  ),
  randomOrder: imageOp((shape) => fc.constant(same(shape, (x, r) => api.randomOrder(stages()).apply(x, r)))),
  applySelected: imageOp((shape) =>
    fc.record({ selected: perImage(fc.boolean(), shape[0]), stage: fc.integer({ min: 0, max: 2 }) }).map(({ selected, stage }) => same(shape, (x, r) => api.applySelected(x, { selected }, stages()[stage] as Augmentation, r))),
  ),
  applyChoice: imageOp((shape) => perImage(fc.integer({ min: 0, max: 2 }), shape[0]).map((choice) => same(shape, (x, r) => api.applyChoice(x, { choice }, stages(), r)))),
  applyOrder: imageOp((shape) => fc.constant(same(shape, (x, r) => api.applyOrder(x, api.randomOrder(stages()).sample(shape[0], r), stages(), r)))),
  multiCrop: imageOp(([n, h, w, c]) =>
    fc
      .record({
        globalCrops: fc.integer({ min: 1, max: 2 }),
        localCrops: fc.integer({ min: 0, max: 2 }),
        globalScale: range(0.05, 1),
        localScale: range(0.01, 0.5),
        ratio: range(0.3, 3),
        flipProbability: probabilityArb,
        globalSize: optional(sizeArb),
        localSize: optional(sizeArb),
        augment: fc.boolean(),
      })
      .map(({ augment, ...options }) => ({
        shape: [options.globalCrops * n, ...(options.globalSize ?? [h, w]), c],
        run: (x, r) => {
          const views = api.multiCrop({ ...options, ...(augment ? { augmentation: api.colorJitter() } : {}) }).generate(x, r);
          try {
            // The local crops (another size) are checked here: shape, and finite rows for finite images.
            const input = x.dataSync();
            const finiteImage = Array.from({ length: n }, (_, i) => input.slice((i * input.length) / n, ((i + 1) * input.length) / n).every(Number.isFinite));
            for (const local of views.local) {
              const values = local.dataSync();
              const perRow = values.length / n;
              const bad = Array.from(values).some((value, index) => finiteImage[Math.floor(index / perRow)] === true && !Number.isFinite(value));
              if (local.shape[0] !== n || local.shape[3] !== c || bad) {
                throw new Error(`a local crop of shape [${local.shape.join(', ')}] is not a finite [${n}, h, w, ${c}] batch`);
              }
            }
            return tf.concat(views.global, 0);
          } finally {
            tf.dispose([...views.global, ...views.local]);
          }
        },
      })),
  ),
  'multiCrop.toViewGenerator': imageOp(
    ([n, h, w, c]) =>
      fc.record({ globalCrops: fc.integer({ min: 1, max: 3 }), labels: fc.constantFrom<'views' | 'samples'>('views', 'samples') }).map(({ globalCrops, labels }) => ({
        shape: [globalCrops * n, h, w, c],
        run: (x, r) => {
          const sampleLabels = tf.tensor1d(Array.from({ length: n }, (_, i) => i), 'int32');
          try {
            // The returned generator is synchronous (core's type also allows a promise).
            const batch = api.multiCrop({ globalCrops }).toViewGenerator({ labels })({ inputs: x, labels: sampleLabels }, r) as Batch;
            batch.labels.dispose();
            return batch.inputs as tf.Tensor4D;
          } finally {
            sampleLabels.dispose();
          }
        },
      })),
    { argument: 'batch.inputs' },
  ),
  randomGrayscale: imageOp((shape) => probabilityArb.map((probability) => same(shape, (x, r) => api.randomGrayscale({ probability }).apply(x, r))), { channels: [1, 3, 4] }),
  applyGrayscale: imageOp((shape) => perImage(fc.boolean(), shape[0]).map((grayscale) => same(shape, (x) => api.applyGrayscale(x, { grayscale }))), { channels: [1, 3, 4] }),
  solarize: imageOp((shape) => fc.record({ probability: probabilityArb, threshold: unit }).map((options) => same(shape, (x, r) => api.solarize(options).apply(x, r)))),
  applySolarize: imageOp((shape) =>
    fc.record({ solarize: perImage(fc.boolean(), shape[0]), threshold: unit }).map(({ solarize, threshold }) => same(shape, (x) => api.applySolarize(x, { solarize }, { threshold }))),
  ),
  posterize: imageOp((shape) => fc.record({ probability: probabilityArb, bits: fc.integer({ min: 0, max: 8 }) }).map((options) => same(shape, (x, r) => api.posterize(options).apply(x, r)))),
  applyPosterize: imageOp((shape) =>
    fc.record({ posterize: perImage(fc.boolean(), shape[0]), bits: fc.integer({ min: 0, max: 8 }) }).map(({ posterize, bits }) => same(shape, (x) => api.applyPosterize(x, { posterize }, { bits }))),
  ),
  equalize: imageOp((shape) => probabilityArb.map((probability) => same(shape, (x, r) => api.equalize({ probability }).apply(x, r)))),
  applyEqualize: imageOp((shape) => perImage(fc.boolean(), shape[0]).map((equalize) => same(shape, (x) => api.applyEqualize(x, { equalize })))),
  normalize: imageOp((shape) => statistics(shape[3]).map((options) => same(shape, (x, r) => api.normalize(options).apply(x, r)))),
  applyNormalize: imageOp((shape) => statistics(shape[3]).map((options) => same(shape, (x) => api.applyNormalize(x, options)))),
  randomErasing: imageOp((shape) => erasingOptions(shape[3]).map((options) => same(shape, (x, r) => api.randomErasing(options).apply(x, r)))),
  cutout: imageOp((shape) =>
    fc
      .record({ size: fc.integer({ min: 1, max: 8 }), probability: probabilityArb, value: fc.oneof(unit, perImage(unit, shape[3])) })
      .map((options) => same(shape, (x, r) => api.cutout(options).apply(x, r))),
  ),
  applyErasing: imageOp((shape) =>
    erasingOptions(shape[3]).map((options) =>
      same(shape, (x, r) => api.applyErasing(x, api.randomErasing(options).sample(shape, r), options.value === 'random' ? {} : { value: options.value })),
    ),
  ),
  gaussianBlur: imageOp((shape) => blurOptions(shape).map((options) => same(shape, (x, r) => api.gaussianBlur(options).apply(x, r))), { minSide: 2 }),
  applyGaussianBlur: imageOp(
    (shape) => blurOptions(shape).map((options) => same(shape, (x, r) => api.applyGaussianBlur(x, api.gaussianBlur(options).sample(shape[0], r), options))),
    { minSide: 2 },
  ),
  viewPreset: imageOp(
    ([n, , , c]) =>
      fc
        .record({
          name: fc.constantFrom<api.ViewPresetName>('simclr', 'mocoV2', 'byol'),
          size: fc.oneof({ weight: 4, arbitrary: sizeArb }, { weight: 1, arbitrary: fc.constant<[number, number]>([65, 65]) }),
          strength: unit,
        })
        .map(({ name, size, strength }) => ({ shape: [2 * n, ...size, c], run: (x, r) => api.viewPreset(name, { size, strength }).generate(x, r) })),
    { channels: [1, 3, 4] },
  ),
};

/** Finite pixels in [0, 1] (zeros, ones and duplicated images included) in a batch the op accepts. */
const pixel = fc.oneof({ weight: 1, arbitrary: fc.constantFrom(0, 1) }, { weight: 4, arbitrary: fc.float({ min: 0, max: 1, noNaN: true }) });
function inputArb(op: ImageOp): fc.Arbitrary<{ shape: Shape; values: number[] }> {
  return fc
    .record({
      n: fc.integer({ min: 1, max: 3 }),
      h: fc.integer({ min: op.minSide, max: 6 }),
      w: fc.integer({ min: op.minSide, max: 6 }),
      c: fc.constantFrom(...op.channels),
      fill: fc.constantFrom('drawn', 'duplicated', 'zeros', 'ones'),
    })
    .chain(({ n, h, w, c, fill }) => {
      const shape: Shape = [n, h, w, c];
      const perImageSize = h * w * c;
      return perImage(pixel, n * perImageSize).map((values) => {
        switch (fill) {
          case 'zeros':
            return { shape, values: values.map(() => 0) };
          case 'ones':
            return { shape, values: values.map(() => 1) };
          case 'duplicated':
            return { shape, values: values.map((_, i) => values[i % perImageSize] as number) };
          default:
            return { shape, values };
        }
      });
    });
}

interface TrialResult {
  readonly shape: readonly number[];
  readonly dtype: string;
  readonly values: number[];
}

/** Runs `trial` on new images (disposed after), returning the output as host values; checks for leaks. */
async function runTrial(trial: Trial, input: { shape: Shape; values: number[] }, seed: number): Promise<TrialResult> {
  return expectNoLeak(() => {
    const images = tf.tensor4d(input.values, input.shape);
    try {
      const out = trial.run(images, new Rng(seed));
      try {
        return { shape: out.shape, dtype: out.dtype, values: Array.from(out.dataSync()) };
      } finally {
        out.dispose();
      }
    } finally {
      images.dispose();
    }
  });
}

/** The first trial of `op` for `shape`, reproducibly. */
function fixedTrial(op: ImageOp, shape: Shape, seed = 7): Trial {
  return fc.sample(op.trials(shape), { numRuns: 1, seed })[0] as Trial;
}

function opNamed(name: string): ImageOp {
  return IMAGE_OPS[name] as ImageOp;
}

function nonFinite(values: readonly number[]): number[] {
  return values.flatMap((value, index) => (Number.isFinite(value) ? [] : [index]));
}

describe('every image op of the index has a property entry', () => {
  it('IMAGE_OPS covers the image exports', () => {
    const notImageOps = new Set([
      'cropBoxes',
      'gaussianKernel1d',
      'renderGrid',
      'scarfCorruption',
      'applyScarfCorruption',
      'featureMasking',
      'applyFeatureMasking',
      'tabularNoise',
      'applyTabularNoise',
      'tokenMasking',
      'applyTokenMasking',
      'spanDeletion',
      'applySpanDeletion',
      'randomTokenCrop',
      'applyTokenCrop',
      'localShuffle',
      'applyLocalShuffle',
      'jitter',
      'applyJitter',
      'scaling',
      'applyScaling',
      'magnitudeWarp',
      'applyMagnitudeWarp',
      'timeWarp',
      'applyTimeWarp',
      'windowCrop',
      'applyWindowCrop',
      'segmentPermutation',
      'applySegmentPermutation',
    ]);
    const imageExports = Object.keys(api).filter((name) => !notImageOps.has(name));
    expect(imageExports.filter((name) => !(name in IMAGE_OPS))).toEqual([]);
  });
});

describe('finite images in [0, 1] give finite float32 images of the documented shape (fast-check, cpu and wasm)', () => {
  for (const [name, op] of Object.entries(IMAGE_OPS)) {
    it(name, async () => {
      try {
        await fc.assert(
          fc.asyncProperty(
            inputArb(op).chain((input) => op.trials(input.shape).map((trial) => ({ input, trial }))),
            fc.nat(10_000),
            async ({ input, trial }, seed) => {
              for (const backend of ['cpu', 'wasm'] as const) {
                await useTestBackend(backend);
                const result = await runTrial(trial, input, seed);
                expect(result.shape, backend).toEqual(trial.shape);
                expect(result.dtype, backend).toBe('float32');
                expect(nonFinite(result.values), `${backend}: non-finite entries`).toEqual([]);
              }
            },
          ),
          { numRuns: 3 },
        );
      } finally {
        await useTestBackend();
      }
    });
  }
});

describe('a batch of one is a valid batch', () => {
  it.each(Object.keys(IMAGE_OPS))('%s', async (name) => {
    const op = opNamed(name);
    const shape: Shape = [1, 5, 5, op.channels.includes(3) ? 3 : (op.channels[0] as number)];
    const trial = fixedTrial(op, shape);
    const result = await runTrial(trial, { shape, values: pattern(shape, 3) }, 1);
    expect(result.shape).toEqual(trial.shape);
    expect(nonFinite(result.values)).toEqual([]);
  });
});

describe('a NaN or ±Infinity pixel is not an error and never reaches another image (documented pass-through)', () => {
  it.each(Object.keys(IMAGE_OPS))('%s', async (name) => {
    const op = opNamed(name);
    const shape: Shape = [2, 5, 5, op.channels.includes(3) ? 3 : (op.channels[0] as number)];
    const values = pattern(shape, 4);
    values[0] = NaN;
    values[7] = Infinity;
    values[13] = -Infinity; // all three in image 0
    const trial = fixedTrial(op, shape, 11);
    const result = await runTrial(trial, { shape, values }, 2);
    expect(result.shape).toEqual(trial.shape);
    // View-major output: row v n + i belongs to image i.
    const rows = result.shape[0] as number;
    const perRow = result.values.length / rows;
    const imageOne = result.values.filter((_, index) => Math.floor(index / perRow) % 2 === 1);
    expect(nonFinite(imageOne)).toEqual([]);
  });

  it('renderGrid rejects NaN and clamps ±Infinity', async () => {
    await expectRejectsContrastive(() => api.renderGrid(fx.withNaN), 'NON_FINITE', 'views');
    const infinite = tf.tensor4d([Infinity, -Infinity, 0.5, 1], [1, 2, 2, 1]);
    try {
      expect(api.renderGrid(infinite, { padding: 0 })).toBeInstanceOf(Uint8Array);
    } finally {
      infinite.dispose();
    }
  });

  it('tables and series pass NaN through to their own sample only', () => {
    const table = tf.tensor2d([NaN, 1, 2, 3, 4, 5], [2, 3]);
    const series = tf.tensor3d([NaN, 1, 2, 3, 4, 5, 6, 7], [2, 4, 1]);
    try {
      const outputs = [
        api.tabularNoise().apply(table, rng()),
        api.featureMasking({ rate: 0 }).apply(table, rng()),
        api.scarfCorruption({ marginals: fx.table3 }).apply(table, rng()),
        api.jitter().apply(series, rng()),
        api.scaling().apply(series, rng()),
        api.magnitudeWarp().apply(series, rng()),
        api.timeWarp().apply(series, rng()),
        api.windowCrop().apply(series, rng()),
        api.segmentPermutation({ segments: 2 }).apply(series, rng()),
      ];
      for (const out of outputs) {
        const values = Array.from(out.dataSync());
        const half = values.length / 2;
        expect(nonFinite(values.slice(half))).toEqual([]);
        out.dispose();
      }
    } finally {
      tf.dispose([table, series]);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Random bad hyper-parameters, shapes and channel counts (fast-check)

/** Synchronous construction or call; `expectRejectsContrastive` also covers promises. */
async function rejects(run: () => unknown, code: Parameters<typeof expectRejectsContrastive>[1], argument: string | null): Promise<void> {
  await expectNoLeak(() => expectRejectsContrastive(run, code, argument));
}

describe('random bad hyper-parameters and shapes are rejected (fast-check)', () => {
  const badProbability = fc.oneof(
    fc.double().filter((value) => Number.isNaN(value) || value < 0 || value > 1),
    fc.constantFrom<unknown>(NaN, Infinity, -Infinity, '0.5', true, [0.5]),
  );
  const PROBABILITIES: [string, (value: unknown) => unknown, string][] = [
    ['horizontalFlip', (p) => api.horizontalFlip({ probability: p as number }), 'probability'],
    ['verticalFlip', (p) => api.verticalFlip({ probability: p as number }), 'probability'],
    ['rotate90', (p) => api.rotate90({ probability: p as number }), 'probability'],
    ['colorJitter', (p) => api.colorJitter({ probability: p as number }), 'probability'],
    ['gaussianNoise', (p) => api.gaussianNoise({ probability: p as number }), 'probability'],
    ['randomResizedCrop', (p) => api.randomResizedCrop({ flipProbability: p as number }), 'flipProbability'],
    ['multiCrop', (p) => api.multiCrop({ flipProbability: p as number }), 'flipProbability'],
    ['randomApply', (p) => api.randomApply(flip(), { probability: p as number }), 'probability'],
    ['randomGrayscale', (p) => api.randomGrayscale({ probability: p as number }), 'probability'],
    ['solarize', (p) => api.solarize({ probability: p as number }), 'probability'],
    ['solarize threshold', (p) => api.solarize({ threshold: p as number }), 'threshold'],
    ['posterize', (p) => api.posterize({ probability: p as number }), 'probability'],
    ['equalize', (p) => api.equalize({ probability: p as number }), 'probability'],
    ['randomErasing', (p) => api.randomErasing({ probability: p as number }), 'probability'],
    ['cutout', (p) => api.cutout({ probability: p as number }), 'probability'],
    ['gaussianBlur', (p) => api.gaussianBlur({ probability: p as number }), 'probability'],
    ['viewPreset strength', (p) => api.viewPreset('simclr', { size: [8, 8], strength: p as number }), 'strength'],
    ['renderGrid background', (p) => api.renderGrid(fx.images, { background: p as number }), 'background'],
    ['scarfCorruption', (p) => api.scarfCorruption({ marginals: fx.marginals, rate: p as number }), 'rate'],
    ['featureMasking', (p) => api.featureMasking({ rate: p as number }), 'rate'],
    ['tokenMasking', (p) => api.tokenMasking({ maskId: 1, rate: p as number }), 'rate'],
    ['spanDeletion', (p) => api.spanDeletion({ padId: 0, rate: p as number }), 'rate'],
    ['windowCrop ratio', (p) => (typeof p === 'number' && p === 0 ? api.windowCrop({ ratio: 2 }) : api.windowCrop({ ratio: p as number })), 'ratio'],
  ];

  it('probabilities and rates outside [0, 1], NaN or not numbers', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...PROBABILITIES), badProbability, async ([, make, argument], value) => {
        await rejects(() => make(value), 'INVALID_ARGUMENT', argument);
      }),
      { numRuns: 80 },
    );
  });

  /** Non-positive or non-finite numbers. */
  const nonPositive = fc.oneof(fc.double({ max: 0 }), fc.constantFrom(NaN, Infinity, -Infinity));
  const SCALES: [string, (value: number) => unknown, string][] = [
    ['randomResizedCrop scale', (v) => api.randomResizedCrop({ scale: [v, 1] }), 'scale[0]'],
    ['randomResizedCrop ratio', (v) => api.randomResizedCrop({ ratio: [v, 2] }), 'ratio[0]'],
    ['multiCrop globalScale', (v) => api.multiCrop({ globalScale: [v, 1] }), 'globalScale[0]'],
    ['multiCrop localScale', (v) => api.multiCrop({ localScale: [v, 0.1] }), 'localScale[0]'],
    ['randomAffine scale', (v) => api.randomAffine({ degrees: 0, scale: [v, 1] }), 'scale[0]'],
    ['applyAffine scale', (v) => api.applyAffine(fx.images, { angle: two(0), dx: two(0), dy: two(0), scale: [v, 1], shearX: two(0), shearY: two(0) }), 'params.scale[0]'],
    ['randomErasing ratio', (v) => api.randomErasing({ ratio: [v, 1] }), 'ratio[0]'],
    ['gaussianBlur sigma', (v) => api.gaussianBlur({ sigma: [v, 1] }), 'sigma[0]'],
    ['applyGaussianBlur sigma', (v) => api.applyGaussianBlur(fx.images, { blur: two(true), sigma: [v, 1] }), 'params.sigma[0]'],
    ['gaussianKernel1d sigma', (v) => api.gaussianKernel1d(3, v), 'sigma'],
    ['normalize std', (v) => api.normalize({ mean: [0], std: [v] }), 'std[0]'],
    ['cropBoxes sw', (v) => api.cropBoxes({ sw: [v], sh: [1], cx: [0], cy: [0] }), 'crop.sw[0]'],
    ['windowCrop ratio', (v) => api.windowCrop({ ratio: v }), 'ratio'],
  ];

  it('non-positive and non-finite scales, ratios and standard deviations', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...SCALES), nonPositive, async ([, make, argument], value) => {
        await rejects(() => make(value), 'INVALID_ARGUMENT', argument);
      }),
      { numRuns: 60 },
    );
  });

  /** Counts and sides that are not positive integers. */
  const badCount = fc.oneof(
    fc.integer({ max: 0 }),
    fc.double({ min: 0.01, max: 100, noNaN: true }).filter((value) => !Number.isInteger(value)),
    fc.constantFrom(NaN, Infinity),
  );
  const SIDES: [string, (size: [number, number]) => unknown, string][] = [
    ['randomResizedCrop size', (size) => api.randomResizedCrop({ size }), 'size'],
    ['applyResizedCrop size', (size) => api.applyResizedCrop(fx.images, { sw: two(1), sh: two(1), cx: two(0), cy: two(0) }, { size }), 'options.size'],
    ['applyCropBoxes size', (size) => api.applyCropBoxes(fx.images, two([0, 0, 1, 1]), { size }), 'options.size'],
    ['multiCrop globalSize', (size) => api.multiCrop({ globalSize: size }), 'globalSize'],
    ['multiCrop localSize', (size) => api.multiCrop({ localSize: size }), 'localSize'],
    ['randomCrop size', (size) => api.randomCrop({ size }), 'size'],
    ['randomTranslation.sample imageSize', (size) => api.randomTranslation({ translate: [0.1, 0.1] }).sample(2, rng(), size), 'imageSize'],
    ['viewPreset size', (size) => api.viewPreset('simclr', { size }), 'size'],
  ];
  const COUNTS: [string, (value: number) => unknown, string][] = [
    ['cutout size', (v) => api.cutout({ size: v }), 'size'],
    ['gaussianBlur kernelSize', (v) => api.gaussianBlur({ kernelSize: v }), 'kernelSize'],
    ['multiCrop globalCrops', (v) => api.multiCrop({ globalCrops: v }), 'globalCrops'],
    ['viewGenerator views', (v) => api.viewGenerator({ augmentation: flip(), views: v }), 'views'],
    ['renderGrid scale', (v) => api.renderGrid(fx.images, { scale: v }), 'scale'],
    ['windowCrop length', (v) => api.windowCrop({ length: v }), 'length'],
    ['randomTokenCrop length', (v) => api.randomTokenCrop({ length: v, padId: 0 }), 'length'],
    ['spanDeletion maxSpan', (v) => api.spanDeletion({ padId: 0, maxSpan: v }), 'maxSpan'],
    ['localShuffle window', (v) => api.localShuffle({ window: v }), 'window'],
    ['segmentPermutation segments', (v) => api.segmentPermutation({ segments: v }), 'segments'],
    ['horizontalFlip.sample n', (v) => api.horizontalFlip().sample(v, rng()), 'n'],
    ['multiCrop.labels n', (v) => api.multiCrop().labels(v), 'n'],
  ];

  it('sizes and counts that are not positive integers', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...SIDES), badCount, fc.boolean(), async ([, make, argument], value, second) => {
        await rejects(() => make(second ? [3, value] : [value, 3]), 'INVALID_ARGUMENT', `${argument}[${second ? 1 : 0}]`);
      }),
      { numRuns: 40 },
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...COUNTS), badCount, async ([, make, argument], value) => {
        await rejects(() => make(value), 'INVALID_ARGUMENT', argument);
      }),
      { numRuns: 40 },
    );
  });

  const shapeOfRank = (excluded: number): fc.Arbitrary<number[]> =>
    fc
      .integer({ min: 0, max: 5 })
      .filter((rank) => rank !== excluded)
      .chain((rank) => fc.array(fc.integer({ min: 1, max: 3 }), { minLength: rank, maxLength: rank }));

  it('images of any other rank than 4, for every image op', async () => {
    const trials = new Map(Object.entries(IMAGE_OPS).map(([name, op]) => [name, fixedTrial(op, [2, 4, 4, op.channels.includes(3) ? 3 : (op.channels[0] as number)])]));
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...Object.keys(IMAGE_OPS)), shapeOfRank(4), async (name, shape) => {
        const x = tf.zeros(shape);
        try {
          await rejects(() => (trials.get(name) as Trial).run(x as tf.Tensor4D, rng()), 'SHAPE_MISMATCH', opNamed(name).argument);
        } finally {
          x.dispose();
        }
      }),
      { numRuns: 80 },
    );
  });

  const TENSOR_OPS: [string, number, string, (x: unknown) => unknown][] = [
    ['scarfCorruption', 2, 'table', (x) => api.scarfCorruption({ marginals: fx.marginals }).apply(x as tf.Tensor2D, rng())],
    ['applyScarfCorruption', 2, 'table', (x) => api.applyScarfCorruption(x as tf.Tensor2D, fx.marginals, { corrupted: [], rows: [] })],
    ['featureMasking', 2, 'table', (x) => api.featureMasking().apply(x as tf.Tensor2D, rng())],
    ['applyFeatureMasking', 2, 'table', (x) => api.applyFeatureMasking(x as tf.Tensor2D, { mask: [] })],
    ['tabularNoise', 2, 'table', (x) => api.tabularNoise().apply(x as tf.Tensor2D, rng())],
    ['applyTabularNoise', 2, 'table', (x) => api.applyTabularNoise(x as tf.Tensor2D, { epsilon: [] })],
    ['tokenMasking', 2, 'tokens', (x) => api.tokenMasking({ maskId: 1 }).apply(x as tf.Tensor2D, rng())],
    ['applyTokenMasking', 2, 'tokens', (x) => api.applyTokenMasking(x as tf.Tensor2D, { selected: [], replacement: [] })],
    ['spanDeletion', 2, 'tokens', (x) => api.spanDeletion({ padId: 0 }).apply(x as tf.Tensor2D, rng())],
    ['applySpanDeletion', 2, 'tokens', (x) => api.applySpanDeletion(x as tf.Tensor2D, { deleted: [] }, { padId: 0 })],
    ['randomTokenCrop', 2, 'tokens', (x) => api.randomTokenCrop({ length: 2, padId: 0 }).apply(x as tf.Tensor2D, rng())],
    ['applyTokenCrop', 2, 'tokens', (x) => api.applyTokenCrop(x as tf.Tensor2D, { start: [] }, { length: 2, padId: 0 })],
    ['localShuffle', 2, 'tokens', (x) => api.localShuffle().apply(x as tf.Tensor2D, rng())],
    ['applyLocalShuffle', 2, 'tokens', (x) => api.applyLocalShuffle(x as tf.Tensor2D, { order: [] })],
    ['jitter', 3, 'series', (x) => api.jitter().apply(x as tf.Tensor3D, rng())],
    ['applyJitter', 3, 'series', (x) => api.applyJitter(x as tf.Tensor3D, { epsilon: [] })],
    ['scaling', 3, 'series', (x) => api.scaling().apply(x as tf.Tensor3D, rng())],
    ['applyScaling', 3, 'series', (x) => api.applyScaling(x as tf.Tensor3D, { factor: [] })],
    ['magnitudeWarp', 3, 'series', (x) => api.magnitudeWarp().apply(x as tf.Tensor3D, rng())],
    ['applyMagnitudeWarp', 3, 'series', (x) => api.applyMagnitudeWarp(x as tf.Tensor3D, { warps: [] })],
    ['timeWarp', 3, 'series', (x) => api.timeWarp().apply(x as tf.Tensor3D, rng())],
    ['applyTimeWarp', 3, 'series', (x) => api.applyTimeWarp(x as tf.Tensor3D, { warps: [] })],
    ['windowCrop', 3, 'series', (x) => api.windowCrop().apply(x as tf.Tensor3D, rng())],
    ['applyWindowCrop', 3, 'series', (x) => api.applyWindowCrop(x as tf.Tensor3D, { start: [] }, { length: 1 })],
    ['segmentPermutation', 3, 'series', (x) => api.segmentPermutation().apply(x as tf.Tensor3D, rng())],
    ['applySegmentPermutation', 3, 'series', (x) => api.applySegmentPermutation(x as tf.Tensor3D, { boundaries: [], order: [] })],
  ];

  it('tables, token ids and series of any other rank', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...TENSOR_OPS).chain((entry) => shapeOfRank(entry[1]).map((shape) => ({ entry, shape }))),
        fc.boolean(),
        async ({ entry: [, , argument, call], shape }, asInt) => {
          const x = tf.zeros(shape, asInt || argument === 'tokens' ? 'int32' : 'float32');
          try {
            await rejects(() => call(x), 'SHAPE_MISMATCH', argument);
          } finally {
            x.dispose();
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  const CHANNEL_OPS: [string, (x: tf.Tensor4D) => unknown, string, readonly number[]][] = [
    ['randomGrayscale', (x) => api.randomGrayscale().apply(x, rng()), 'images', [1, 3, 4]],
    ['applyGrayscale', (x) => api.applyGrayscale(x, { grayscale: two(true) }), 'images', [1, 3, 4]],
    ['colorJitter hue', (x) => api.colorJitter({ hue: [-0.1, 0.1] }).apply(x, rng()), 'images', [1, 3, 4]],
    ['colorJitter luma', (x) => api.colorJitter({ contrastMean: 'luma' }).apply(x, rng()), 'images', [1, 3, 4]],
    ['applyColorJitter saturation', (x) => api.applyColorJitter(x, { jitter: two(true), brightness: two(1), contrast: two(1), saturation: two(1) }), 'images', [1, 3, 4]],
    ['viewPreset', (x) => api.viewPreset('byol', { size: [4, 4] }).generate(x, rng()), 'images', [1, 3, 4]],
    ['normalize with 3 means', (x) => api.normalize({ mean: [0, 0, 0], std: [1] }).apply(x, rng()), 'mean', [3]],
    ['randomErasing with 3 values', (x) => api.randomErasing({ value: [0, 0, 0] }).apply(x, rng()), 'value', [1, 3]],
    ['renderGrid', (x) => api.renderGrid(x), 'views', [1, 2, 3, 4]],
  ];

  it('unsupported channel counts', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...CHANNEL_OPS).chain((entry) =>
          fc
            .integer({ min: 1, max: 8 })
            .filter((c) => !entry[3].includes(c))
            .map((channels) => ({ entry, channels })),
        ),
        async ({ entry: [, call, argument], channels }) => {
          const x = tf.fill([2, 4, 4, channels], 0.5) as tf.Tensor4D;
          try {
            await rejects(() => call(x), 'SHAPE_MISMATCH', argument);
          } finally {
            x.dispose();
          }
        },
      ),
      { numRuns: 40 },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Documented results at the edges

/** Runs `make`, returns its values as host numbers and disposes the output. */
function valuesOf(make: () => tf.Tensor): number[] {
  const out = make();
  try {
    return Array.from(out.dataSync());
  } finally {
    out.dispose();
  }
}

describe('parameters at the edges of their documented ranges give finite results', () => {
  it('applyAffine: shifts that overflow and a scale of 1e-320 sample the fill (no Infinity - Infinity)', () => {
    const params = { angle: two(45), dx: two(1.7e308), dy: two(1.7e308), scale: two(1), shearX: two(0), shearY: two(0) };
    for (const interpolation of ['nearest', 'bilinear'] as const) {
      expect(valuesOf(() => api.applyAffine(fx.images, params, { interpolation, fill: 0.25 })).every((value) => value === 0.25)).toBe(true);
      const tiny = { ...params, dx: two(0), dy: two(0), scale: two(1e-320) };
      expect(nonFinite(valuesOf(() => api.applyAffine(fx.images, tiny, { interpolation, fill: 0.25 })))).toEqual([]);
    }
  });

  it('applyRotation: an angle of 1.7e308 degrees', () => {
    expect(nonFinite(valuesOf(() => api.applyRotation(fx.images, { angle: two(1.7e308) }, { interpolation: 'bilinear' })))).toEqual([]);
  });

  it('colour jitter factors at the bound of 1e6, in every order and clamp mode', () => {
    const black = tf.tensor4d([0, 0, 0, 1, 1, 1, 0, 0.5, 1, 0.25, 0, 0], [1, 2, 2, 3]);
    try {
      for (const clamp of ['end', 'each'] as const) {
        for (const order of [undefined, [[3, 2, 1, 0]], [[2, 0, 1, 3]]]) {
          const out = valuesOf(() =>
            api.applyColorJitter(black, { jitter: [true], brightness: [1e6], contrast: [1e6], saturation: [1e6], hue: [0.5], ...(order === undefined ? {} : { order }) }, { clamp, contrastMean: 'luma' }),
          );
          expect(out.every((value) => value >= 0 && value <= 1)).toBe(true);
        }
      }
      const random = api.colorJitter({ probability: 1, brightness: [1e6, 1e6], contrast: [0, 1e6], saturation: [1e6, 1e6], order: 'random' });
      expect(valuesOf(() => random.apply(black, rng())).every((value) => value >= 0 && value <= 1)).toBe(true);
    } finally {
      black.dispose();
    }
  });

  it('erasing fills of ±3.4e38 (finite in float32)', () => {
    expect(nonFinite(valuesOf(() => api.cutout({ size: 2, value: 3.4e38 }).apply(fx.images, rng())))).toEqual([]);
    expect(nonFinite(valuesOf(() => api.randomErasing({ probability: 1, value: [-3.4e38, 0, 3.4e38] }).apply(fx.images, rng())))).toEqual([]);
  });

  it('gaussian noise with a std of 3.4e38 and zero or unit draws stays in [0, 1]', () => {
    const epsilon = Array.from({ length: 96 }, (_, i) => i % 3 === 0 ? 0 : i % 3 === 1 ? 1 : -1);
    const out = valuesOf(() => api.applyGaussianNoise(fx.images, { noise: two(true), epsilon }, { std: 3.4e38 }));
    expect(out.every((value) => value >= 0 && value <= 1)).toBe(true);
    expect(valuesOf(() => api.gaussianNoise({ probability: 1, std: 3.4e38 }).apply(fx.images, rng())).every((value) => value >= 0 && value <= 1)).toBe(true);
  });

  it('normalize with the smallest normal float32 std', () => {
    expect(nonFinite(valuesOf(() => api.applyNormalize(fx.images, { mean: [0.5], std: [1.1754943508222875e-38] })))).toEqual([]);
  });

  it('scaling, magnitude and time warps with a std of 3.4e38 keep series in [0, 1] finite', () => {
    const series = tf.tensor3d([0, 1, 0.5, 0, 1, 0.25, 0, 1, 0, 0, 1, 1], [2, 6, 1]);
    try {
      for (const augmentation of [api.scaling({ std: 3.4e38 }), api.magnitudeWarp({ std: 3.4e38 }), api.timeWarp({ std: 3.4e38 })]) {
        expect(nonFinite(valuesOf(() => augmentation.apply(series, rng()))), augmentation.name).toEqual([]);
      }
      expect(nonFinite(valuesOf(() => api.applyScaling(series, { factor: [3.4e38, -3.4e38] })))).toEqual([]);
    } finally {
      series.dispose();
    }
  });

  it('tabular noise and jitter with a std of 3.4e38 may overflow to ±Infinity but never give NaN (documented)', () => {
    const zeros = tf.zeros([2, 6, 1]) as tf.Tensor3D;
    try {
      expect(valuesOf(() => api.jitter({ std: 3.4e38 }).apply(zeros, rng())).some(Number.isNaN)).toBe(false);
      expect(valuesOf(() => api.applyJitter(zeros, { epsilon: epsilonOf(12, 0) }, { std: 3.4e38 })).every((value) => value === 0)).toBe(true);
      expect(valuesOf(() => api.tabularNoise({ std: 3.4e38 }).apply(fx.table, rng())).some(Number.isNaN)).toBe(false);
    } finally {
      zeros.dispose();
    }
  });
});

describe('time series of length 1, single rows and single token sequences are valid batches', () => {
  const SERIES: [string, (series: tf.Tensor3D) => tf.Tensor3D][] = [
    ['jitter', (s) => api.jitter().apply(s, rng())],
    ['applyJitter', (s) => api.applyJitter(s, { epsilon: epsilonOf(s.size) })],
    ['scaling', (s) => api.scaling().apply(s, rng())],
    ['applyScaling', (s) => api.applyScaling(s, { factor: epsilonOf(s.shape[0] * s.shape[2], 1.5) })],
    ['magnitudeWarp', (s) => api.magnitudeWarp().apply(s, rng())],
    ['applyMagnitudeWarp', (s) => api.applyMagnitudeWarp(s, { warps: epsilonOf(s.shape[0] * 6 * s.shape[2], 1.2) })],
    ['timeWarp', (s) => api.timeWarp().apply(s, rng())],
    ['applyTimeWarp', (s) => api.applyTimeWarp(s, { warps: epsilonOf(s.shape[0] * 6 * s.shape[2], 0.8) })],
    ['windowCrop', (s) => api.windowCrop().apply(s, rng())],
    ['applyWindowCrop', (s) => api.applyWindowCrop(s, { start: epsilonOf(s.shape[0], 0) }, { length: 1 })],
    ['segmentPermutation', (s) => api.segmentPermutation({ segments: [1, 4], mode: 'random' }).apply(s, rng())],
    ['applySegmentPermutation', (s) => api.applySegmentPermutation(s, { boundaries: new Array(s.shape[0]).fill([]), order: new Array(s.shape[0]).fill([0]) })],
  ];

  it.each(SERIES)('%s on [2, 1, 2] and [1, 5, 1]', async (_, run) => {
    for (const shape of [[2, 1, 2], [1, 5, 1]] as [number, number, number][]) {
      const series = tf.tensor3d(pattern([1, ...shape], 5), shape);
      try {
        const result = await expectNoLeak(() => {
          const out = run(series);
          const host = { shape: out.shape, values: Array.from(out.dataSync()) };
          out.dispose();
          return host;
        });
        expect(result.shape).toEqual(shape);
        expect(nonFinite(result.values)).toEqual([]);
      } finally {
        series.dispose();
      }
    }
  });

  it('one table row and one token sequence', () => {
    const row = tf.tensor2d([[0.1, 0.2, 0.3, 0.4]]);
    const sequence = tf.tensor2d([[3, 4, 5, 0]], [1, 4], 'int32');
    try {
      for (const make of [
        () => api.scarfCorruption({ marginals: fx.marginals }).apply(row, rng()),
        () => api.featureMasking().apply(row, rng()),
        () => api.tabularNoise().apply(row, rng()),
      ]) {
        const values = valuesOf(make);
        expect(values).toHaveLength(4);
        expect(nonFinite(values)).toEqual([]);
      }
      for (const make of [
        () => api.tokenMasking({ maskId: 1, padId: 0, vocabSize: 9 }).apply(sequence, rng()),
        () => api.spanDeletion({ padId: 0, rate: 0.5 }).apply(sequence, rng()),
        () => api.randomTokenCrop({ length: 2, padId: 0 }).apply(sequence, rng()),
        () => api.localShuffle({ padId: 0 }).apply(sequence, rng()),
      ]) {
        const values = valuesOf(make);
        expect(values).toHaveLength(4);
        expect(values.every(Number.isInteger)).toBe(true);
        expect(values[3]).toBe(0); // padding stays
      }
    } finally {
      tf.dispose([row, sequence]);
    }
  });
});

describe('isContrastiveError marks every rejection (sanity of the harness)', () => {
  it('a rejected call throws a ContrastiveError, not a TypeError', () => {
    let thrown: unknown;
    try {
      api.horizontalFlip().apply(fx.images, undefined as never);
    } catch (error) {
      thrown = error;
    }
    expect(isContrastiveError(thrown)).toBe(true);
  });
});
