import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@contrastive/core';
import { expectContrastiveError, expectNoLeak, useTestBackend } from '@contrastive/core/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { viewPreset } from './presets.js';
import type { ViewPresetName } from './presets.js';

beforeAll(async () => {
  await useTestBackend();
});

function randomImages(seed: number, shape: [number, number, number, number]): tf.Tensor4D {
  const rng = new Rng(seed);
  return tf.tensor4d(rng.uniformArray(shape.reduce((a, b) => a * b, 1)), shape);
}

const NAMES: ViewPresetName[] = ['simclr', 'mocoV2', 'byol'];

describe('viewPreset', () => {
  it.each(NAMES)('%s: two views of the batch, in [0, 1], deterministic by seed', (name) => {
    const x = randomImages(1, [6, 28, 28, 3]);
    const preset = viewPreset(name, { size: [28, 28] });
    expect(preset.name).toBe(`${name}@small`);
    expect(preset.views).toBe(2);
    const a = preset.generate(x, new Rng(4));
    const b = preset.generate(x, new Rng(4));
    const c = preset.generate(x, new Rng(5));
    expect(a.shape).toEqual([12, 28, 28, 3]);
    expect(a.dtype).toBe('float32');
    const values = a.dataSync();
    expect(Math.min(...values)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...values)).toBeLessThanOrEqual(1);
    expect(Array.from(values)).toEqual(Array.from(b.dataSync()));
    expect(Array.from(values)).not.toEqual(Array.from(c.dataSync()));
    // The two views of a sample differ.
    const rows = a.arraySync();
    expect(rows[0]).not.toEqual(rows[6]);
    tf.dispose([x, a, b, c]);
  });

  it('publishes the parameters of each method and resolution', () => {
    const simclrSmall = viewPreset('simclr', { size: [32, 32] }).parameters;
    expect(simclrSmall.crop).toEqual({ scale: [0.08, 1], ratio: [3 / 4, 4 / 3], flipProbability: 0.5 });
    expect(simclrSmall.jitter.probability).toBeCloseTo(0.8, 12);
    expect(simclrSmall.jitter.brightness[0]).toBeCloseTo(0.6, 12);
    expect(simclrSmall.jitter.hue).toEqual([-0.1, 0.1]);
    expect(simclrSmall.blur.probability).toEqual([0, 0]);
    const simclrLarge = viewPreset('simclr', { size: [224, 224] }).parameters;
    expect(simclrLarge.jitter.brightness[0]).toBeCloseTo(0.2, 12);
    expect(simclrLarge.jitter.brightness[1]).toBeCloseTo(1.8, 12);
    expect(simclrLarge.blur.probability).toEqual([0.5, 0.5]);
    const moco = viewPreset('mocoV2', { size: [224, 224] }).parameters;
    expect(moco.crop.scale).toEqual([0.2, 1]);
    const byol = viewPreset('byol', { size: [224, 224] });
    expect(byol.parameters.blur.probability).toEqual([1, 0.1]);
    expect(byol.parameters.solarize).toEqual([0, 0.2]);
    expect(byol.pipelines[0]!.name).not.toBe(byol.pipelines[1]!.name);
    expect(byol.pipelines[1]!.name).toMatch(/solarize/);
    expect(viewPreset('byol', { size: [224, 224] }).name).toBe('byol@imagenet');
  });

  it('scales every parameter towards the identity with strength (InfoMin)', () => {
    const half = viewPreset('simclr', { size: [224, 224], strength: 0.5 }).parameters;
    expect(half.crop.scale[0]).toBeCloseTo(0.08 + 0.5 * 0.92, 12);
    expect(half.crop.ratio[0]).toBeCloseTo(Math.sqrt(3 / 4), 12);
    expect(half.jitter.probability).toBeCloseTo(0.4, 12);
    expect(half.jitter.saturation[1]).toBeCloseTo(1.4, 12);
    expect(half.jitter.hue[1]).toBeCloseTo(0.1, 12);
    expect(half.grayscale).toBeCloseTo(0.1, 12);
    expect(half.blur.probability).toEqual([0.25, 0.25]);
  });

  it.each(NAMES)('%s at strength 0 returns each image twice, unchanged', (name) => {
    const x = randomImages(2, [3, 16, 16, 3]);
    const out = viewPreset(name, { size: [16, 16], strength: 0 }).generate(x, new Rng(0));
    const expected = tf.concat([x, x], 0);
    expect(Array.from(out.dataSync())).toEqual(Array.from(expected.dataSync()));
    tf.dispose([x, out, expected]);
  });

  it('views grey images and resizes to the requested size', () => {
    const x = randomImages(3, [4, 28, 28, 1]);
    const out = viewPreset('byol', { size: [20, 24] }).generate(x, new Rng(1));
    expect(out.shape).toEqual([8, 20, 24, 1]);
    tf.dispose([x, out]);
  });

  it('runs the ImageNet parameters (blur, solarize) on larger images', () => {
    const x = randomImages(4, [2, 72, 72, 3]);
    const out = viewPreset('byol', { size: [72, 72] }).generate(x, new Rng(2));
    expect(out.shape).toEqual([4, 72, 72, 3]);
    const values = out.dataSync();
    expect(values.every((v) => v >= 0 && v <= 1)).toBe(true);
    tf.dispose([x, out]);
  });

  it('leaks no tensor', async () => {
    const x = randomImages(5, [4, 28, 28, 1]);
    const preset = viewPreset('simclr', { size: [28, 28] });
    await expectNoLeak(() => preset.generate(x, new Rng(0)).dispose());
    x.dispose();
  });

  it('names bad arguments', () => {
    expectContrastiveError(() => viewPreset('swav' as ViewPresetName, { size: [28, 28] }), 'INVALID_ARGUMENT', /'name' passed to 'viewPreset'.*"simclr", "mocoV2", "byol", got "swav"/);
    expectContrastiveError(() => viewPreset('simclr', { size: [28, 28], strength: 1.5 }), 'INVALID_ARGUMENT', /'strength'.*<= 1, got 1.5/);
    expectContrastiveError(() => viewPreset('simclr', { size: [0, 28] }), 'INVALID_ARGUMENT', /'size\[0\]' passed to 'viewPreset'/);
    expectContrastiveError(() => viewPreset('simclr', null as unknown as { size: [1, 1] }), 'INVALID_ARGUMENT', /'options'/);
    const preset = viewPreset('simclr', { size: [28, 28] });
    expectContrastiveError(() => preset.generate(tf.zeros([2, 2]) as unknown as tf.Tensor4D, new Rng(0)), 'SHAPE_MISMATCH', /'images'/);
  });
});
