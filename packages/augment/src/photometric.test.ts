import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@contrastive/core';
import {
  FLOAT32_TOLERANCE,
  expectContrastiveError,
  expectNoLeak,
  expectTensorClose,
  valueRange,
} from '@contrastive/core/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  applyEqualize,
  applyGrayscale,
  applyNormalize,
  applyPosterize,
  applySolarize,
  equalize,
  normalize,
  posterize,
  randomGrayscale,
  solarize,
} from './photometric.js';
import { expectBitIdentical, onCpuAndWasm, useCpuAndWasm } from './test-support/backends.js';
import { type Shape, pixels } from './test-support/images.js';

const EXACT = { atol: 0, rtol: 0 };

beforeAll(useCpuAndWasm);

/** The images `i` with `flags[i]` from `transformed`, the others from `data`. */
function pick(data: number[], transformed: number[], flags: boolean[], perImage: number): number[] {
  return data.map((value, index) => (flags[Math.floor(index / perImage)] ? (transformed[index] as number) : value));
}

// ---------------------------------------------------------------------------------------------

/** float64 reference: luma of each RGB pixel, replicated. */
function grayscaleReference(data: number[]): number[] {
  const out: number[] = [];
  for (let p = 0; p < data.length; p += 3) {
    const luma = 0.2989 * (data[p] as number) + 0.587 * (data[p + 1] as number) + 0.114 * (data[p + 2] as number);
    out.push(luma, luma, luma);
  }
  return out;
}

describe('applyGrayscale', () => {
  it('converts a known RGB pixel (torchvision weights 0.2989, 0.587, 0.114), rounded as float32 step by step', () => {
    const x = tf.tensor4d([1, 0.5, 0, 0.2, 0.4, 0.6], [2, 1, 1, 3]);
    const out = applyGrayscale(x, { grayscale: [true, false] });
    const f = Math.fround;
    const luma = f(f(f(f(0.2989) * 1) + f(f(0.587) * 0.5)) + f(f(0.114) * 0));
    expectTensorClose(out, [luma, luma, luma, f(0.2), f(0.4), f(0.6)], EXACT);
    expectTensorClose(out, [0.5924, 0.5924, 0.5924, 0.2, 0.4, 0.6], { atol: 1e-7, rtol: 0 });
    tf.dispose([x, out]);
  });

  it.each([
    [[3, 4, 5, 3], [true, false, true]],
    [[1, 1, 1, 3], [true]],
    [[2, 6, 2, 3], [false, false]],
  ] as [Shape, boolean[]][])('matches the float64 reference for shape %j, grayscale %j', (shape, flags) => {
    const data = pixels(shape.reduce((a, b) => a * b), 3);
    const x = tf.tensor4d(data, shape);
    const out = applyGrayscale(x, { grayscale: flags });
    expect(out.shape).toEqual(shape);
    expect(out.dtype).toBe('float32');
    expectTensorClose(out, pick(data, grayscaleReference(data), flags, shape[1] * shape[2] * 3), FLOAT32_TOLERANCE);
    const [low, high] = valueRange(out);
    expect(low).toBeGreaterThanOrEqual(0);
    expect(high).toBeLessThanOrEqual(1);
    tf.dispose([x, out]);
  });

  it('returns images that are not converted, and every 1-channel image, exactly', () => {
    const data = pixels(2 * 3 * 3 * 3, 5);
    const x = tf.tensor4d(data, [2, 3, 3, 3]);
    const out = applyGrayscale(x, { grayscale: [true, false] });
    const second = tf.slice(out, [1, 0, 0, 0], [1, -1, -1, -1]);
    expectTensorClose(second, Float32Array.from(data.slice(27)), EXACT);
    const grey = tf.tensor4d(pixels(8, 6), [2, 2, 2, 1]);
    const same = applyGrayscale(grey, { grayscale: [true, true] });
    expectTensorClose(same, grey, EXACT);
    expect(same).not.toBe(grey);
    tf.dispose([x, out, second, grey, same]);
  });

  it('takes 4 channels as RGBA: luma in the first three, alpha copied exactly', () => {
    const data = pixels(3 * 2 * 3 * 4, 8);
    const x = tf.tensor4d(data, [3, 2, 3, 4]);
    const out = applyGrayscale(x, { grayscale: [true, false, true] });
    const reference: number[] = [];
    for (let p = 0; p < data.length; p += 4) {
      const image = Math.floor(p / 24);
      if (image === 1) reference.push(...data.slice(p, p + 4));
      else {
        const luma = 0.2989 * (data[p] as number) + 0.587 * (data[p + 1] as number) + 0.114 * (data[p + 2] as number);
        reference.push(luma, luma, luma, data[p + 3] as number);
      }
    }
    expectTensorClose(out, reference, FLOAT32_TOLERANCE);
    const alpha = Array.from(out.dataSync()).filter((_, index) => index % 4 === 3);
    expect(alpha).toEqual(Array.from(Float32Array.from(data)).filter((_, index) => index % 4 === 3));
    tf.dispose([x, out]);
  });

  it('rejects images with 2 or more than 4 channels, and bad flags', () => {
    const two = tf.ones([1, 2, 2, 2]) as tf.Tensor4D;
    expectContrastiveError(() => applyGrayscale(two, { grayscale: [true] }), 'SHAPE_MISMATCH', /'images' passed to 'applyGrayscale' must have 1, 3 or 4 channels \(\[n, h, w, c\] grey, RGB or RGBA\), got c = 2/);
    const five = tf.ones([1, 2, 2, 5]) as tf.Tensor4D;
    expectContrastiveError(() => randomGrayscale().apply(five, new Rng(0)), 'SHAPE_MISMATCH', /'randomGrayscale\.apply' must have 1, 3 or 4 channels .* got c = 5/);
    const rgb = tf.ones([2, 2, 2, 3]) as tf.Tensor4D;
    expectContrastiveError(() => applyGrayscale(rgb, { grayscale: [true] }), 'SHAPE_MISMATCH', /'params\.grayscale' passed to 'applyGrayscale' must have 2 entries/);
    expectContrastiveError(() => applyGrayscale(rgb, null as never), 'INVALID_ARGUMENT', /'params' .* must be an object \{ grayscale \}, got null/);
    expectContrastiveError(() => applyGrayscale(tf.ones([2, 2, 3]) as never, { grayscale: [true] }), 'SHAPE_MISMATCH', /'images' .* must be rank 4/);
    tf.dispose([two, five, rgb]);
  });
});

describe('randomGrayscale', () => {
  it('draws one uniform per image; probability 0.2 by default', () => {
    const rng = new Rng(3);
    const replay = rng.clone();
    const sampled = randomGrayscale({ probability: 0.4 }).sample(6, rng);
    expect(Array.from(sampled.grayscale)).toEqual(Array.from({ length: 6 }, () => replay.uniform() < 0.4));
    expect(rng.state()).toEqual(replay.state());
    const many = Array.from(randomGrayscale().sample(20000, new Rng(1)).grayscale);
    expect(Math.abs(many.filter(Boolean).length / 20000 - 0.2)).toBeLessThan(0.01);
  });

  it('apply = applyGrayscale of sample; same seed same output, bit-identical on cpu and wasm; other seeds differ; no leak', async () => {
    const data = pixels(16 * 6 * 6 * 3, 9);
    const augmentation = randomGrayscale({ probability: 0.5 });
    const images = tf.tensor4d(data, [16, 6, 6, 3]);
    await expectNoLeak(() => {
      const expected = applyGrayscale(images, augmentation.sample(16, new Rng(4)));
      const got = augmentation.apply(images, new Rng(4));
      const other = augmentation.apply(images, new Rng(5));
      expectTensorClose(got, expected, EXACT);
      expect(Array.from(other.dataSync())).not.toEqual(Array.from(got.dataSync()));
      tf.dispose([expected, got, other]);
    });
    images.dispose();
    expectBitIdentical(await onCpuAndWasm(() => tf.tidy(() => augmentation.apply(tf.tensor4d(data, [16, 6, 6, 3]), new Rng(4)))));
    const rgba = pixels(6 * 4 * 4 * 4, 10);
    expectBitIdentical(await onCpuAndWasm(() => tf.tidy(() => augmentation.apply(tf.tensor4d(rgba, [6, 4, 4, 4]), new Rng(4)))));
  });

  it('consumes its draws for 1-channel images too (returned unchanged)', () => {
    const rng = new Rng(2);
    const x = tf.tensor4d(pixels(4, 1), [4, 1, 1, 1]);
    const out = randomGrayscale({ probability: 1 }).apply(x, rng);
    expectTensorClose(out, x, EXACT);
    const replay = new Rng(2);
    for (let i = 0; i < 4; i++) replay.uniform();
    expect(rng.state()).toEqual(replay.state());
    tf.dispose([x, out]);
  });

  it('rejects a bad probability or options', () => {
    expectContrastiveError(() => randomGrayscale({ probability: 1.5 }), 'INVALID_ARGUMENT', /'probability' passed to 'randomGrayscale' must be a finite number >= 0 and <= 1, got 1\.5/);
    expectContrastiveError(() => randomGrayscale(null as never), 'INVALID_ARGUMENT', /'options' passed to 'randomGrayscale' must be an object, got null/);
    expectContrastiveError(() => randomGrayscale().sample(0, new Rng(0)), 'INVALID_ARGUMENT', /'n' passed to 'randomGrayscale\.sample' must be an integer >= 1, got 0/);
  });
});

// ---------------------------------------------------------------------------------------------

describe('applySolarize', () => {
  it('inverts the pixels >= threshold of a 2x2 image (the threshold itself is inverted, as torchvision)', () => {
    const x = tf.tensor4d([0.2, 0.5, 0.7, 1], [1, 2, 2, 1]);
    const out = applySolarize(x, { solarize: [true] });
    expectTensorClose(out, [Math.fround(0.2), 0.5, Math.fround(1 - Math.fround(0.7)), 0], EXACT);
    const atThreshold = tf.tensor4d([0.6, 0.59999996], [1, 1, 2, 1]);
    const inverted = applySolarize(atThreshold, { solarize: [true] }, { threshold: 0.6 });
    expectTensorClose(inverted, [Math.fround(1 - Math.fround(0.6)), Math.fround(0.59999996)], EXACT);
    tf.dispose([x, out, atThreshold, inverted]);
  });

  it.each([
    [[3, 4, 4, 1], [true, false, true], 0.5],
    [[2, 3, 5, 3], [true, true], 0.25],
    [[2, 2, 2, 4], [false, true], 1],
    [[1, 1, 1, 1], [true], 0],
  ] as [Shape, boolean[], number][])('matches the float64 reference for shape %j, solarize %j, threshold %d', (shape, flags, threshold) => {
    const data = pixels(shape.reduce((a, b) => a * b), 11);
    const x = tf.tensor4d(data, shape);
    const out = applySolarize(x, { solarize: flags }, { threshold });
    expect(out.shape).toEqual(shape);
    const t = Math.fround(threshold);
    const reference = data.map((value) => (Math.fround(value) >= t ? 1 - Math.fround(value) : value));
    expectTensorClose(out, pick(data, reference, flags, shape[1] * shape[2] * shape[3]), FLOAT32_TOLERANCE);
    const [low, high] = valueRange(out);
    expect(low).toBeGreaterThanOrEqual(0);
    expect(high).toBeLessThanOrEqual(1);
    tf.dispose([x, out]);
  });

  it('rejects a threshold outside [0, 1] and bad flags', () => {
    const x = tf.ones([2, 2, 2, 1]) as tf.Tensor4D;
    expectContrastiveError(() => applySolarize(x, { solarize: [true, true] }, { threshold: 1.2 }), 'INVALID_ARGUMENT', /'threshold' passed to 'applySolarize' must be a finite number >= 0 and <= 1, got 1\.2/);
    expectContrastiveError(() => applySolarize(x, { solarize: [true, 1 as never] }), 'INVALID_ARGUMENT', /'params\.solarize\[1\]' .* must be a boolean, got 1/);
    expectContrastiveError(() => solarize({ threshold: Number.NaN }), 'INVALID_ARGUMENT', /'threshold' passed to 'solarize'/);
    expectContrastiveError(() => solarize({ probability: -0.1 }), 'INVALID_ARGUMENT', /'probability' passed to 'solarize' .* got -0\.1/);
    x.dispose();
  });
});

describe('solarize', () => {
  it('draws one uniform per image; apply = applySolarize of sample; bit-identical on cpu and wasm; no leak', async () => {
    const rng = new Rng(7);
    const replay = rng.clone();
    const augmentation = solarize({ threshold: 0.4, probability: 0.5 });
    const sampled = augmentation.sample(12, rng);
    expect(Array.from(sampled.solarize)).toEqual(Array.from({ length: 12 }, () => replay.uniform() < 0.5));
    expect(rng.state()).toEqual(replay.state());
    const data = pixels(12 * 5 * 5 * 3, 2);
    const images = tf.tensor4d(data, [12, 5, 5, 3]);
    await expectNoLeak(() => {
      const expected = applySolarize(images, augmentation.sample(12, new Rng(8)), { threshold: 0.4 });
      const got = augmentation.apply(images, new Rng(8));
      const other = augmentation.apply(images, new Rng(9));
      expectTensorClose(got, expected, EXACT);
      expect(Array.from(other.dataSync())).not.toEqual(Array.from(got.dataSync()));
      tf.dispose([expected, got, other]);
    });
    images.dispose();
    expectBitIdentical(await onCpuAndWasm(() => tf.tidy(() => augmentation.apply(tf.tensor4d(data, [12, 5, 5, 3]), new Rng(8)))));
  });
});

// ---------------------------------------------------------------------------------------------

/** float64 reference of posterize with uint8 semantics. */
function posterizeReference(data: number[], bits: number): number[] {
  const step = 2 ** (8 - bits);
  return data.map((value) => {
    const level = Math.min(255, Math.max(0, Math.floor(Math.fround(Math.min(1, Math.max(0, value)) * 255))));
    return (level - (level % step)) / 255;
  });
}

describe('applyPosterize', () => {
  it('keeps the top bits of the uint8 values of known pixels', () => {
    const x = tf.tensor4d([0, 0.1, 0.5, 1], [1, 2, 2, 1]);
    // floor(x 255) = 0, 25, 127, 255; & 0xF0 = 0, 16, 112, 240
    const four = applyPosterize(x, { posterize: [true] }, { bits: 4 });
    expectTensorClose(four, [0, 16 / 255, 112 / 255, 240 / 255].map(Math.fround), EXACT);
    const one = applyPosterize(x, { posterize: [true] }, { bits: 1 });
    expectTensorClose(one, [0, 0, 0, 128 / 255].map(Math.fround), EXACT);
    const none = applyPosterize(x, { posterize: [true] }, { bits: 0 });
    expectTensorClose(none, [0, 0, 0, 0], EXACT);
    tf.dispose([x, four, one, none]);
  });

  it('maps every uint8 level k / 255 to itself with bits = 8, and clamps values outside [0, 1]', () => {
    const levels = Array.from({ length: 256 }, (_, k) => k / 255);
    const x = tf.tensor4d(levels, [1, 16, 16, 1]);
    const out = applyPosterize(x, { posterize: [true] }, { bits: 8 });
    expectTensorClose(out, Float32Array.from(levels), EXACT);
    const outside = tf.tensor4d([-0.5, 1.5], [1, 1, 2, 1]);
    const clamped = applyPosterize(outside, { posterize: [true] });
    expectTensorClose(clamped, [0, Math.fround(240 / 255)], EXACT);
    tf.dispose([x, out, outside, clamped]);
  });

  it.each([
    [[3, 4, 4, 1], [true, false, true], 4],
    [[2, 3, 5, 3], [true, true], 2],
    [[2, 2, 2, 4], [false, true], 7],
    [[1, 1, 1, 1], [true], 3],
  ] as [Shape, boolean[], number][])('matches the float64 reference for shape %j, posterize %j, bits %d', (shape, flags, bits) => {
    const data = pixels(shape.reduce((a, b) => a * b), 13);
    const x = tf.tensor4d(data, shape);
    const out = applyPosterize(x, { posterize: flags }, { bits });
    expect(out.shape).toEqual(shape);
    expectTensorClose(out, pick(data, posterizeReference(data, bits), flags, shape[1] * shape[2] * shape[3]), FLOAT32_TOLERANCE);
    tf.dispose([x, out]);
  });

  it('rejects bits outside 0..8 or not integers', () => {
    const x = tf.ones([1, 2, 2, 1]) as tf.Tensor4D;
    expectContrastiveError(() => applyPosterize(x, { posterize: [true] }, { bits: 9 }), 'INVALID_ARGUMENT', /'bits' passed to 'applyPosterize' must be an integer >= 0 and <= 8, got 9/);
    expectContrastiveError(() => posterize({ bits: 2.5 }), 'INVALID_ARGUMENT', /'bits' passed to 'posterize' must be an integer/);
    expectContrastiveError(() => applyPosterize(x, { posterize: [] }), 'SHAPE_MISMATCH', /'params\.posterize' .* must have 1 entries/);
    x.dispose();
  });
});

describe('posterize', () => {
  it('draws one uniform per image; apply = applyPosterize of sample; bit-identical on cpu and wasm; no leak', async () => {
    const rng = new Rng(7);
    const replay = rng.clone();
    const augmentation = posterize({ bits: 3, probability: 0.5 });
    expect(Array.from(augmentation.sample(10, rng).posterize)).toEqual(Array.from({ length: 10 }, () => replay.uniform() < 0.5));
    expect(rng.state()).toEqual(replay.state());
    const data = pixels(10 * 4 * 4 * 3, 4);
    const images = tf.tensor4d(data, [10, 4, 4, 3]);
    await expectNoLeak(() => {
      const expected = applyPosterize(images, augmentation.sample(10, new Rng(2)), { bits: 3 });
      const got = augmentation.apply(images, new Rng(2));
      const other = augmentation.apply(images, new Rng(3));
      expectTensorClose(got, expected, EXACT);
      expect(Array.from(other.dataSync())).not.toEqual(Array.from(got.dataSync()));
      tf.dispose([expected, got, other]);
    });
    images.dispose();
    expectBitIdentical(await onCpuAndWasm(() => tf.tidy(() => augmentation.apply(tf.tensor4d(data, [10, 4, 4, 3]), new Rng(2)))));
  });
});

// ---------------------------------------------------------------------------------------------

/** float64 reference of torchvision's _scale_channel on one channel of uint8 levels, written from its source. */
function equalizeChannelReference(levels: number[]): number[] {
  const histogram = new Array<number>(256).fill(0);
  for (const level of levels) histogram[level] = (histogram[level] as number) + 1;
  const nonzero = histogram.filter((count) => count !== 0);
  const step = Math.floor(nonzero.slice(0, -1).reduce((sum, count) => sum + count, 0) / 255);
  if (step === 0) return levels.map((level) => level / 255);
  let cumulative = 0;
  const lut = histogram.map((count) => {
    cumulative += count;
    return Math.floor((cumulative + Math.floor(step / 2)) / step);
  });
  const shifted = [0, ...lut.slice(0, -1)].map((value) => Math.min(255, Math.max(0, value)));
  return levels.map((level) => (shifted[level] as number) / 255);
}

function equalizeReference(data: number[], [n, h, w, c]: Shape): number[] {
  const out = [...data];
  for (let i = 0; i < n; i++) {
    for (let channel = 0; channel < c; channel++) {
      const indices = Array.from({ length: h * w }, (_, p) => (i * h * w + p) * c + channel);
      const levels = indices.map((index) => Math.min(255, Math.max(0, Math.floor(Math.fround((data[index] as number) * 255)))));
      equalizeChannelReference(levels).forEach((value, p) => (out[indices[p] as number] = value));
    }
  }
  return out;
}

describe('applyEqualize', () => {
  it('equalizes a 3-level 32x32 image by hand (step 3, the top level clamped to 255)', () => {
    // levels 50 (400 pixels), 100 (400), 200 (224): step = floor((1024 - 224) / 255) = 3;
    // lut[50] = floor((0 + 1) / 3) = 0, lut[100] = floor((400 + 1) / 3) = 133, lut[200] = min(255, floor(801 / 3)) = 255
    const data = [...new Array<number>(400).fill(50), ...new Array<number>(400).fill(100), ...new Array<number>(224).fill(200)].map((level) => level / 255);
    const x = tf.tensor4d(data, [1, 32, 32, 1]);
    const out = applyEqualize(x, { equalize: [true] });
    const expected = [...new Array<number>(400).fill(0), ...new Array<number>(400).fill(133 / 255), ...new Array<number>(224).fill(1)];
    expectTensorClose(out, Float32Array.from(expected), EXACT);
    tf.dispose([x, out]);
  });

  it('keeps channels with step 0 (a constant channel, or too few pixels) on their uint8 levels', () => {
    const x = tf.tensor4d([0, 0, 1 / 255, 2 / 255, 0.5, 0.5, 0.5, 0.5], [2, 2, 2, 1]);
    const out = applyEqualize(x, { equalize: [true, true] });
    expectTensorClose(out, [0, 0, 1 / 255, 2 / 255, 127 / 255, 127 / 255, 127 / 255, 127 / 255].map(Math.fround), EXACT);
    tf.dispose([x, out]);
  });

  it.each([
    [[2, 24, 24, 3], [true, false], 16],
    [[3, 20, 17, 1], [true, true, true], 0],
    [[2, 18, 18, 4], [false, true], 40],
    [[1, 1, 1, 1], [true], 0],
  ] as [Shape, boolean[], number][])('matches the float64 reference for shape %j, equalize %j, %d grey levels', (shape, flags, levels) => {
    const data = pixels(shape.reduce((a, b) => a * b), 17, levels).map((value) => value ** 2);
    const x = tf.tensor4d(data, shape);
    const out = applyEqualize(x, { equalize: flags });
    expect(out.shape).toEqual(shape);
    expectTensorClose(out, pick(data, equalizeReference(data, shape), flags, shape[1] * shape[2] * shape[3]), { atol: 1e-7, rtol: 0 });
    const [low, high] = valueRange(out);
    expect(low).toBeGreaterThanOrEqual(0);
    expect(high).toBeLessThanOrEqual(1);
    tf.dispose([x, out]);
  });

  it('rejects bad flags', () => {
    const x = tf.ones([2, 2, 2, 1]) as tf.Tensor4D;
    expectContrastiveError(() => applyEqualize(x, { equalize: [true] }), 'SHAPE_MISMATCH', /'params\.equalize' passed to 'applyEqualize' must have 2 entries/);
    expectContrastiveError(() => applyEqualize(x, 'all' as never), 'INVALID_ARGUMENT', /'params' .* must be an object \{ equalize \}, got "all"/);
    expectContrastiveError(() => equalize({ probability: 2 }), 'INVALID_ARGUMENT', /'probability' passed to 'equalize' .* got 2/);
    x.dispose();
  });
});

describe('equalize', () => {
  it('draws one uniform per image; apply = applyEqualize of sample; bit-identical on cpu and wasm; no leak', async () => {
    const rng = new Rng(1);
    const replay = rng.clone();
    const augmentation = equalize();
    expect(Array.from(augmentation.sample(9, rng).equalize)).toEqual(Array.from({ length: 9 }, () => replay.uniform() < 0.5));
    expect(rng.state()).toEqual(replay.state());
    const data = pixels(9 * 20 * 20 * 3, 21, 30);
    const images = tf.tensor4d(data, [9, 20, 20, 3]);
    await expectNoLeak(() => {
      const expected = applyEqualize(images, augmentation.sample(9, new Rng(5)));
      const got = augmentation.apply(images, new Rng(5));
      const other = augmentation.apply(images, new Rng(6));
      expectTensorClose(got, expected, EXACT);
      expect(Array.from(other.dataSync())).not.toEqual(Array.from(got.dataSync()));
      tf.dispose([expected, got, other]);
    });
    images.dispose();
    expectBitIdentical(await onCpuAndWasm(() => tf.tidy(() => augmentation.apply(tf.tensor4d(data, [9, 20, 20, 3]), new Rng(5)))));
  });
});

// ---------------------------------------------------------------------------------------------

describe('applyNormalize / normalize', () => {
  it('normalizes each channel of a known image; one shared statistic broadcasts', () => {
    const x = tf.tensor4d([0, 0.5, 1, 1, 0.5, 0], [1, 1, 2, 3]);
    const out = applyNormalize(x, { mean: [0.5, 0.5, 0.5], std: [0.5, 0.25, 0.5] });
    expectTensorClose(out, [-1, 0, 1, 1, 0, -1], EXACT);
    const shared = applyNormalize(x, { mean: [0.5], std: [0.5] });
    expectTensorClose(shared, [-1, 0, 1, 1, 0, -1], EXACT);
    tf.dispose([x, out, shared]);
  });

  it.each([
    [[2, 3, 4, 1], [0.1307], [0.3081]],
    [[2, 3, 4, 3], [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]],
    [[1, 2, 2, 4], [0.1, 0.2, 0.3, 0.4], [0.5]],
  ] as [Shape, number[], number[]][])('matches float32 (x - mean) / std for shape %j, bit-identical on cpu and wasm', async (shape, mean, std) => {
    const data = pixels(shape.reduce((a, b) => a * b), 23);
    const f = Math.fround;
    const c = shape[3];
    const reference = data.map((value, index) => {
      const channel = index % c;
      return f(f(f(value) - f(mean[mean.length === 1 ? 0 : channel] as number)) / f(std[std.length === 1 ? 0 : channel] as number));
    });
    const x = tf.tensor4d(data, shape);
    const out = normalize({ mean, std }).apply(x, new Rng(0));
    expect(out.shape).toEqual(shape);
    expectTensorClose(out, reference, EXACT);
    tf.dispose([x, out]);
    expectBitIdentical(await onCpuAndWasm(() => tf.tidy(() => applyNormalize(tf.tensor4d(data, shape), { mean, std }))));
  });

  it('changes the value range to [-mean/std, (1 - mean)/std]; leaves the rng untouched; no leak', async () => {
    const x = tf.tensor4d([0, 1], [1, 1, 2, 1]);
    const rng = new Rng(3);
    const before = rng.state();
    const out = await expectNoLeak(() => normalize({ mean: [0.25], std: [0.5] }).apply(x, rng), 1);
    expect(valueRange(out)).toEqual([-0.5, 1.5]);
    expect(rng.state()).toEqual(before);
    tf.dispose([x, out]);
  });

  it('rejects bad statistics', () => {
    expectContrastiveError(() => normalize({ mean: [0.5], std: [0] }), 'INVALID_ARGUMENT', /'std\[0\]' passed to 'normalize' must be a finite number > 0, got 0/);
    expectContrastiveError(() => normalize({ mean: [], std: [1] }), 'INVALID_ARGUMENT', /'mean' passed to 'normalize' must be a non-empty array/);
    expectContrastiveError(() => normalize({ mean: [0.5, 0.5], std: [1, 1, 1] }), 'SHAPE_MISMATCH', /'mean' and 'std' passed to 'normalize' must have the same length .* got 2 and 3/);
    expectContrastiveError(() => normalize(undefined as never), 'INVALID_ARGUMENT', /'options' passed to 'normalize' must be an object, got undefined/);
    const x = tf.ones([1, 2, 2, 3]) as tf.Tensor4D;
    expectContrastiveError(() => applyNormalize(x, { mean: [0.5, 0.5], std: [1] }), 'SHAPE_MISMATCH', /'mean' passed to 'applyNormalize' must have 3 entries .* or 1, got 2/);
    expectContrastiveError(() => normalize({ mean: [0, 0, 0, 0], std: [1] }).apply(x, new Rng(0)), 'SHAPE_MISMATCH', /'normalize\.apply' must have 3 entries/);
    x.dispose();
  });
});
