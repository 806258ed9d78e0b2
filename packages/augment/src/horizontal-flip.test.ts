import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@contrastive/core';
import { expectNoLeak, expectTensorClose, useTestBackend } from '@contrastive/core/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { applyHorizontalFlip, horizontalFlip } from './horizontal-flip.js';

beforeAll(async () => {
  await useTestBackend();
});

/** float64 reference: mirror the width axis of the chosen images, as loops. */
function flipReference(data: number[], [n, h, w, c]: number[], flip: boolean[]): number[] {
  const out: number[] = [];
  for (let b = 0; b < (n as number); b++)
    for (let y = 0; y < (h as number); y++)
      for (let x = 0; x < (w as number); x++)
        for (let k = 0; k < (c as number); k++) {
          const source = flip[b] ? (w as number) - 1 - x : x;
          out.push(data[((b * (h as number) + y) * (w as number) + source) * (c as number) + k] as number);
        }
  return out;
}

describe('applyHorizontalFlip', () => {
  it.each([[[true, false, true]], [[false, false, false]], [[true, true, true]]])('mirrors exactly the chosen images (%j)', (flip) => {
    const shape = [3, 4, 5, 2];
    const data = Array.from({ length: 3 * 4 * 5 * 2 }, (_, i) => (i % 17) / 16);
    const images = tf.tensor4d(data, shape as [number, number, number, number]);
    const out = applyHorizontalFlip(images, { flip });
    expect(out.shape).toEqual(shape);
    expect(out.dtype).toBe('float32');
    expectTensorClose(out, flipReference(data, shape, flip), { atol: 0, rtol: 0 });
    expect(out).not.toBe(images);
    tf.dispose([images, out]);
  });

  it('rejects a wrong number of flags', () => {
    const images = tf.ones([2, 3, 3, 1]) as tf.Tensor4D;
    expect(() => applyHorizontalFlip(images, { flip: [true] })).toThrow(/'params\.flip' passed to 'applyHorizontalFlip' must have 2 entries \(one per image\), got 1/);
    images.dispose();
  });
});

describe('horizontalFlip', () => {
  it('flips with the given probability, one uniform per image', () => {
    const flip = Array.from(horizontalFlip({ probability: 0.3 }).sample(10000, new Rng(2)).flip);
    expect(Math.abs(flip.filter(Boolean).length / 10000 - 0.3)).toBeLessThan(0.02);
    const rng = new Rng(9);
    const expected = rng.clone();
    const coins = Array.from({ length: 5 }, () => expected.uniform() < 0.5);
    expect(Array.from(horizontalFlip().sample(5, rng).flip)).toEqual(coins);
    expect(rng.state()).toEqual(expected.state());
  });

  it('apply = applyHorizontalFlip of sample; same seed gives the same output; no leak', async () => {
    const images = tf.randomUniform([8, 6, 6, 1], 0, 1, 'float32', 1) as tf.Tensor4D;
    const augmentation = horizontalFlip();
    await expectNoLeak(() => {
      const expected = applyHorizontalFlip(images, augmentation.sample(8, new Rng(4)));
      const got = augmentation.apply(images, new Rng(4));
      expectTensorClose(got, expected, { atol: 0, rtol: 0 });
      tf.dispose([expected, got]);
    });
    images.dispose();
  });

  it('rejects a bad probability', () => {
    expect(() => horizontalFlip({ probability: -0.5 })).toThrow(/'probability' passed to 'horizontalFlip' must be a finite number >= 0 and <= 1, got -0\.5/);
    expect(() => horizontalFlip({ probability: 2 })).toThrow(/got 2$/);
  });
});
