import * as tf from '@tensorflow/tfjs-core';
import { Rng, isContrastiveError } from '@contrastive/core';
import { expectNoLeak, expectTensorClose, useTestBackend } from '@contrastive/core/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Augmentation, compose } from './augmentation.js';
import { colorJitter } from './color-jitter.js';
import { gaussianNoise } from './gaussian-noise.js';
import { horizontalFlip } from './horizontal-flip.js';
import { randomResizedCrop } from './random-resized-crop.js';

beforeAll(async () => {
  await useTestBackend();
});

describe('compose', () => {
  it('applies the stages first to last, stage by stage over the batch, with one rng', () => {
    const images = tf.randomUniform([5, 10, 10, 1], 0, 1, 'float32', 4) as tf.Tensor4D;
    const stages = [randomResizedCrop({ flipProbability: 0.5 }), horizontalFlip(), colorJitter(), gaussianNoise()];
    const composed = compose(stages);
    expect(composed.name).toBe('compose(randomResizedCrop, horizontalFlip, colorJitter, gaussianNoise)');
    const rng = new Rng(21);
    const manualRng = rng.clone();
    let manual = tf.clone(images);
    for (const stage of stages) {
      const next = stage.apply(manual, manualRng);
      manual.dispose();
      manual = next;
    }
    const got = composed.apply(images, rng);
    expectTensorClose(got, manual, { atol: 0, rtol: 0 });
    expect(rng.state()).toEqual(manualRng.state());
    tf.dispose([images, manual, got]);
  });

  it('an empty list returns a copy; the input is never disposed', async () => {
    const images = tf.ones([2, 3, 3, 1]) as tf.Tensor4D;
    await expectNoLeak(() => {
      const copy = compose([]).apply(images, new Rng(0));
      expect(copy).not.toBe(images);
      expectTensorClose(copy, images, { atol: 0, rtol: 0 });
      copy.dispose();
      compose([colorJitter(), gaussianNoise()]).apply(images, new Rng(0)).dispose();
    });
    expect(images.isDisposed).toBe(false);
    images.dispose();
  });

  it('frees intermediates when a stage throws', async () => {
    const failing: Augmentation = {
      name: 'failing',
      apply() {
        throw new Error('boom');
      },
    };
    const images = tf.ones([2, 3, 3, 1]) as tf.Tensor4D;
    await expectNoLeak(() => {
      expect(() => compose([colorJitter(), failing]).apply(images, new Rng(0))).toThrow('boom');
    });
    images.dispose();
  });

  it('rejects non-augmentations and bad images with a named ContrastiveError', () => {
    expect(() => compose([colorJitter(), {} as Augmentation])).toThrow(/'augmentations\[1\]' passed to 'compose' must be an Augmentation/);
    expect(() => compose('crop' as unknown as Augmentation[])).toThrow(/'augmentations' passed to 'compose' must be an array/);
    const rank3 = tf.ones([3, 3, 1]);
    let caught: unknown;
    try {
      compose([colorJitter()]).apply(rank3 as unknown as tf.Tensor4D, new Rng(0));
    } catch (error) {
      caught = error;
    }
    expect(isContrastiveError(caught)).toBe(true);
    expect((caught as Error).message).toMatch(/'images' passed to 'compose\.apply' must be rank 4, got rank 3 \(shape \[3, 3, 1\]\)/);
    rank3.dispose();
  });
});
