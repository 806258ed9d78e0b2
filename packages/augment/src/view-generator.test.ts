import * as tf from '@tensorflow/tfjs-core';
import { Rng, viewLabels } from '@contrastive/core';
import { expectNoLeak, expectTensorClose, useTestBackend, valueRange } from '@contrastive/core/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { recipeAugmentation } from './recipe-augmentation.js';
import { randomResizedCrop } from './random-resized-crop.js';
import { viewGenerator } from './view-generator.js';

beforeAll(async () => {
  await useTestBackend();
});

function rows(t: tf.Tensor4D, start: number, count: number): tf.Tensor4D {
  return tf.slice(t, [start, 0, 0, 0], [count, -1, -1, -1]);
}

describe('viewGenerator', () => {
  it.each([1, 2, 3])('returns [views n, h, w, c] float32, view-major (views = %i)', (views) => {
    const images = tf.randomUniform([4, 28, 28, 1], 0, 1, 'float32', 1) as tf.Tensor4D;
    const generator = viewGenerator({ augmentation: recipeAugmentation({ flip: true }), views });
    expect(generator.views).toBe(views);
    const out = generator.generate(images, new Rng(0));
    expect(out.shape).toEqual([4 * views, 28, 28, 1]);
    expect(out.dtype).toBe('float32');
    const [low, high] = valueRange(out);
    expect(low).toBeGreaterThanOrEqual(0);
    expect(high).toBeLessThanOrEqual(1);
    tf.dispose([images, out]);
  });

  it('equals the augmentation of the tiled batch: rows 0..n-1 view 1, rows n..2n-1 view 2 of the same images', () => {
    // A crop with a tiny scale range makes each view recognisably a crop of its own source image.
    const images = tf.randomUniform([3, 12, 12, 1], 0, 1, 'float32', 2) as tf.Tensor4D;
    const augmentation = randomResizedCrop({ scale: [0.5, 0.9], flipProbability: 0.5 });
    const out = viewGenerator({ augmentation }).generate(images, new Rng(5));
    const tiled = tf.concat([images, images]) as tf.Tensor4D;
    const expected = augmentation.apply(tiled, new Rng(5));
    expectTensorClose(out, expected, { atol: 0, rtol: 0 });
    // the two views of an image have independent parameters
    const params = augmentation.sample(6, new Rng(5));
    for (let i = 0; i < 3; i++) expect(params.sw[i]).not.toBe(params.sw[i + 3]);
    const view1 = rows(out, 0, 3);
    const view2 = rows(out, 3, 3);
    expect(() => expectTensorClose(view1, view2, { atol: 1e-3, rtol: 0 })).toThrow();
    // labels for the batch come from core
    expect(Array.from(viewLabels(3, 2).dataSync())).toEqual([0, 1, 2, 0, 1, 2]);
    tf.dispose([images, out, tiled, expected, view1, view2]);
  });

  it('same seed gives identical views, a different seed different ones', () => {
    const images = tf.randomUniform([8, 28, 28, 1], 0, 1, 'float32', 3) as tf.Tensor4D;
    const generator = viewGenerator({ augmentation: recipeAugmentation() });
    const a = generator.generate(images, new Rng(42));
    const b = generator.generate(images, new Rng(42));
    const c = generator.generate(images, new Rng(43));
    expectTensorClose(a, b, { atol: 0, rtol: 0 });
    expect(() => expectTensorClose(a, c, { atol: 1e-3, rtol: 0 })).toThrow();
    tf.dispose([images, a, b, c]);
  });

  it('leaks no tensor and never disposes its input', async () => {
    const images = tf.randomUniform([4, 28, 28, 1], 0, 1, 'float32', 4) as tf.Tensor4D;
    await expectNoLeak(() => {
      viewGenerator({ augmentation: recipeAugmentation({ flip: true }) }).generate(images, new Rng(1)).dispose();
      viewGenerator({ augmentation: recipeAugmentation(), views: 1 }).generate(images, new Rng(1)).dispose();
    });
    expect(images.isDisposed).toBe(false);
    images.dispose();
  });

  it('rejects bad options and images with a named ContrastiveError', () => {
    const augmentation = recipeAugmentation();
    expect(() => viewGenerator({ augmentation, views: 0 })).toThrow(/'views' passed to 'viewGenerator' must be an integer >= 1, got 0/);
    expect(() => viewGenerator({ augmentation, views: 1.5 })).toThrow(/'views' .* got 1\.5/);
    expect(() => viewGenerator({} as never)).toThrow(/'augmentation' passed to 'viewGenerator' must be an Augmentation/);
    const rank2 = tf.ones([4, 784]);
    expect(() => viewGenerator({ augmentation }).generate(rank2 as unknown as tf.Tensor4D, new Rng(0))).toThrow(
      /'images' passed to 'viewGenerator\.generate' must be rank 4, got rank 2/,
    );
    rank2.dispose();
  });
});
