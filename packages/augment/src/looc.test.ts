import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@contrastive/core';
import { expectContrastiveError, expectNoLeak, useTestBackend } from '@contrastive/core/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Augmentation } from './augmentation.js';
import { colorJitter } from './color-jitter.js';
import { horizontalFlip } from './horizontal-flip.js';
import { loocViews } from './looc.js';
import { randomResizedCrop } from './random-resized-crop.js';

beforeAll(async () => {
  await useTestBackend();
});

/**
 * A probe family: writes one uniform draw per image into channel `channel` (the other channels are
 * kept), so the output shows which draws each view used.
 */
function probe(channel: number, channels: number): Augmentation {
  return {
    name: `probe${channel}`,
    apply(images: tf.Tensor4D, rng: Rng): tf.Tensor4D {
      const [n, h, w] = images.shape;
      const draws = Float32Array.from({ length: n }, () => rng.uniform());
      return tf.tidy(() => {
        const mask = tf.tensor4d(Float32Array.from({ length: channels }, (_, k) => (k === channel ? 1 : 0)), [1, 1, 1, channels]);
        const value = tf.tensor4d(draws, [n, 1, 1, 1]);
        return tf.add(tf.mul(images, tf.sub(1, mask)), tf.mul(tf.broadcastTo(value, [n, h, w, 1]), mask)) as tf.Tensor4D;
      });
    },
  };
}

/** `[views][n][family]` draws read back from the probe channels (pixel 0, 0). */
function probeDraws(images: tf.Tensor4D, views: number, n: number, families: number): number[][][] {
  const values = images.arraySync();
  return Array.from({ length: views }, (_, v) =>
    Array.from({ length: n }, (_, b) => Array.from({ length: families }, (_, f) => values[v * n + b]![0]![0]![f]!)),
  );
}

describe('loocViews', () => {
  it.each(['shareFamily', 'varyFamily'] as const)('copies exactly the documented families from the query (%s)', (keys) => {
    const families = 3;
    const n = 4;
    const looc = loocViews({ families: [probe(0, families), probe(1, families), probe(2, families)], keys });
    expect(looc.views).toBe(5);
    expect(looc.heads).toBe(4);
    const x = tf.zeros([n, 2, 2, families]) as tf.Tensor4D;
    const { images, heads } = looc.generate(x, new Rng(3));
    expect(images.shape).toEqual([5 * n, 2, 2, families]);
    const draws = probeDraws(images, 5, n, families);
    for (let view = 1; view < 5; view++) {
      for (let f = 0; f < families; f++) {
        const copies = view >= 2 && (keys === 'shareFamily' ? view - 2 === f : view - 2 !== f);
        for (let b = 0; b < n; b++) {
          if (copies) expect(draws[view]![b]![f]).toBe(draws[0]![b]![f]);
          else expect(draws[view]![b]![f]).not.toBe(draws[0]![b]![f]);
        }
      }
    }
    // Labels: head 0 all positive; head i positive exactly where family i-1 equals the query's.
    const labelValues = heads.map((h) => Array.from(h.dataSync()));
    expect(labelValues[0]).toEqual(Array.from({ length: 5 * n }, (_, r) => r % n));
    for (let head = 1; head <= families; head++) {
      for (let view = 0; view < 5; view++) {
        for (let b = 0; b < n; b++) {
          const sameAsQuery = draws[view]![b]![head - 1] === draws[0]![b]![head - 1];
          const label = labelValues[head]![view * n + b];
          if (sameAsQuery) expect(label).toBe(b);
          else expect(label).toBe(view * n + b);
        }
      }
      // Every label except the shared ones is unique.
      const counts = new Map<number, number>();
      for (const label of labelValues[head]!) counts.set(label, (counts.get(label) ?? 0) + 1);
      for (const [label, count] of counts) if (label >= n) expect(count).toBe(1);
    }
    tf.dispose([x, images, ...heads]);
  });

  it('gives the paper\'s head labels for two families', () => {
    const looc = loocViews({ families: [probe(0, 2), probe(1, 2)] });
    const x = tf.zeros([2, 1, 1, 2]) as tf.Tensor4D;
    const { images, heads } = looc.generate(x, new Rng(0));
    // views q, k0, k1, k2 of samples 0, 1
    expect(Array.from(heads[0]!.dataSync())).toEqual([0, 1, 0, 1, 0, 1, 0, 1]);
    expect(Array.from(heads[1]!.dataSync())).toEqual([0, 1, 2, 3, 0, 1, 6, 7]);
    expect(Array.from(heads[2]!.dataSync())).toEqual([0, 1, 2, 3, 4, 5, 0, 1]);
    tf.dispose([x, images, ...heads]);
  });

  it('draws base independently per view and is deterministic by seed', () => {
    const looc = loocViews({
      base: randomResizedCrop({ scale: [0.3, 1] }),
      families: [colorJitter({ probability: 1 }), horizontalFlip()],
    });
    const x = tf.randomUniform([3, 8, 8, 1], 0, 1, 'float32', 1) as tf.Tensor4D;
    const a = looc.generate(x, new Rng(5));
    const b = looc.generate(x, new Rng(5));
    const c = looc.generate(x, new Rng(6));
    expect(Array.from(a.images.dataSync())).toEqual(Array.from(b.images.dataSync()));
    expect(Array.from(a.images.dataSync())).not.toEqual(Array.from(c.images.dataSync()));
    const views = a.images.arraySync();
    // The base crop differs between q and k1 even though k1 copies the jitter.
    expect(views[0]).not.toEqual(views[2 * 3]);
    tf.dispose([x, a.images, b.images, c.images, ...a.heads, ...b.heads, ...c.heads]);
  });

  it('leaks no tensor, also when a family throws', async () => {
    const looc = loocViews({ base: horizontalFlip(), families: [probe(0, 1)] });
    const x = tf.zeros([2, 2, 2, 1]) as tf.Tensor4D;
    await expectNoLeak(() => {
      const { images, heads } = looc.generate(x, new Rng(1));
      tf.dispose([images, ...heads]);
    });
    const failing: Augmentation = { name: 'failing', apply: () => { throw new Error('boom'); } };
    const broken = loocViews({ base: horizontalFlip(), families: [probe(0, 1), failing] });
    await expectNoLeak(() => {
      expect(() => broken.generate(x, new Rng(1))).toThrow('boom');
    });
    x.dispose();
  });

  it('names bad arguments', () => {
    expectContrastiveError(() => loocViews({ families: [] }), 'INVALID_ARGUMENT', /'families' passed to 'loocViews' must be a non-empty array of augmentations, got an empty array/);
    expectContrastiveError(() => loocViews({ families: [{} as Augmentation] }), 'INVALID_ARGUMENT', /'families\[0\]'.*must be an Augmentation/);
    expectContrastiveError(() => loocViews({ families: [horizontalFlip()], base: 3 as unknown as Augmentation }), 'INVALID_ARGUMENT', /'base'/);
    expectContrastiveError(() => loocViews({ families: [horizontalFlip()], keys: 'other' as 'shareFamily' }), 'INVALID_ARGUMENT', /'keys'.*"shareFamily", "varyFamily", got "other"/);
    expectContrastiveError(() => loocViews(null as unknown as { families: [] }), 'INVALID_ARGUMENT', /'options'/);
    const looc = loocViews({ families: [horizontalFlip()] });
    expectContrastiveError(() => looc.generate(tf.zeros([2, 2]) as unknown as tf.Tensor4D, new Rng(0)), 'SHAPE_MISMATCH', /'images' passed to 'loocViews.generate'/);
  });
});
