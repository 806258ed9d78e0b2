import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@contrastive/core';
import { expectContrastiveError, expectNoLeak, expectTensorClose, useTestBackend, valueRange } from '@contrastive/core/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Augmentation } from './augmentation.js';
import { applyChoice, applyOrder, applySelected, oneOf, randomApply, randomOrder } from './combinators.js';
import { colorJitter } from './color-jitter.js';
import { gaussianNoise } from './gaussian-noise.js';
import { horizontalFlip } from './horizontal-flip.js';
import { randomResizedCrop } from './random-resized-crop.js';

beforeAll(async () => {
  await useTestBackend();
});

const EXACT = { atol: 0, rtol: 0 };

/** One call of a recording augmentation: which images (by their first value) and one draw. */
interface Call {
  readonly name: string;
  readonly ids: number[];
  readonly draw: number;
}

/** A deterministic augmentation that records the images it receives and makes one draw per call. */
function recorder(name: string, transform: (images: tf.Tensor4D) => tf.Tensor, log: Call[]): Augmentation {
  return {
    name,
    apply(images: tf.Tensor4D, rng: Rng): tf.Tensor4D {
      const [n] = images.shape;
      const data = images.dataSync();
      const perImage = data.length / n;
      log.push({ name, ids: Array.from({ length: n }, (_, i) => data[i * perImage] as number), draw: rng.uniform() });
      return tf.tidy(() => transform(images)) as tf.Tensor4D;
    },
  };
}

/** `[n, h, w, c]` batch where every value of image `i` is `i` (the image's id). */
function idImages(n: number, h = 2, w = 2, c = 1): tf.Tensor4D {
  const data = new Float32Array(n * h * w * c);
  for (let i = 0; i < n; i++) data.fill(i, i * h * w * c, (i + 1) * h * w * c);
  return tf.tensor4d(data, [n, h, w, c]);
}

function firstValues(images: tf.Tensor4D): number[] {
  const data = images.dataSync();
  const perImage = data.length / images.shape[0];
  return Array.from({ length: images.shape[0] }, (_, i) => data[i * perImage] as number);
}

function gatherRows(images: tf.Tensor4D, indices: number[]): tf.Tensor4D {
  return tf.gather(images, tf.tensor1d(indices, 'int32')) as tf.Tensor4D;
}

/** Per image: does it differ anywhere from the input? */
function changedImages(a: tf.Tensor4D, b: tf.Tensor4D): boolean[] {
  const x = a.dataSync();
  const y = b.dataSync();
  const perImage = x.length / a.shape[0];
  return Array.from({ length: a.shape[0] }, (_, i) => {
    for (let j = i * perImage; j < (i + 1) * perImage; j++) if (x[j] !== y[j]) return true;
    return false;
  });
}

const plusTen = (images: tf.Tensor4D): tf.Tensor => tf.add(images, 10);
const double = (images: tf.Tensor4D): tf.Tensor => tf.mul(images, 2);
const negate = (images: tf.Tensor4D): tf.Tensor => tf.neg(images);

describe('applySelected', () => {
  it('augments exactly the selected images as one batch, in index order, and puts them back (hand-computed)', () => {
    const log: Call[] = [];
    const images = idImages(4, 2, 3, 1);
    const out = applySelected(images, { selected: [true, false, true, true] }, recorder('plusTen', plusTen, log), new Rng(0));
    expect(out.shape).toEqual([4, 2, 3, 1]);
    expect(out.dtype).toBe('float32');
    expectTensorClose(out, [10, 1, 12, 13].flatMap((v) => new Array<number>(6).fill(v)), EXACT);
    expect(log.map((call) => call.ids)).toEqual([[0, 2, 3]]);
    tf.dispose([images, out]);
  });

  it('no image selected: a copy and no draw; all selected: the whole batch in one call', () => {
    const log: Call[] = [];
    const images = idImages(3);
    const rng = new Rng(1);
    const before = rng.state();
    const none = applySelected(images, { selected: [false, false, false] }, recorder('plusTen', plusTen, log), rng);
    expect(none).not.toBe(images);
    expectTensorClose(none, images, EXACT);
    expect(log).toEqual([]);
    expect(rng.state()).toEqual(before);
    const all = applySelected(images, { selected: [true, true, true] }, recorder('plusTen', plusTen, log), rng);
    expect(firstValues(all)).toEqual([10, 11, 12]);
    expect(log.map((call) => call.ids)).toEqual([[0, 1, 2]]);
    tf.dispose([images, none, all]);
  });

  it('an augmentation that returns its input still gives a new tensor', () => {
    const images = idImages(2);
    const identity: Augmentation = { name: 'identity', apply: (x) => x };
    const out = applySelected(images, { selected: [true, true] }, identity, new Rng(0));
    expect(out).not.toBe(images);
    expectTensorClose(out, images, EXACT);
    tf.dispose([images, out]);
  });

  it('rejects bad params, augmentations and outputs that change the image shape', async () => {
    const images = idImages(2);
    const log: Call[] = [];
    const add = recorder('plusTen', plusTen, log);
    expectContrastiveError(() => applySelected(images, { selected: [true] }, add, new Rng(0)), 'SHAPE_MISMATCH', /'params\.selected' passed to 'applySelected' must have 2 entries \(one per image\), got 1/);
    expectContrastiveError(() => applySelected(images, { selected: [true, 1 as unknown as boolean] }, add, new Rng(0)), 'INVALID_ARGUMENT', /'params\.selected\[1\]' .* must be a boolean, got 1/);
    expectContrastiveError(() => applySelected(images, null as never, add, new Rng(0)), 'INVALID_ARGUMENT', /'params' passed to 'applySelected' must be an object \{ selected \}, got null/);
    expectContrastiveError(() => applySelected(images, { selected: [true, true] }, {} as Augmentation, new Rng(0)), 'INVALID_ARGUMENT', /'augmentation' passed to 'applySelected' must be an Augmentation/);
    const crop = randomResizedCrop({ size: [1, 1] });
    await expectNoLeak(() => {
      expectContrastiveError(
        () => applySelected(images, { selected: [true, false] }, crop, new Rng(0)),
        'SHAPE_MISMATCH',
        /The augmentation 'randomResizedCrop' applied by 'applySelected' must return images of the same \[h, w, c\] as the input \(\[2, 2, 1\]\) so that the batch can be reassembled, got \[1, 1, 1\]/,
      );
      const twice: Augmentation = { name: 'twice', apply: (x) => tf.concat([x, x]) as tf.Tensor4D };
      expectContrastiveError(
        () => applySelected(images, { selected: [true, false] }, twice, new Rng(0)),
        'SHAPE_MISMATCH',
        /The augmentation 'twice' applied by 'applySelected' to 1 images must return a \[1, h, w, c\] float32 tensor, got float32 \[2, 2, 2, 1\]/,
      );
    });
    images.dispose();
  });
});

describe('randomApply', () => {
  it('draws n coins first, then the augmentation draws for the selected images only (replay with a cloned rng)', () => {
    const images = tf.randomUniform([9, 5, 5, 1], 0, 1, 'float32', 3) as tf.Tensor4D;
    const inner = gaussianNoise({ probability: 1, std: 0.1 });
    const augmentation = randomApply(inner, { probability: 0.5 });
    const rng = new Rng(17);
    const replay = rng.clone();
    const out = augmentation.apply(images, rng);
    const coins = Array.from({ length: 9 }, () => replay.uniform() < 0.5);
    const chosen = coins.flatMap((coin, i) => (coin ? [i] : []));
    expect(chosen.length).toBeGreaterThan(0);
    expect(chosen.length).toBeLessThan(9);
    const subset = gatherRows(images, chosen);
    const augmented = inner.apply(subset, replay);
    expect(rng.state()).toEqual(replay.state());
    expect(changedImages(out, images)).toEqual(coins);
    const picked = gatherRows(out, chosen);
    expectTensorClose(picked, augmented, EXACT);
    // sample() draws exactly the coins
    expect(Array.from(augmentation.sample(9, new Rng(17)).selected)).toEqual(coins);
    tf.dispose([images, out, subset, augmented, picked]);
  });

  it('probability 0 copies (no inner draw), probability 1 equals the augmentation after n coins', () => {
    const images = tf.randomUniform([4, 6, 6, 3], 0, 1, 'float32', 5) as tf.Tensor4D;
    const inner = colorJitter({ probability: 1 });
    const rng = new Rng(2);
    const never = randomApply(inner, { probability: 0 }).apply(images, rng);
    expectTensorClose(never, images, EXACT);
    const afterCoins = new Rng(2);
    for (let i = 0; i < 4; i++) afterCoins.uniform();
    expect(rng.state()).toEqual(afterCoins.state());
    const always = randomApply(inner, { probability: 1 }).apply(images, new Rng(2));
    const expected = inner.apply(images, afterCoins);
    expectTensorClose(always, expected, EXACT);
    tf.dispose([images, never, always, expected]);
  });

  it('coin rate follows the probability; the name wraps the inner name', () => {
    const augmentation = randomApply(horizontalFlip(), { probability: 0.3 });
    expect(augmentation.name).toBe('randomApply(horizontalFlip)');
    const selected = Array.from(augmentation.sample(10000, new Rng(4)).selected);
    expect(Math.abs(selected.filter(Boolean).length / 10000 - 0.3)).toBeLessThan(0.02);
    expect(randomApply(horizontalFlip()).sample(4000, new Rng(5)).selected.length).toBe(4000);
  });

  it.each([1, 3, 4])('same seed same output, different seeds differ; shape, dtype, range kept (c = %i); n = 1', (channels) => {
    const images = tf.randomUniform([6, 7, 7, channels], 0, 1, 'float32', 6) as tf.Tensor4D;
    const augmentation = randomApply(colorJitter({ probability: 1 }), { probability: 0.5 });
    const a = augmentation.apply(images, new Rng(8));
    const b = augmentation.apply(images, new Rng(8));
    const c = augmentation.apply(images, new Rng(9));
    expect(a.shape).toEqual([6, 7, 7, channels]);
    expect(a.dtype).toBe('float32');
    expectTensorClose(a, b, EXACT);
    expect(() => expectTensorClose(a, c, { atol: 1e-4, rtol: 0 })).toThrow();
    const [low, high] = valueRange(a);
    expect(low).toBeGreaterThanOrEqual(0);
    expect(high).toBeLessThanOrEqual(1);
    const single = tf.slice(images, [0, 0, 0, 0], [1, -1, -1, -1]) as tf.Tensor4D;
    const one = augmentation.apply(single, new Rng(1));
    expect(one.shape).toEqual([1, 7, 7, channels]);
    tf.dispose([images, a, b, c, single, one]);
  });

  it('leaks nothing (also when the inner augmentation throws) and never disposes its input', async () => {
    const images = tf.randomUniform([8, 4, 4, 1], 0, 1, 'float32', 7) as tf.Tensor4D;
    const failing: Augmentation = {
      name: 'failing',
      apply(x) {
        tf.add(x, 1); // an intermediate left behind on purpose
        throw new Error('boom');
      },
    };
    await expectNoLeak(() => {
      randomApply(colorJitter()).apply(images, new Rng(0)).dispose();
      randomApply(colorJitter(), { probability: 1 }).apply(images, new Rng(0)).dispose();
      randomApply(colorJitter(), { probability: 0 }).apply(images, new Rng(0)).dispose();
      expect(() => randomApply(failing, { probability: 0.5 }).apply(images, new Rng(0))).toThrow('boom');
    });
    expect(images.isDisposed).toBe(false);
    images.dispose();
  });

  it('rejects bad options and images with a named ContrastiveError', () => {
    expectContrastiveError(() => randomApply(colorJitter(), { probability: 1.5 }), 'INVALID_ARGUMENT', /'probability' passed to 'randomApply' must be a finite number >= 0 and <= 1, got 1\.5/);
    expectContrastiveError(() => randomApply(null as never), 'INVALID_ARGUMENT', /'augmentation' passed to 'randomApply' must be an Augmentation \(with an apply method\), got null/);
    expectContrastiveError(() => randomApply(colorJitter(), 3 as never), 'INVALID_ARGUMENT', /'options' passed to 'randomApply' must be an object, got 3/);
    expectContrastiveError(() => randomApply(colorJitter()).sample(0, new Rng(0)), 'INVALID_ARGUMENT', /'n' passed to 'randomApply\.sample' must be an integer >= 1, got 0/);
    const ints = tf.ones([2, 2, 2, 1], 'int32');
    expectContrastiveError(() => randomApply(colorJitter()).apply(ints as tf.Tensor4D, new Rng(0)), 'DTYPE_MISMATCH', /'images' passed to 'randomApply\.apply' must have dtype float32, got int32/);
    ints.dispose();
  });
});

describe('applyChoice', () => {
  it('runs each augmentation once on its group, in list order, and reassembles (hand-computed)', () => {
    const log: Call[] = [];
    const images = idImages(5, 1, 2, 3);
    const stages = [recorder('plusTen', plusTen, log), recorder('negate', negate, log), recorder('double', double, log)];
    const out = applyChoice(images, { choice: [1, 0, 1, 0, 1] }, stages, new Rng(0));
    expect(out.shape).toEqual([5, 1, 2, 3]);
    expectTensorClose(out, [0, 11, -2, 13, -4].flatMap((v) => new Array<number>(6).fill(v)), EXACT);
    // 'double' is chosen by no image: it is not called (and makes no draw)
    expect(log.map((call) => [call.name, call.ids])).toEqual([
      ['plusTen', [1, 3]],
      ['negate', [0, 2, 4]],
    ]);
    tf.dispose([images, out]);
  });

  it('may resize when all candidates give the same size; rejects candidates that disagree', async () => {
    const images = tf.randomUniform([6, 8, 8, 1], 0, 1, 'float32', 1) as tf.Tensor4D;
    const small = randomResizedCrop({ size: [4, 4] });
    const smallToo = randomResizedCrop({ size: [4, 4], scale: [0.2, 0.5] });
    const out = applyChoice(images, { choice: [0, 1, 0, 1, 1, 0] }, [small, smallToo], new Rng(0));
    expect(out.shape).toEqual([6, 4, 4, 1]);
    const other = randomResizedCrop({ size: [5, 5] });
    await expectNoLeak(() => {
      expectContrastiveError(
        () => applyChoice(images, { choice: [0, 1, 0, 1, 1, 0] }, [small, other], new Rng(0)),
        'SHAPE_MISMATCH',
        /The augmentation 'randomResizedCrop' applied by 'applyChoice' must return images of the same \[h, w, c\] as augmentation 'randomResizedCrop' \(\[4, 4, 1\]\) so that the batch can be reassembled, got \[5, 5, 1\]/,
      );
    });
    tf.dispose([images, out]);
  });

  it('rejects bad choices', () => {
    const images = idImages(2);
    const stages = [colorJitter(), gaussianNoise()];
    expectContrastiveError(() => applyChoice(images, { choice: [0, 2] }, stages, new Rng(0)), 'INVALID_ARGUMENT', /'params\.choice\[1\]' passed to 'applyChoice' must be an integer >= 0 and <= 1, got 2/);
    expectContrastiveError(() => applyChoice(images, { choice: [0, 0.5] }, stages, new Rng(0)), 'INVALID_ARGUMENT', /'params\.choice\[1\]' .* got 0\.5/);
    expectContrastiveError(() => applyChoice(images, { choice: [0] }, stages, new Rng(0)), 'SHAPE_MISMATCH', /'params\.choice' passed to 'applyChoice' must have 2 entries \(one per image\), got 1/);
    expectContrastiveError(() => applyChoice(images, { choice: [0, 0] }, [], new Rng(0)), 'INVALID_ARGUMENT', /'augmentations' passed to 'applyChoice' must hold at least 1 augmentation, got an empty array/);
    images.dispose();
  });
});

describe('oneOf', () => {
  it('draws n uniforms (inverse CDF of the weights), then each candidate on its group in list order (replay)', () => {
    const images = tf.randomUniform([12, 5, 5, 1], 0, 1, 'float32', 2) as tf.Tensor4D;
    const stages = [gaussianNoise({ probability: 1, std: 0.1 }), colorJitter({ probability: 1 }), horizontalFlip({ probability: 1 })];
    const augmentation = oneOf(stages, { weights: [2, 1, 1] });
    expect(augmentation.name).toBe('oneOf(gaussianNoise, colorJitter, horizontalFlip)');
    const rng = new Rng(23);
    const replay = rng.clone();
    const out = augmentation.apply(images, rng);
    const choice = Array.from({ length: 12 }, () => {
      const u = replay.uniform();
      return u < 0.5 ? 0 : u < 0.75 ? 1 : 2;
    });
    expect(Array.from(augmentation.sample(12, new Rng(23)).choice)).toEqual(choice);
    const expected = new Array<tf.Tensor4D | null>(12).fill(null);
    const parts: tf.Tensor[] = [];
    stages.forEach((stage, j) => {
      const members = choice.flatMap((c, i) => (c === j ? [i] : []));
      if (members.length === 0) return;
      const subset = gatherRows(images, members);
      const result = stage.apply(subset, replay);
      parts.push(subset, result);
      members.forEach((i, row) => {
        expected[i] = tf.slice(result, [row, 0, 0, 0], [1, -1, -1, -1]) as tf.Tensor4D;
      });
    });
    expect(new Set(choice).size).toBe(3);
    expect(rng.state()).toEqual(replay.state());
    const assembled = tf.concat(expected as tf.Tensor4D[]);
    expectTensorClose(out, assembled, EXACT);
    tf.dispose([images, out, assembled, ...parts, ...(expected as tf.Tensor4D[])]);
  });

  it('choice frequencies follow the weights; a zero weight is never chosen; one candidate still draws n coins', () => {
    const stages = [colorJitter(), gaussianNoise(), horizontalFlip()];
    const choice = Array.from(oneOf(stages, { weights: [3, 0, 1] }).sample(8000, new Rng(6)).choice);
    expect(choice.includes(1)).toBe(false);
    expect(Math.abs(choice.filter((c) => c === 0).length / 8000 - 0.75)).toBeLessThan(0.02);
    const uniform = Array.from(oneOf(stages).sample(9000, new Rng(7)).choice);
    for (let j = 0; j < 3; j++) expect(Math.abs(uniform.filter((c) => c === j).length / 9000 - 1 / 3)).toBeLessThan(0.02);
    const rng = new Rng(3);
    const images = tf.ones([4, 2, 2, 1]) as tf.Tensor4D;
    const log: Call[] = [];
    oneOf([recorder('plusTen', plusTen, log)]).apply(images, rng).dispose();
    const replay = new Rng(3);
    for (let i = 0; i < 4; i++) replay.uniform();
    expect(log[0]?.draw).toBe(replay.uniform());
    expect(rng.state()).toEqual(replay.state());
    images.dispose();
  });

  it('same seed same output, different seeds differ, on c = 1 and c = 3; n = 1; no leak', async () => {
    for (const channels of [1, 3]) {
      const images = tf.randomUniform([8, 6, 6, channels], 0, 1, 'float32', 4) as tf.Tensor4D;
      const augmentation = oneOf([colorJitter({ probability: 1 }), gaussianNoise({ probability: 1 }), horizontalFlip({ probability: 1 })]);
      await expectNoLeak(() => {
        const a = augmentation.apply(images, new Rng(1));
        const b = augmentation.apply(images, new Rng(1));
        const c = augmentation.apply(images, new Rng(2));
        expect(a.shape).toEqual([8, 6, 6, channels]);
        expectTensorClose(a, b, EXACT);
        expect(() => expectTensorClose(a, c, { atol: 1e-4, rtol: 0 })).toThrow();
        const single = tf.slice(images, [2, 0, 0, 0], [1, -1, -1, -1]) as tf.Tensor4D;
        const one = augmentation.apply(single, new Rng(0));
        expect(one.shape).toEqual([1, 6, 6, channels]);
        tf.dispose([a, b, c, single, one]);
      });
      images.dispose();
    }
  });

  it('rejects bad options with a named ContrastiveError', () => {
    const stages = [colorJitter(), gaussianNoise()];
    expectContrastiveError(() => oneOf([]), 'INVALID_ARGUMENT', /'augmentations' passed to 'oneOf' must hold at least 1 augmentation, got an empty array/);
    expectContrastiveError(() => oneOf([colorJitter(), 4 as never]), 'INVALID_ARGUMENT', /'augmentations\[1\]' passed to 'oneOf' must be an Augmentation \(with an apply method\), got 4/);
    expectContrastiveError(() => oneOf(stages, { weights: [1] }), 'SHAPE_MISMATCH', /'weights' passed to 'oneOf' must have 2 entries \(one per augmentation\), got 1/);
    expectContrastiveError(() => oneOf(stages, { weights: [1, -1] }), 'INVALID_ARGUMENT', /'weights\[1\]' passed to 'oneOf' must be a finite number >= 0, got -1/);
    expectContrastiveError(() => oneOf(stages, { weights: [1, NaN] }), 'INVALID_ARGUMENT', /'weights\[1\]' .* got NaN/);
    expectContrastiveError(() => oneOf(stages, { weights: [0, 0] }), 'INVALID_ARGUMENT', /'weights' passed to 'oneOf' must have a positive sum, got \[0, 0\]/);
    expectContrastiveError(() => oneOf(stages, { weights: 'equal' as never }), 'INVALID_ARGUMENT', /'weights' passed to 'oneOf' must be an array of 2 numbers, got "equal"/);
  });
});

describe('applyOrder', () => {
  it('runs each image through the stages in its own order (hand-computed), in m steps of grouped calls', () => {
    const log: Call[] = [];
    const images = idImages(3, 2, 2, 1);
    const stages = [recorder('plusTen', plusTen, log), recorder('double', double, log)];
    const out = applyOrder(images, { order: [[0, 1], [1, 0], [0, 1]] }, stages, new Rng(0));
    // image 0: (0 + 10) * 2 = 20; image 1: 1 * 2 + 10 = 12; image 2: (2 + 10) * 2 = 24
    expectTensorClose(out, [20, 12, 24].flatMap((v) => new Array<number>(4).fill(v)), EXACT);
    // step 0: plusTen on images 0, 2, double on image 1; step 1: plusTen on image 1, double on 0, 2
    expect(log.map((call) => [call.name, call.ids])).toEqual([
      ['plusTen', [0, 2]],
      ['double', [1]],
      ['plusTen', [2]],
      ['double', [10, 12]],
    ]);
    tf.dispose([images, out]);
  });

  it('an empty list copies; bad orders are rejected', () => {
    const images = idImages(2);
    const copy = applyOrder(images, { order: [[], []] }, [], new Rng(0));
    expect(copy).not.toBe(images);
    expectTensorClose(copy, images, EXACT);
    const stages = [colorJitter(), gaussianNoise()];
    expectContrastiveError(() => applyOrder(images, { order: [[0, 1], [1, 1]] }, stages, new Rng(0)), 'INVALID_ARGUMENT', /'params\.order\[1\]' passed to 'applyOrder' must be a permutation of 0\.\.1, got \[1, 1\]/);
    expectContrastiveError(() => applyOrder(images, { order: [[0, 1], [0]] }, stages, new Rng(0)), 'SHAPE_MISMATCH', /'params\.order\[1\]' passed to 'applyOrder' must have 2 entries/);
    expectContrastiveError(() => applyOrder(images, { order: [[0, 1]] }, stages, new Rng(0)), 'SHAPE_MISMATCH', /'params\.order' passed to 'applyOrder' must have 2 entries \(one per image\), got 1/);
    expectContrastiveError(() => applyOrder(images, { order: [[0, 1], [0, 5]] }, stages, new Rng(0)), 'INVALID_ARGUMENT', /'params\.order\[1\]\[1\]' .* must be an integer >= 0 and <= 1, got 5/);
    tf.dispose([images, copy]);
  });
});

describe('randomOrder', () => {
  it('draws one permutation per image first, then the grouped steps (replay with applyOrder and a cloned rng)', () => {
    const images = tf.randomUniform([10, 5, 5, 1], 0, 1, 'float32', 8) as tf.Tensor4D;
    const stages = [colorJitter({ probability: 1 }), gaussianNoise({ probability: 1, std: 0.1 }), horizontalFlip({ probability: 1 })];
    const augmentation = randomOrder(stages);
    expect(augmentation.name).toBe('randomOrder(colorJitter, gaussianNoise, horizontalFlip)');
    const rng = new Rng(31);
    const replay = rng.clone();
    const out = augmentation.apply(images, rng);
    const order = Array.from({ length: 10 }, () => Array.from(replay.permutation(3)));
    expect(augmentation.sample(10, new Rng(31)).order).toEqual(order);
    const expected = applyOrder(images, { order }, stages, replay);
    expectTensorClose(out, expected, EXACT);
    expect(rng.state()).toEqual(replay.state());
    tf.dispose([images, out, expected]);
  });

  it('per image: every order occurs, uniformly; the images of a batch get different orders', () => {
    const order = randomOrder([colorJitter(), gaussianNoise(), horizontalFlip()]).sample(6000, new Rng(9)).order;
    const counts = new Map<string, number>();
    for (const permutation of Array.from(order)) counts.set(Array.from(permutation).join(''), (counts.get(Array.from(permutation).join('')) ?? 0) + 1);
    expect(counts.size).toBe(6);
    for (const count of counts.values()) expect(Math.abs(count / 6000 - 1 / 6)).toBeLessThan(0.02);
  });

  it('same seed same output, different seeds differ, c = 1 and 3, n = 1, no leak; stages that resize are rejected', async () => {
    for (const channels of [1, 3]) {
      const images = tf.randomUniform([6, 6, 6, channels], 0, 1, 'float32', 10) as tf.Tensor4D;
      const augmentation = randomOrder([colorJitter({ probability: 1 }), gaussianNoise({ probability: 1 })]);
      await expectNoLeak(() => {
        const a = augmentation.apply(images, new Rng(1));
        const b = augmentation.apply(images, new Rng(1));
        const c = augmentation.apply(images, new Rng(2));
        expect(a.shape).toEqual([6, 6, 6, channels]);
        expect(a.dtype).toBe('float32');
        expectTensorClose(a, b, EXACT);
        expect(() => expectTensorClose(a, c, { atol: 1e-4, rtol: 0 })).toThrow();
        const single = tf.slice(images, [0, 0, 0, 0], [1, -1, -1, -1]) as tf.Tensor4D;
        const one = augmentation.apply(single, new Rng(0));
        expect(one.shape).toEqual([1, 6, 6, channels]);
        randomOrder([]).apply(images, new Rng(0)).dispose();
        expectContrastiveError(
          () => randomOrder([colorJitter(), randomResizedCrop({ size: [3, 3] })]).apply(images, new Rng(0)),
          'SHAPE_MISMATCH',
          /The augmentation 'randomResizedCrop' applied by 'randomOrder\.apply' must return images of the same \[h, w, c\] as the input/,
        );
        tf.dispose([a, b, c, single, one]);
      });
      images.dispose();
    }
  });

  it('rejects non-augmentations', () => {
    expectContrastiveError(() => randomOrder([colorJitter(), {} as Augmentation]), 'INVALID_ARGUMENT', /'augmentations\[1\]' passed to 'randomOrder' must be an Augmentation/);
    expectContrastiveError(() => randomOrder('all' as never), 'INVALID_ARGUMENT', /'augmentations' passed to 'randomOrder' must be an array of augmentations, got "all"/);
  });
});

describe('combinators across backends', () => {
  it('same seed gives bit-identical output on cpu and wasm', async () => {
    const original = tf.getBackend() as 'wasm' | 'cpu';
    const data = Float32Array.from({ length: 6 * 5 * 5 * 3 }, (_, i) => ((i * 37) % 101) / 100);
    const outputs: Float32Array[] = [];
    for (const backend of ['cpu', 'wasm'] as const) {
      await useTestBackend(backend);
      expect(tf.getBackend()).toBe(backend);
      const images = tf.tensor4d(data, [6, 5, 5, 3]);
      const pipeline = [
        randomApply(gaussianNoise({ probability: 1 }), { probability: 0.5 }),
        oneOf([horizontalFlip({ probability: 1 }), gaussianNoise({ probability: 1, std: 0.2 })]),
        randomOrder([horizontalFlip(), gaussianNoise()]),
      ];
      const rng = new Rng(77);
      for (const augmentation of pipeline) {
        const out = augmentation.apply(images, rng);
        outputs.push(out.dataSync() as Float32Array);
        out.dispose();
      }
      images.dispose();
    }
    await useTestBackend(original);
    for (let k = 0; k < 3; k++) expect(Array.from(outputs[k + 3] as Float32Array)).toEqual(Array.from(outputs[k] as Float32Array));
  });
});
