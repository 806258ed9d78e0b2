/**
 * Audit of issue 5's acceptance item "same seed → bit-identical output on cpu and wasm": each
 * augmentation runs on both backends with the same seed and input, and the outputs must agree bit
 * for bit. Parameters are drawn on the host, so any difference comes from a tensor op that rounds
 * differently on the two backends (a reduction such as `tf.mean`, or tfjs's bilinear
 * `cropAndResize`); exact copies and single IEEE float32 elementwise ops agree everywhere.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@contrastive/core';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Augmentation } from './augmentation.js';
import { colorJitter } from './color-jitter.js';
import { gaussianNoise } from './gaussian-noise.js';
import { horizontalFlip } from './horizontal-flip.js';
import { randomResizedCrop } from './random-resized-crop.js';
import { loocViews } from './looc.js';
import { multiCrop } from './multi-crop.js';
import { viewPreset } from './presets.js';
import type { ViewPresetName } from './presets.js';
import { recipeAugmentation } from './recipe-augmentation.js';
import { rotate90 } from './geometric-flip-crop.js';
import { onCpuAndWasm, useCpuAndWasm } from './test-support/backends.js';
import { type Shape, pixels } from './test-support/images.js';

beforeAll(useCpuAndWasm);

const SHAPES: Shape[] = [
  [16, 28, 28, 1],
  [16, 32, 32, 3],
];

/** `augmentation.apply(images, new Rng(seed))` on cpu and on wasm, as host arrays. */
function onBoth(augmentation: Augmentation, shape: Shape, seed: number): Promise<[Float32Array, Float32Array]> {
  const data = Float32Array.from(pixels(shape.reduce((a, b) => a * b, 1), seed));
  return onCpuAndWasm(() => augmentation.apply(tf.tensor4d(data, shape), new Rng(seed)));
}

/** How many values differ in their bits, and the largest absolute difference. */
function bitDifference(cpu: Float32Array, wasm: Float32Array): { length: number; differing: number; maxAbs: number } {
  const a = new Uint32Array(cpu.buffer, cpu.byteOffset, cpu.length);
  const b = new Uint32Array(wasm.buffer, wasm.byteOffset, wasm.length);
  let differing = 0;
  let maxAbs = 0;
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) {
      differing++;
      maxAbs = Math.max(maxAbs, Math.abs((cpu[i] as number) - (wasm[i] as number)));
    }
  }
  return { length: cpu.length, differing, maxAbs };
}

async function expectBitIdentical(augmentation: Augmentation, shape: Shape, seed: number): Promise<void> {
  const [cpu, wasm] = await onBoth(augmentation, shape, seed);
  expect(bitDifference(cpu, wasm)).toEqual({ length: cpu.length, differing: 0, maxAbs: 0 });
}

describe.each(SHAPES)('same seed, identical bits on cpu and wasm: [%i, %i, %i, %i]', (...shape) => {
  it('randomResizedCrop (flips, scale [0.08, 1])', async () => {
    await expectBitIdentical(randomResizedCrop({ scale: [0.08, 1], flipProbability: 0.5 }), shape, 1);
  });

  it('randomResizedCrop with a resize to 20x24', async () => {
    await expectBitIdentical(randomResizedCrop({ flipProbability: 0.5, size: [20, 24] }), shape, 2);
  });

  it('horizontalFlip', async () => {
    await expectBitIdentical(horizontalFlip({ probability: 0.5 }), shape, 3);
  });

  it('gaussianNoise', async () => {
    await expectBitIdentical(gaussianNoise({ probability: 0.5, std: 0.1 }), shape, 4);
  });

  // The RECIPE.md contrast step used to average with tf.mean, a reduction whose float32 summation
  // order differs between the cpu and wasm kernels; it now sums pairwise.
  it('colorJitter, RECIPE.md defaults (pairwise mean)', async () => {
    await expectBitIdentical(colorJitter({ probability: 1 }), shape, 5);
  });

  it("colorJitter, torchvision's configuration (saturation, hue, random order, luma mean, clamp each)", async () => {
    const jitter = colorJitter({
      probability: 1,
      saturation: [0.6, 1.4],
      hue: [-0.1, 0.1],
      order: 'random',
      contrastMean: 'luma',
      clamp: 'each',
    });
    await expectBitIdentical(jitter, shape, 8);
  });

  it('recipeAugmentation (crop + flip, colour jitter, noise)', async () => {
    await expectBitIdentical(recipeAugmentation({ flip: true }), shape, 6);
  });

  it('recipeAugmentation stages without the jitter (crop + flip, then noise)', async () => {
    const crop = randomResizedCrop({ scale: [0.6, 1], ratio: [3 / 4, 4 / 3], flipProbability: 0.5 });
    const noise = gaussianNoise({ probability: 0.5, std: 0.05 });
    const stages: Augmentation = {
      name: 'cropThenNoise',
      apply: (images, rng) => tf.tidy(() => noise.apply(crop.apply(images, rng), rng)),
    };
    await expectBitIdentical(stages, shape, 7);
  });
});

/** A generator of several tensors as one augmentation of their concatenation, for the audit. */
function asAugmentation(name: string, generate: (images: tf.Tensor4D, rng: Rng) => tf.Tensor4D[]): Augmentation {
  return {
    name,
    apply(images: tf.Tensor4D, rng: Rng): tf.Tensor4D {
      const parts = generate(images, rng);
      const flat = parts.map((part) => tf.reshape(part, [-1]));
      const out = tf.concat(flat, 0);
      tf.dispose([...parts, ...flat]);
      return tf.reshape(out, [1, 1, out.shape[0], 1]) as tf.Tensor4D;
    },
  };
}

describe('same seed, identical bits on cpu and wasm: view generators', () => {
  it.each([
    ['simclr', [16, 28, 28, 1], [28, 28]],
    ['mocoV2', [16, 32, 32, 3], [32, 32]],
    ['byol', [16, 32, 32, 3], [32, 32]],
    ['simclr', [4, 72, 72, 3], [72, 72]],
    ['byol', [4, 72, 72, 3], [64, 80]],
  ] as const)('viewPreset %s on %j -> %j', async (name, shape, size) => {
    const preset = viewPreset(name as ViewPresetName, { size: [size[0], size[1]] });
    await expectBitIdentical({ name, apply: (x, rng) => preset.generate(x, rng) }, [...shape] as Shape, 11);
  });

  it('multiCrop with an augmentation', async () => {
    const crops = multiCrop({ globalCrops: 2, localCrops: 3, augmentation: colorJitter({ probability: 1 }) });
    const audit = asAugmentation('multiCrop', (x, rng) => {
      const { global, local } = crops.generate(x, rng);
      return [...global, ...local];
    });
    await expectBitIdentical(audit, [8, 32, 32, 3], 12);
  });

  it('loocViews and its labels', async () => {
    const looc = loocViews({ base: randomResizedCrop({ scale: [0.2, 1] }), families: [colorJitter({ probability: 1 }), rotate90()] });
    const audit = asAugmentation('looc', (x, rng) => {
      const { images, heads } = looc.generate(x, rng);
      const labels = heads.map((h) => tf.cast(h, 'float32'));
      tf.dispose([...heads]);
      return [images, ...(labels as unknown as tf.Tensor4D[])];
    });
    await expectBitIdentical(audit, [6, 28, 28, 1], 13);
  });
});
