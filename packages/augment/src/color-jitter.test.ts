import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@contrastive/core';
import { FLOAT32_TOLERANCE, expectContrastiveError, expectNoLeak, expectTensorClose, useTestBackend, valueRange } from '@contrastive/core/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { applyColorJitter, colorJitter } from './color-jitter.js';
import { expectSameBits, onCpuAndWasm } from './test-support/backends.js';

beforeAll(async () => {
  // Both backends are registered (the cpu/wasm identity tests switch between them), then the one
  // CONTRASTIVE_TEST_BACKEND asks for is selected.
  await useTestBackend('cpu');
  await useTestBackend('wasm');
  await useTestBackend();
});

/** float64 reference of RECIPE.md step 2, as loops over images and pixels. */
function jitterReference(data: number[], perImage: number, params: { jitter: boolean[]; brightness: number[]; contrast: number[] }): number[] {
  const out: number[] = [];
  params.jitter.forEach((jitter, i) => {
    const image = data.slice(i * perImage, (i + 1) * perImage);
    if (!jitter) {
      out.push(...image);
      return;
    }
    const bright = image.map((v) => v * (params.brightness[i] as number));
    const mean = bright.reduce((sum, v) => sum + v, 0) / perImage;
    out.push(...bright.map((v) => Math.min(1, Math.max(0, (v - mean) * (params.contrast[i] as number) + mean))));
  });
  return out;
}

describe('applyColorJitter', () => {
  it.each([
    [[2, 5, 5, 1], [true, false]],
    [[3, 4, 6, 3], [true, true, true]],
    [[3, 4, 6, 3], [false, false, false]],
  ] as [[number, number, number, number], boolean[]][])('matches the float64 reference for shape %j, jitter %j', (shape, jitter) => {
    const [n, h, w, c] = shape;
    const data = Array.from({ length: n * h * w * c }, (_, i) => ((i * 37) % 101) / 100);
    const params = { jitter, brightness: [1.3, 0.7, 1.4].slice(0, n), contrast: [0.6, 1.35, 1.2].slice(0, n) };
    const images = tf.tensor4d(data, shape);
    const out = applyColorJitter(images, params);
    expect(out.shape).toEqual(shape);
    expect(out.dtype).toBe('float32');
    expectTensorClose(out, jitterReference(data, h * w * c, params), FLOAT32_TOLERANCE);
    tf.dispose([images, out]);
  });

  it('returns images without jitter exactly (inputs in [0, 1]); values outside [0, 1] are clamped', () => {
    const data = Array.from({ length: 2 * 5 * 5 }, (_, i) => ((i * 37) % 101) / 100);
    const images = tf.tensor4d(data, [2, 5, 5, 1]);
    const out = applyColorJitter(images, { jitter: [false, true], brightness: [2, 2], contrast: [0.5, 0.5] });
    const first = tf.slice(out, [0, 0, 0, 0], [1, -1, -1, -1]);
    expectTensorClose(first, Float32Array.from(data.slice(0, 25)), { atol: 0, rtol: 0 });
    const outside = tf.tensor4d([-0.5, 1.5, 0.25, 0.75], [2, 1, 2, 1]);
    const clamped = applyColorJitter(outside, { jitter: [false, true], brightness: [1, 2], contrast: [1, 1] });
    expectTensorClose(clamped, [0, 1, 0.5, 1], { atol: 1e-7, rtol: 0 });
    tf.dispose([images, out, first, outside, clamped]);
  });

  it('rejects bad params', () => {
    const images = tf.ones([2, 3, 3, 1]) as tf.Tensor4D;
    const params = { jitter: [true, true], brightness: [1, 1], contrast: [1, 1] };
    expect(() => applyColorJitter(images, { ...params, brightness: [1] })).toThrow(/'params\.brightness' passed to 'applyColorJitter' must have 2 entries/);
    expect(() => applyColorJitter(images, { ...params, contrast: [1, -2] })).toThrow(/'params\.contrast\[1\]' .* must be a finite number >= 0, got -2/);
    expect(() => applyColorJitter(images, { ...params, jitter: [true, 'yes' as unknown as boolean] })).toThrow(/'params\.jitter\[1\]' .* must be a boolean, got "yes"/);
    images.dispose();
  });
});

describe('colorJitter', () => {
  it('draws coin, brightness, contrast per image, in that order', () => {
    const rng = new Rng(5);
    const replay = rng.clone();
    const sampled = colorJitter({ probability: 0.8, brightness: [0.6, 1.4], contrast: [0.5, 2] }).sample(4, rng);
    for (let i = 0; i < 4; i++) {
      expect(sampled.jitter[i]).toBe(replay.uniform() < 0.8);
      expect(sampled.brightness[i]).toBe(replay.uniform(0.6, 1.4));
      expect(sampled.contrast[i]).toBe(replay.uniform(0.5, 2));
    }
    expect(rng.state()).toEqual(replay.state());
  });

  it('parameter statistics follow the options', () => {
    const sampled = colorJitter().sample(20000, new Rng(1));
    const [jitter, brightness, contrast] = [Array.from(sampled.jitter), Array.from(sampled.brightness), Array.from(sampled.contrast)];
    const mean = (values: number[]): number => values.reduce((sum, v) => sum + v, 0) / values.length;
    expect(Math.abs(jitter.filter(Boolean).length / 20000 - 0.8)).toBeLessThan(0.015);
    expect(Math.abs(mean(brightness) - 1)).toBeLessThan(0.01);
    expect(Math.abs(mean(contrast) - 1)).toBeLessThan(0.01);
    expect(brightness.reduce((low, v) => Math.min(low, v), Infinity)).toBeGreaterThanOrEqual(0.6);
    expect(contrast.reduce((high, v) => Math.max(high, v), -Infinity)).toBeLessThan(1.4);
  });

  it('apply = applyColorJitter of sample; output in [0, 1]; same seed same output; no leak', async () => {
    const images = tf.randomUniform([16, 8, 8, 2], 0, 1, 'float32', 3) as tf.Tensor4D;
    const augmentation = colorJitter({ probability: 1, brightness: [0.2, 3], contrast: [0, 3] });
    await expectNoLeak(() => {
      const expected = applyColorJitter(images, augmentation.sample(16, new Rng(8)));
      const got = augmentation.apply(images, new Rng(8));
      expectTensorClose(got, expected, { atol: 0, rtol: 0 });
      const [low, high] = valueRange(got);
      expect(low).toBeGreaterThanOrEqual(0);
      expect(high).toBeLessThanOrEqual(1);
      tf.dispose([expected, got]);
    });
    images.dispose();
  });

  it('rejects bad options', () => {
    expect(() => colorJitter({ probability: -1 })).toThrow(/'probability' passed to 'colorJitter' must be a finite number >= 0 and <= 1, got -1/);
    expect(() => colorJitter({ brightness: [-0.1, 1] })).toThrow(/'brightness\[0\]' passed to 'colorJitter' must be a finite number >= 0, got -0\.1/);
    expect(() => colorJitter({ contrast: [1.4, 0.6] })).toThrow(/'contrast' passed to 'colorJitter' must have low <= high/);
    expect(() => colorJitter({ contrast: 0.4 as unknown as [number, number] })).toThrow(/'contrast' .* must be a pair \[low, high\], got 0\.4/);
  });
});

// ---------------------------------------------------------------------------------------------
// Full torchvision ColorJitter: saturation, hue, random order, luma mean, per-step clamp.
// ---------------------------------------------------------------------------------------------

type Shape = [number, number, number, number];

const EXACT = { atol: 0, rtol: 0 };
/** float32 vs the float64 reference; the hue round trip is a closed form of torchvision's (~1e-6). */
const REFERENCE_TOLERANCE = { atol: 1e-5, rtol: 0 };

/** Deterministic values in [0, 1) from core's Rng. */
function pixels(size: number, seed: number): number[] {
  return Array.from(new Rng(seed).uniformArray(size));
}

interface ReferenceParams {
  jitter: boolean[];
  brightness: number[];
  contrast: number[];
  saturation?: number[];
  hue?: number[];
  order?: number[][];
}

const clamp01 = (v: number): number => Math.min(1, Math.max(0, v));

/** torchvision `rgb_to_grayscale` of one image (`[P]`), float64. */
function grayOf(image: Float64Array, pixelsPerImage: number, channels: number): Float64Array {
  const gray = new Float64Array(pixelsPerImage);
  for (let p = 0; p < pixelsPerImage; p++) {
    const o = p * channels;
    gray[p] = 0.2989 * (image[o] as number) + 0.587 * (image[o + 1] as number) + 0.114 * (image[o + 2] as number);
  }
  return gray;
}

/** torchvision `_rgb2hsv` + shift + `_hsv2rgb` of one pixel, literally (float64). */
function hueReference(r: number, g: number, b: number, shift: number): [number, number, number] {
  const maxc = Math.max(r, g, b);
  const minc = Math.min(r, g, b);
  const eqc = maxc === minc;
  const cr = maxc - minc;
  const s = cr / (eqc ? 1 : maxc);
  const divisor = eqc ? 1 : cr;
  const rc = (maxc - r) / divisor;
  const gc = (maxc - g) / divisor;
  const bc = (maxc - b) / divisor;
  const hr = maxc === r ? bc - gc : 0;
  const hg = maxc === g && maxc !== r ? 2 + rc - bc : 0;
  const hb = maxc !== g && maxc !== r ? 4 + gc - rc : 0;
  let h = ((hr + hg + hb) / 6 + 1) % 1;
  h = (((h + shift) % 1) + 1) % 1; // Python's `%`
  const v = maxc;
  const i = Math.floor(h * 6);
  const f = h * 6 - i;
  const p = clamp01(v * (1 - s));
  const q = clamp01(v * (1 - s * f));
  const t = clamp01(v * (1 - s * (1 - f)));
  const table: [number, number, number][] = [
    [v, t, p],
    [q, v, p],
    [p, v, t],
    [p, q, v],
    [t, p, v],
    [v, p, q],
  ];
  return table[i % 6] as [number, number, number];
}

/**
 * float64 reference of torchvision's ColorJitter with explicit factors and order (steps without
 * factors skipped; saturation and hue no-ops on one channel; RGBA: alpha left alone by them), with
 * the toolkit's `contrastMean` and `clamp` options.
 */
function colorJitterReference(
  data: number[],
  shape: Shape,
  params: ReferenceParams,
  options: { contrastMean?: 'all' | 'luma'; clamp?: 'end' | 'each' } = {},
): number[] {
  const [n, h, w, c] = shape;
  const size = h * w;
  const perImage = size * c;
  const mean = options.contrastMean ?? 'all';
  const clampEach = options.clamp === 'each';
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    let image = Float64Array.from(data.slice(i * perImage, (i + 1) * perImage));
    if (params.jitter[i] === true) {
      for (const step of params.order?.[i] ?? [0, 1, 2, 3]) {
        if (step === 0) {
          const b = params.brightness[i] as number;
          image = image.map((v) => v * b);
        } else if (step === 1) {
          const factor = params.contrast[i] as number;
          const source = mean === 'luma' && c >= 3 ? grayOf(image, size, c) : image;
          const m = source.reduce((sum, v) => sum + v, 0) / source.length;
          image = image.map((v) => factor * v + (1 - factor) * m);
        } else if (step === 2 && params.saturation !== undefined && c >= 3) {
          const s = params.saturation[i] as number;
          const gray = grayOf(image, size, c);
          image = image.map((v, j) => (j % c < 3 ? s * v + (1 - s) * (gray[Math.floor(j / c)] as number) : v));
        } else if (step === 3 && params.hue !== undefined && c >= 3) {
          const shift = params.hue[i] as number;
          for (let p = 0; p < size; p++) {
            const o = p * c;
            const rgb = hueReference(clamp01(image[o] as number), clamp01(image[o + 1] as number), clamp01(image[o + 2] as number), shift);
            image.set(rgb, o);
          }
        } else {
          continue;
        }
        if (clampEach) image = image.map(clamp01);
      }
    }
    out.push(...image.map(clamp01));
  }
  return out;
}

describe('applyColorJitter: saturation and hue', () => {
  it('shifts pure colours around the hue circle; grey pixels are unchanged', () => {
    const colours = tf.tensor4d([1, 0, 0, 0, 1, 0, 0.3, 0.3, 0.3, 1, 1, 1], [1, 2, 2, 3]);
    const base = { jitter: [true], brightness: [1], contrast: [1] };
    const third = applyColorJitter(colours, { ...base, hue: [1 / 3] });
    expectTensorClose(third, Float32Array.from([0, 1, 0, 0, 0, 1, 0.3, 0.3, 0.3, 1, 1, 1]), EXACT);
    const back = applyColorJitter(colours, { ...base, hue: [-1 / 3] });
    expectTensorClose(back, Float32Array.from([0, 0, 1, 1, 0, 0, 0.3, 0.3, 0.3, 1, 1, 1]), EXACT);
    const half = applyColorJitter(colours, { ...base, hue: [0.5] });
    expectTensorClose(half, Float32Array.from([0, 1, 1, 1, 0, 1, 0.3, 0.3, 0.3, 1, 1, 1]), EXACT);
    const none = applyColorJitter(colours, { ...base, hue: [0] });
    expectTensorClose(none, colours, EXACT);
    tf.dispose([colours, third, back, half, none]);
  });

  it('a hue shift of 1/6 turns orange (1, 0.5, 0) into chartreuse (0.5, 1, 0), as torchvision', () => {
    const orange = tf.tensor4d([1, 0.5, 0], [1, 1, 1, 3]);
    const out = applyColorJitter(orange, { jitter: [true], brightness: [1], contrast: [1], hue: [1 / 6] });
    expectTensorClose(out, hueReference(1, 0.5, 0, 1 / 6), FLOAT32_TOLERANCE);
    expectTensorClose(out, [0.5, 1, 0], { atol: 1e-6, rtol: 0 });
    tf.dispose([orange, out]);
  });

  it('channel ties pick the hue branch as torchvision (max: red, then green)', () => {
    const ties = [1, 1, 0, 0, 1, 1, 1, 0, 1, 0.6, 0.6, 0.2, 0.2, 0.6, 0.6, 0.6, 0.2, 0.6, 0.7, 0.3, 0.3, 0.3, 0.3, 0.7, 0.3, 0.7, 0.3, 0, 0, 0, 1, 1, 1, 0.5, 0.5, 0.5];
    const images = tf.tensor4d(ties, [1, 3, 4, 3]);
    for (const shift of [0.5, -0.5, 1 / 6, -0.23, 0.01]) {
      const out = applyColorJitter(images, { jitter: [true], brightness: [1], contrast: [1], hue: [shift] });
      const expected = Array.from({ length: 12 }, (_, p) => hueReference(ties[3 * p] as number, ties[3 * p + 1] as number, ties[3 * p + 2] as number, shift)).flat();
      expectTensorClose(out, expected, { atol: 1e-6, rtol: 0 });
      out.dispose();
    }
    images.dispose();
  });

  it('saturation 0 gives the luma grayscale in every channel; saturation 1 is the identity', () => {
    const data = pixels(2 * 3 * 3 * 3, 11);
    const images = tf.tensor4d(data, [2, 3, 3, 3]);
    const gray = applyColorJitter(images, { jitter: [true, true], brightness: [1, 1], contrast: [1, 1], saturation: [0, 0] });
    const expected = data.map((_, j) => {
      const o = j - (j % 3);
      return 0.2989 * (data[o] as number) + 0.587 * (data[o + 1] as number) + 0.114 * (data[o + 2] as number);
    });
    expectTensorClose(gray, expected, FLOAT32_TOLERANCE);
    const same = applyColorJitter(images, { jitter: [true, true], brightness: [1, 1], contrast: [1, 1], saturation: [1, 1] });
    expectTensorClose(same, images, EXACT);
    tf.dispose([images, gray, same]);
  });

  const BASE: ReferenceParams = {
    jitter: [true, true, false, true],
    brightness: [1.3, 0.7, 1.2, 1.05],
    contrast: [0.6, 1.35, 0.8, 1.25],
    saturation: [0.2, 1.7, 0.5, 1.1],
    hue: [0.12, -0.31, 0.2, 0.5],
  };
  const ORDERS = [
    [3, 2, 1, 0],
    [1, 3, 0, 2],
    [2, 0, 3, 1],
    [0, 3, 2, 1],
  ];
  it.each([
    ['brightness only', { jitter: BASE.jitter, brightness: BASE.brightness, contrast: [1, 1, 1, 1] }, {}],
    ['contrast, luma mean', { jitter: BASE.jitter, brightness: [1, 1, 1, 1], contrast: BASE.contrast }, { contrastMean: 'luma' }],
    ['saturation only', { jitter: BASE.jitter, brightness: [1, 1, 1, 1], contrast: [1, 1, 1, 1], saturation: BASE.saturation }, {}],
    ['hue only', { jitter: BASE.jitter, brightness: [1, 1, 1, 1], contrast: [1, 1, 1, 1], hue: BASE.hue }, {}],
    ['all four, fixed order, clamp end', BASE, {}],
    ['all four, fixed order, torchvision (luma, each)', BASE, { contrastMean: 'luma', clamp: 'each' }],
    ['all four, given orders, torchvision (luma, each)', { ...BASE, order: ORDERS }, { contrastMean: 'luma', clamp: 'each' }],
    ['all four, given orders, clamp end', { ...BASE, order: ORDERS }, {}],
    ['b, c, hue in given orders (no saturation)', { ...BASE, saturation: undefined, order: ORDERS }, { clamp: 'each' }],
  ] as [string, ReferenceParams, { contrastMean?: 'all' | 'luma'; clamp?: 'end' | 'each' }][])(
    'matches the float64 torchvision reference: %s (c = 3 and 4)',
    (_, params, options) => {
      for (const channels of [3, 4]) {
        const shape: Shape = [4, 5, 6, channels];
        const data = pixels(4 * 5 * 6 * channels, 20 + channels);
        const images = tf.tensor4d(data, shape);
        const out = applyColorJitter(images, params, options);
        expect(out.shape).toEqual(shape);
        expect(out.dtype).toBe('float32');
        expectTensorClose(out, colorJitterReference(data, shape, params, options), REFERENCE_TOLERANCE);
        tf.dispose([images, out]);
      }
    },
  );

  it('random orders: every one of the 24 permutations matches the reference', () => {
    const permutations: number[][] = [];
    const build = (prefix: number[]): void => {
      if (prefix.length === 4) permutations.push(prefix);
      for (let k = 0; k < 4; k++) if (!prefix.includes(k)) build([...prefix, k]);
    };
    build([]);
    const n = permutations.length;
    const rng = new Rng(4);
    const params: ReferenceParams = {
      jitter: Array.from({ length: n }, () => true),
      brightness: Array.from({ length: n }, () => rng.uniform(0.5, 1.6)),
      contrast: Array.from({ length: n }, () => rng.uniform(0.5, 1.6)),
      saturation: Array.from({ length: n }, () => rng.uniform(0, 2)),
      hue: Array.from({ length: n }, () => rng.uniform(-0.5, 0.5)),
      order: permutations,
    };
    const shape: Shape = [n, 4, 4, 3];
    const data = pixels(n * 4 * 4 * 3, 5);
    const images = tf.tensor4d(data, shape);
    for (const clamp of ['each', 'end'] as const) {
      const out = applyColorJitter(images, params, { contrastMean: 'luma', clamp });
      expectTensorClose(out, colorJitterReference(data, shape, params, { contrastMean: 'luma', clamp }), REFERENCE_TOLERANCE);
      out.dispose();
    }
    images.dispose();
  });

  it('the explicit order [0, 1, 2, 3] equals the fixed order (clamp each) bit for bit', () => {
    const data = pixels(6 * 4 * 4 * 3, 8);
    const images = tf.tensor4d(data, [6, 4, 4, 3]);
    const params = {
      jitter: [true, false, true, true, true, true],
      brightness: [1.2, 1, 0.7, 1.4, 0.9, 1.1],
      contrast: [0.8, 1, 1.3, 0.6, 1.2, 1],
      saturation: [0.5, 1, 1.5, 0.1, 2, 0.9],
      hue: [0.1, 0, -0.2, 0.4, -0.5, 0.05],
    };
    const fixed = applyColorJitter(images, params, { clamp: 'each', contrastMean: 'luma' });
    const explicit = applyColorJitter(images, { ...params, order: params.jitter.map(() => [0, 1, 2, 3]) }, { clamp: 'each', contrastMean: 'luma' });
    expectTensorClose(explicit, fixed, EXACT);
    tf.dispose([images, fixed, explicit]);
  });

  it('hue on few or on most images of a stage gives the same bits per image', () => {
    // Few hue images take the gather path, all of them the full-batch path: the rows must agree.
    const data = pixels(8 * 3 * 3 * 3, 9);
    const images = tf.tensor4d(data, [8, 3, 3, 3]);
    const shifts = [0.1, -0.2, 0.3, -0.4, 0.45, 0.05, -0.05, 0.25];
    const ones = shifts.map(() => 1);
    const all = applyColorJitter(images, { jitter: shifts.map(() => true), brightness: ones, contrast: ones, hue: shifts });
    const few = applyColorJitter(images, { jitter: shifts.map((_, i) => i === 2 || i === 5), brightness: ones, contrast: ones, hue: shifts });
    const [allValues, fewValues] = [all.dataSync(), few.dataSync()];
    const perImage = 27;
    for (let i = 0; i < 8; i++) {
      const expected = i === 2 || i === 5 ? allValues : Float32Array.from(data);
      for (let j = i * perImage; j < (i + 1) * perImage; j++) expect(fewValues[j]).toBe(Math.fround(expected[j] as number));
    }
    tf.dispose([images, all, few]);
  });

  it('one channel: saturation and hue are no-ops and the luma mean is the mean (bit for bit)', () => {
    const data = pixels(3 * 5 * 5, 2);
    const images = tf.tensor4d(data, [3, 5, 5, 1]);
    const base = { jitter: [true, false, true], brightness: [1.3, 0.8, 0.7], contrast: [0.6, 1.2, 1.4] };
    const plain = applyColorJitter(images, base);
    const coloured = applyColorJitter(images, { ...base, saturation: [0, 0, 0], hue: [0.5, 0.5, 0.5] }, { contrastMean: 'luma' });
    expectTensorClose(coloured, plain, EXACT);
    const ordered = applyColorJitter(images, { ...base, saturation: [0, 0, 0], order: [[2, 1, 3, 0], [0, 1, 2, 3], [1, 0, 2, 3]] }, { clamp: 'each' });
    expectTensorClose(ordered, colorJitterReference(data, [3, 5, 5, 1], { ...base, order: [[2, 1, 3, 0], [0, 1, 2, 3], [1, 0, 2, 3]] }, { clamp: 'each' }), REFERENCE_TOLERANCE);
    tf.dispose([images, plain, coloured, ordered]);
  });

  it('four channels: saturation and hue leave alpha untouched and treat the rest as RGB', () => {
    const rgba = pixels(5 * 4 * 4 * 4, 6);
    const rgb = rgba.filter((_, j) => j % 4 < 3);
    const params = { jitter: [true, true, false, true, true], brightness: [1, 1, 1, 1, 1], contrast: [1, 1, 1, 1, 1], saturation: [0.3, 1.8, 0.5, 0, 1.2], hue: [0.2, -0.45, 0.1, 0.33, -0.1] };
    const four = tf.tensor4d(rgba, [5, 4, 4, 4]);
    const three = tf.tensor4d(rgb, [5, 4, 4, 3]);
    const outFour = applyColorJitter(four, params);
    const outThree = applyColorJitter(three, params);
    const values = outFour.dataSync();
    const colour = outThree.dataSync();
    values.forEach((value, j) => {
      if (j % 4 === 3) expect(value).toBe(Math.fround(rgba[j] as number));
      else expect(value).toBe(colour[Math.floor(j / 4) * 3 + (j % 4)]);
    });
    tf.dispose([four, three, outFour, outThree]);
  });

  it('keeps [0, 1] for extreme factors and inputs outside [0, 1], and shapes n = 1, 1x1', () => {
    const data = pixels(6 * 3 * 3 * 3, 3).map((v, j) => (j % 7 === 0 ? v * 3 - 1 : v));
    const images = tf.tensor4d(data, [6, 3, 3, 3]);
    for (const clamp of ['end', 'each'] as const) {
      const out = applyColorJitter(
        images,
        {
          jitter: [true, true, true, true, true, true],
          brightness: [0, 3, 1, 2, 0.1, 5],
          contrast: [5, 0, 3, 1, 2, 0.2],
          saturation: [4, 0, 2, 3, 1, 0],
          hue: [0.5, -0.5, 0.25, -0.25, 0.01, 0],
          order: [[3, 2, 1, 0], [0, 1, 2, 3], [2, 3, 0, 1], [1, 0, 3, 2], [3, 0, 1, 2], [2, 1, 0, 3]],
        },
        { clamp },
      );
      const [low, high] = valueRange(out);
      expect(low).toBeGreaterThanOrEqual(0);
      expect(high).toBeLessThanOrEqual(1);
      expect(Array.from(out.dataSync()).every(Number.isFinite)).toBe(true);
      out.dispose();
    }
    const pixel = tf.tensor4d([0.9, 0.2, 0.4], [1, 1, 1, 3]);
    const one = applyColorJitter(pixel, { jitter: [true], brightness: [1.1], contrast: [0.7], saturation: [1.5], hue: [0.3], order: [[3, 1, 2, 0]] }, { contrastMean: 'luma', clamp: 'each' });
    const oneParams = { jitter: [true], brightness: [1.1], contrast: [0.7], saturation: [1.5], hue: [0.3], order: [[3, 1, 2, 0]] };
    expectTensorClose(one, colorJitterReference([0.9, 0.2, 0.4], [1, 1, 1, 3], oneParams, { contrastMean: 'luma', clamp: 'each' }), REFERENCE_TOLERANCE);
    tf.dispose([images, pixel, one]);
  });

  it('stages where no image has an active step (absent saturation, no jitter) pass images through', async () => {
    const data = pixels(2 * 3 * 3 * 3, 14);
    const images = tf.tensor4d(data, [2, 3, 3, 3]);
    const params = { jitter: [true, false], brightness: [1.2, 1], contrast: [0.9, 1], order: [[2, 3, 0, 1], [0, 1, 2, 3]] };
    await expectNoLeak(() => {
      const out = applyColorJitter(images, params);
      expectTensorClose(out, colorJitterReference(data, [2, 3, 3, 3], params), REFERENCE_TOLERANCE);
      out.dispose();
    });
    images.dispose();
  });

  it('rejects bad params, options and channel counts', () => {
    const images = tf.ones([2, 3, 3, 3]) as tf.Tensor4D;
    const base = { jitter: [true, true], brightness: [1, 1], contrast: [1, 1] };
    expectContrastiveError(() => applyColorJitter(images, { ...base, saturation: [1, -0.5] }), 'INVALID_ARGUMENT', /'params\.saturation\[1\]' passed to 'applyColorJitter' must be a finite number >= 0, got -0\.5/);
    expectContrastiveError(() => applyColorJitter(images, { ...base, hue: [0.7, 0] }), 'INVALID_ARGUMENT', /'params\.hue\[0\]' .* must be a finite number >= -0\.5 and <= 0\.5, got 0\.7/);
    expectContrastiveError(() => applyColorJitter(images, { ...base, hue: [0] }), 'SHAPE_MISMATCH', /'params\.hue' .* must have 2 entries/);
    expectContrastiveError(() => applyColorJitter(images, { ...base, order: [[0, 1, 2, 3], [0, 0, 1, 2]] }), 'INVALID_ARGUMENT', /'params\.order\[1\]' .* must be a permutation of \[0, 1, 2, 3\].*got \[0, 0, 1, 2\]/);
    expectContrastiveError(() => applyColorJitter(images, { ...base, order: [[0, 1, 2, 3], [0, 1, 2]] }), 'INVALID_ARGUMENT', /'params\.order\[1\]' .* permutation/);
    expectContrastiveError(() => applyColorJitter(images, { ...base, order: [[0, 1, 2, 3]] }), 'SHAPE_MISMATCH', /'params\.order' .* must have 2 entries/);
    expectContrastiveError(() => applyColorJitter(images, { ...base, order: 'random' as unknown as number[][] }), 'INVALID_ARGUMENT', /'params\.order' .* permutations/);
    expectContrastiveError(() => applyColorJitter(images, base, { contrastMean: 'median' as 'all' }), 'INVALID_ARGUMENT', /'contrastMean' passed to 'applyColorJitter' must be one of "all", "luma", got "median"/);
    expectContrastiveError(() => applyColorJitter(images, base, { clamp: 'never' as 'end' }), 'INVALID_ARGUMENT', /'clamp' .* must be one of "end", "each"/);
    const two = tf.ones([2, 3, 3, 2]) as tf.Tensor4D;
    expectContrastiveError(() => applyColorJitter(two, { ...base, saturation: [1, 1] }), 'SHAPE_MISMATCH', /'images' passed to 'applyColorJitter' must have 1, 3 or 4 channels .* when saturation or hue is given, got c = 2/);
    expectContrastiveError(() => applyColorJitter(two, { ...base, jitter: [false, false], hue: [0, 0] }), 'SHAPE_MISMATCH', /'images' .* got c = 2/);
    expectContrastiveError(() => applyColorJitter(two, base, { contrastMean: 'luma' }), 'SHAPE_MISMATCH', /'images' .* with contrastMean 'luma', got c = 2/);
    // Brightness, contrast, order and clamp work on any channel count.
    const out = applyColorJitter(two, { ...base, order: [[1, 0, 2, 3], [3, 2, 1, 0]] }, { clamp: 'each' });
    expect(out.shape).toEqual([2, 3, 3, 2]);
    tf.dispose([images, two, out]);
  });
});

describe('colorJitter: saturation, hue, order', () => {
  const FULL = { saturation: [0.6, 1.4], hue: [-0.1, 0.1], order: 'random', contrastMean: 'luma', clamp: 'each' } as const;

  it('draws coin, brightness, contrast, then saturation, hue, then the permutation, per image', () => {
    const rng = new Rng(12);
    const replay = rng.clone();
    const sampled = colorJitter({ probability: 0.5, brightness: [0.6, 1.4], contrast: [0.5, 2], saturation: [0, 2], hue: [-0.4, 0.3], order: 'random' }).sample(5, rng);
    for (let i = 0; i < 5; i++) {
      expect(sampled.jitter[i]).toBe(replay.uniform() < 0.5);
      expect(sampled.brightness[i]).toBe(replay.uniform(0.6, 1.4));
      expect(sampled.contrast[i]).toBe(replay.uniform(0.5, 2));
      expect(sampled.saturation?.[i]).toBe(replay.uniform(0, 2));
      expect(sampled.hue?.[i]).toBe(replay.uniform(-0.4, 0.3));
      expect(Array.from(sampled.order?.[i] ?? [])).toEqual(Array.from(replay.permutation(4)));
    }
    expect(rng.state()).toEqual(replay.state());
    // Only the configured draws: hue alone adds one uniform per image, no order.
    const hueOnly = new Rng(12);
    const hueReplay = hueOnly.clone();
    const sampledHue = colorJitter({ hue: [-0.1, 0.1] }).sample(3, hueOnly);
    expect(sampledHue.saturation).toBeUndefined();
    expect(sampledHue.order).toBeUndefined();
    for (let i = 0; i < 3; i++) {
      hueReplay.uniform();
      hueReplay.uniform();
      hueReplay.uniform();
      expect(sampledHue.hue?.[i]).toBe(hueReplay.uniform(-0.1, 0.1));
    }
    expect(hueOnly.state()).toEqual(hueReplay.state());
  });

  it('without the new options the draws and outputs are those of the original jitter', () => {
    const images = tf.tensor4d(pixels(6 * 4 * 4 * 3, 1), [6, 4, 4, 3]);
    const rng = new Rng(3);
    const replay = rng.clone();
    const out = colorJitter({ contrastMean: 'all', clamp: 'end', order: 'fixed' }).apply(images, rng);
    const draws = Array.from({ length: 6 }, () => [replay.uniform(), replay.uniform(0.6, 1.4), replay.uniform(0.6, 1.4)] as const);
    expect(rng.state()).toEqual(replay.state());
    const expected = colorJitterReference(Array.from(images.dataSync()), [6, 4, 4, 3], {
      jitter: draws.map(([coin]) => coin < 0.8),
      brightness: draws.map(([, b]) => b),
      contrast: draws.map(([, , c]) => c),
    });
    expectTensorClose(out, expected, FLOAT32_TOLERANCE);
    tf.dispose([images, out]);
  });

  it('sample statistics: factors in range, hue centred, all 24 orders', () => {
    const sampled = colorJitter({ probability: 1, saturation: [0.2, 1.8], hue: [-0.2, 0.2], order: 'random' }).sample(6000, new Rng(2));
    const saturation = Array.from(sampled.saturation ?? []);
    const hue = Array.from(sampled.hue ?? []);
    const mean = (values: number[]): number => values.reduce((sum, v) => sum + v, 0) / values.length;
    expect(Math.abs(mean(saturation) - 1)).toBeLessThan(0.02);
    expect(Math.abs(mean(hue))).toBeLessThan(0.01);
    expect(Math.min(...saturation)).toBeGreaterThanOrEqual(0.2);
    expect(Math.max(...hue)).toBeLessThan(0.2);
    const counts = new Map<string, number>();
    for (const order of Array.from(sampled.order ?? [])) counts.set(Array.from(order).join(''), (counts.get(Array.from(order).join('')) ?? 0) + 1);
    expect(counts.size).toBe(24);
    for (const count of counts.values()) expect(Math.abs(count - 250)).toBeLessThan(80);
  });

  it('apply = applyColorJitter of sample; same seed same output; other seeds differ; [0, 1]; no leak', async () => {
    const images = tf.tensor4d(pixels(12 * 6 * 6 * 3, 4), [12, 6, 6, 3]);
    const augmentation = colorJitter({ probability: 0.8, brightness: [0.2, 2], contrast: [0.2, 2], ...FULL });
    await expectNoLeak(() => {
      const expected = applyColorJitter(images, augmentation.sample(12, new Rng(8)), { contrastMean: 'luma', clamp: 'each' });
      const got = augmentation.apply(images, new Rng(8));
      expectTensorClose(got, expected, EXACT);
      const again = augmentation.apply(images, new Rng(8));
      expectTensorClose(again, got, EXACT);
      const other = augmentation.apply(images, new Rng(9));
      expect(Array.from(other.dataSync())).not.toEqual(Array.from(got.dataSync()));
      const [low, high] = valueRange(got);
      expect(low).toBeGreaterThanOrEqual(0);
      expect(high).toBeLessThanOrEqual(1);
      tf.dispose([expected, got, again, other]);
    });
    images.dispose();
  });

  it.each([
    ['torchvision (random order, luma, each), c = 3', [10, 5, 7, 3], FULL],
    ['fixed order, clamp end, c = 4', [10, 5, 7, 4], { saturation: [0.2, 1.8], hue: [-0.5, 0.5] }],
    ['random order, c = 1', [10, 5, 7, 1], { order: 'random', clamp: 'each' }],
    ['random order, c = 2 (brightness and contrast)', [10, 5, 7, 2], { order: 'random' }],
  ] as [string, Shape, object][])('is bit-identical on cpu and wasm: %s', async (_, shape, options) => {
    const data = pixels(shape.reduce((a, b) => a * b, 1), 17);
    const augmentation = colorJitter({ probability: 0.7, ...options });
    const [cpu, wasm] = await onCpuAndWasm(() => {
      const images = tf.tensor4d(data, shape);
      const out = augmentation.apply(images, new Rng(21));
      images.dispose();
      return out;
    });
    expectSameBits(cpu, wasm);
  });

  it('leaks nothing in the random-order path and the fixed path', async () => {
    const images = tf.tensor4d(pixels(9 * 4 * 4 * 4, 13), [9, 4, 4, 4]);
    await expectNoLeak(() => {
      colorJitter({ probability: 0.6, ...FULL }).apply(images, new Rng(1)).dispose();
      colorJitter({ saturation: [0, 2], hue: [-0.3, 0.3] }).apply(images, new Rng(1)).dispose();
      colorJitter({ probability: 0, ...FULL }).apply(images, new Rng(1)).dispose();
    });
    images.dispose();
  });

  it('rejects bad options; a channel error leaves the rng untouched', () => {
    expectContrastiveError(() => colorJitter({ saturation: [-1, 1] }), 'INVALID_ARGUMENT', /'saturation\[0\]' passed to 'colorJitter' must be a finite number >= 0, got -1/);
    expectContrastiveError(() => colorJitter({ hue: [-0.6, 0] }), 'INVALID_ARGUMENT', /'hue\[0\]' passed to 'colorJitter' must be a finite number >= -0\.5 and <= 0\.5, got -0\.6/);
    expectContrastiveError(() => colorJitter({ hue: [0.2, 0.1] }), 'INVALID_ARGUMENT', /'hue' passed to 'colorJitter' must have low <= high/);
    expectContrastiveError(() => colorJitter({ order: 'shuffle' as 'random' }), 'INVALID_ARGUMENT', /'order' passed to 'colorJitter' must be one of "fixed", "random", got "shuffle"/);
    expectContrastiveError(() => colorJitter({ contrastMean: 'gray' as 'luma' }), 'INVALID_ARGUMENT', /'contrastMean' passed to 'colorJitter'/);
    expectContrastiveError(() => colorJitter({ clamp: true as unknown as 'each' }), 'INVALID_ARGUMENT', /'clamp' passed to 'colorJitter' must be one of "end", "each", got true/);
    const five = tf.ones([2, 2, 2, 5]) as tf.Tensor4D;
    const rng = new Rng(0);
    const before = rng.state();
    expectContrastiveError(() => colorJitter({ hue: [-0.1, 0.1] }).apply(five, rng), 'SHAPE_MISMATCH', /'images' passed to 'colorJitter\.apply' must have 1, 3 or 4 channels .* got c = 5/);
    expectContrastiveError(() => colorJitter({ contrastMean: 'luma' }).apply(five, rng), 'SHAPE_MISMATCH', /contrastMean 'luma', got c = 5/);
    expect(rng.state()).toEqual(before);
    five.dispose();
  });
});
