import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@contrastive/core';
import { expectNoLeak, expectTensorClose, useTestBackend, valueRange } from '@contrastive/core/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { compose } from './augmentation.js';
import { applyColorJitter, colorJitter } from './color-jitter.js';
import { applyGaussianNoise, gaussianNoise } from './gaussian-noise.js';
import { applyCropBoxes, applyResizedCrop, cropBoxes, randomResizedCrop } from './random-resized-crop.js';
import { recipeAugmentation } from './recipe-augmentation.js';

/**
 * PyTorch fixture (`grid_sample`, align_corners=True, fp32) of RECIPE.md's augmentation with explicit
 * parameters: ../shared/recipes/aug-golden.json from the repository root.
 */
const GOLDEN_PATH = fileURLToPath(new URL('../../../../shared/recipes/aug-golden.json', import.meta.url));

/**
 * cropAndResize vs grid_sample are the same bilinear formula in float32; the jitter mean over 784
 * pixels is a float32 reduction in both. Measured: ~1.4e-6 on wasm, ~3.5e-7 on cpu.
 */
const GOLDEN_TOLERANCE = { atol: 1e-5, rtol: 0 } as const;

interface Golden {
  note: string;
  params: {
    sw: number[];
    sh: number[];
    cx: number[];
    cy: number[];
    flip: boolean[];
    jitter: boolean[];
    bright: number[];
    contrast: number[];
    noise: boolean[];
  };
  box: number[][];
  input: number[][];
  eps: number[][];
  output: number[][];
}

const golden = JSON.parse(readFileSync(GOLDEN_PATH, 'utf8')) as Golden;
const n = golden.input.length;
const SHAPE: [number, number, number, number] = [n, 28, 28, 1];

beforeAll(async () => {
  await useTestBackend();
});

function maxAbsDiff(actual: tf.Tensor, expected: number[]): number {
  const values = actual.dataSync();
  let worst = 0;
  expected.forEach((value, i) => {
    worst = Math.max(worst, Math.abs((values[i] as number) - value));
  });
  return worst;
}

function goldenPipeline(crop: (images: tf.Tensor4D) => tf.Tensor4D): tf.Tensor4D {
  const { params } = golden;
  const images = tf.tensor4d(golden.input.flat(), SHAPE);
  return tf.tidy(() => {
    const cropped = crop(images);
    const jittered = applyColorJitter(cropped, { jitter: params.jitter, brightness: params.bright, contrast: params.contrast });
    const out = applyGaussianNoise(jittered, { noise: params.noise, epsilon: golden.eps.flat() }, { std: 0.05 });
    images.dispose();
    return out;
  });
}

describe('recipe augmentation against the PyTorch golden (aug-golden.json)', () => {
  it('cropBoxes reproduces the golden boxes', () => {
    const boxes = cropBoxes(golden.params);
    boxes.forEach((box, i) => box.forEach((value, k) => expect(Math.abs(value - (golden.box[i]?.[k] as number))).toBeLessThan(1e-8)));
  });

  it('explicit crop (sw, sh, cx, cy, flip) + jitter + noise match within 1e-5', async () => {
    await expectNoLeak(() => {
      const out = goldenPipeline((images) => applyResizedCrop(images, golden.params));
      expect(out.shape).toEqual(SHAPE);
      expect(maxAbsDiff(out, golden.output.flat())).toBeLessThan(GOLDEN_TOLERANCE.atol);
      expectTensorClose(out, golden.output, GOLDEN_TOLERANCE);
      out.dispose();
    });
  });

  it('explicit boxes + jitter + noise match within 1e-5', () => {
    const out = goldenPipeline((images) => applyCropBoxes(images, golden.box));
    expectTensorClose(out, golden.output, GOLDEN_TOLERANCE);
    out.dispose();
  });

  it('each golden case on its own (identity, flip, clamped crop, off-centre crops, jitter, noise)', () => {
    const { params } = golden;
    for (let i = 0; i < n; i++) {
      const images = tf.tensor4d(golden.input[i] as number[], [1, 28, 28, 1]);
      const cropped = applyResizedCrop(images, {
        sw: [params.sw[i] as number],
        sh: [params.sh[i] as number],
        cx: [params.cx[i] as number],
        cy: [params.cy[i] as number],
        flip: [params.flip[i] as boolean],
      });
      const jittered = applyColorJitter(cropped, {
        jitter: [params.jitter[i] as boolean],
        brightness: [params.bright[i] as number],
        contrast: [params.contrast[i] as number],
      });
      const out = applyGaussianNoise(jittered, { noise: [params.noise[i] as boolean], epsilon: golden.eps[i] as number[] });
      expect(maxAbsDiff(out, golden.output[i] as number[]), `case ${i}`).toBeLessThan(GOLDEN_TOLERANCE.atol);
      tf.dispose([images, cropped, jittered, out]);
    }
  });
});

describe('recipeAugmentation', () => {
  it('is crop (+ flip) -> jitter -> noise with the recipe hyper-parameters and draw order', () => {
    const images = tf.tensor4d(golden.input.flat(), SHAPE);
    for (const flip of [false, true]) {
      const rng = new Rng(2024);
      const replay = rng.clone();
      const got = recipeAugmentation({ flip }).apply(images, rng);
      const crop = randomResizedCrop({ scale: [0.6, 1], ratio: [3 / 4, 4 / 3], flipProbability: flip ? 0.5 : 0 }).sample(n, replay);
      const jitter = colorJitter({ probability: 0.8, brightness: [0.6, 1.4], contrast: [0.6, 1.4] }).sample(n, replay);
      const noise = gaussianNoise({ probability: 0.5, std: 0.05 }).sample(SHAPE, replay);
      const expected = tf.tidy(() =>
        applyGaussianNoise(applyColorJitter(applyResizedCrop(images, crop), jitter), noise, { std: 0.05 }),
      );
      expectTensorClose(got, expected, { atol: 0, rtol: 0 });
      expect(rng.state()).toEqual(replay.state());
      if (!flip) expect(Array.from(crop.flip).some(Boolean)).toBe(false);
      tf.dispose([got, expected]);
    }
    images.dispose();
  });

  it('output is [n, 28, 28, 1] float32 in [0, 1]; same seed same output; different seeds differ; no leak', async () => {
    const images = tf.tensor4d(golden.input.flat(), SHAPE);
    await expectNoLeak(() => {
      const augmentation = recipeAugmentation({ flip: true });
      const a = augmentation.apply(images, new Rng(1));
      const b = augmentation.apply(images, new Rng(1));
      const c = augmentation.apply(images, new Rng(2));
      expect(a.shape).toEqual(SHAPE);
      expect(a.dtype).toBe('float32');
      const [low, high] = valueRange(a);
      expect(low).toBeGreaterThanOrEqual(0);
      expect(high).toBeLessThanOrEqual(1);
      expectTensorClose(a, b, { atol: 0, rtol: 0 });
      expect(() => expectTensorClose(a, c, { atol: 1e-3, rtol: 0 })).toThrow();
      tf.dispose([a, b, c]);
    });
    images.dispose();
  });

  it('equals compose of the three stages', () => {
    const images = tf.tensor4d(golden.input.flat(), SHAPE);
    const a = recipeAugmentation().apply(images, new Rng(9));
    const b = compose([randomResizedCrop(), colorJitter(), gaussianNoise()]).apply(images, new Rng(9));
    expectTensorClose(a, b, { atol: 0, rtol: 0 });
    tf.dispose([images, a, b]);
  });

  it('strength s scales the crop area, jitter factors and noise (0.5 is the recipe, 0 the identity, same draws)', () => {
    const images = tf.tensor4d(golden.input.flat(), SHAPE);
    const recipe = recipeAugmentation({ flip: true }).apply(images, new Rng(4));
    const half = recipeAugmentation({ flip: true, strength: 0.5 }).apply(images, new Rng(4));
    expectTensorClose(half, recipe, { atol: 0, rtol: 0 });
    const rng = new Rng(4);
    const identity = recipeAugmentation({ strength: 0 }).apply(images, rng);
    expectTensorClose(identity, images, { atol: 1e-6, rtol: 0 });
    const replay = new Rng(4);
    tf.dispose(recipeAugmentation().apply(images, replay));
    expect(rng.state()).toEqual(replay.state()); // the same number of draws at every strength
    const s = 0.8;
    const strong = new Rng(11);
    const check = strong.clone();
    const got = recipeAugmentation({ strength: s }).apply(images, strong);
    const spread = 0.8 * s;
    const crop = randomResizedCrop({ scale: [1 - spread, 1], ratio: [(3 / 4) ** (2 * s), (4 / 3) ** (2 * s)], flipProbability: 0 }).sample(n, check);
    const jitter = colorJitter({ probability: 0.8, brightness: [1 - spread, 1 + spread], contrast: [1 - spread, 1 + spread] }).sample(n, check);
    const noise = gaussianNoise({ probability: 0.5, std: 0.1 * s }).sample(SHAPE, check);
    const expected = tf.tidy(() => applyGaussianNoise(applyColorJitter(applyResizedCrop(images, crop), jitter), noise, { std: 0.1 * s }));
    expectTensorClose(got, expected, { atol: 0, rtol: 0 });
    expect(() => recipeAugmentation({ strength: 1.5 })).toThrow(/'strength' passed to 'recipeAugmentation' must be a finite number >= 0 and <= 1, got 1.5/);
    expect(() => recipeAugmentation({ strength: Number.NaN })).toThrow(/'strength'/);
    tf.dispose([images, recipe, half, identity, got, expected]);
  });

  it('rejects a non-boolean flip', () => {
    expect(() => recipeAugmentation({ flip: 'yes' as unknown as boolean })).toThrow(/'flip' passed to 'recipeAugmentation' must be a boolean, got "yes"/);
  });
});
