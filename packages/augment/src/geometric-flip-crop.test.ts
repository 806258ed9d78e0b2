import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@contrastive/core';
import { expectContrastiveError, expectNoLeak, expectTensorClose, useTestBackend } from '@contrastive/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CropPaddingMode,
  applyCrop,
  applyRotate90,
  applyVerticalFlip,
  randomCrop,
  rotate90,
  verticalFlip,
} from './geometric-flip-crop.js';
import { applyRotation } from './geometric-warp.js';
import { onCpuAndWasm } from './test-support/backends.js';
import { type Shape, pattern } from './test-support/images.js';

beforeAll(async () => {
  await useTestBackend();
});

afterAll(async () => {
  await useTestBackend();
});

/**
 * float64 reference of torchvision `F.crop(F.pad(img, padding, fill, padding_mode), top, left, th, tw)`
 * as obvious loops: the padded image is built first, then cut. `padding` is [top, right, bottom, left].
 */
function padCropReference(
  data: number[],
  [n, h, w, c]: Shape,
  padding: [number, number, number, number],
  mode: CropPaddingMode,
  fill: number,
  top: number[],
  left: number[],
  [th, tw]: [number, number],
): number[] {
  const [pt, pr, pb, pl] = padding;
  const hp = h + pt + pb;
  const wp = w + pl + pr;
  const source = (i: number, length: number): number => {
    if (i >= 0 && i < length) return i;
    if (mode === 'constant') return -1;
    if (mode === 'edge') return Math.min(Math.max(i, 0), length - 1);
    if (mode === 'reflect') return i < 0 ? -i : 2 * length - 2 - i;
    return i < 0 ? -1 - i : 2 * length - 1 - i; // symmetric
  };
  const padded: number[][][][] = [];
  for (let b = 0; b < n; b++) {
    padded.push(
      Array.from({ length: hp }, (_, y) =>
        Array.from({ length: wp }, (_, x) => {
          const sy = source(y - pt, h);
          const sx = source(x - pl, w);
          return Array.from({ length: c }, (_, k) => (sy < 0 || sx < 0 ? fill : (data[((b * h + sy) * w + sx) * c + k] as number)));
        }),
      ),
    );
  }
  const out: number[] = [];
  for (let b = 0; b < n; b++)
    for (let y = 0; y < th; y++)
      for (let x = 0; x < tw; x++) out.push(...((padded[b] as number[][][])[(top[b] as number) + y] as number[][])[(left[b] as number) + x] as number[]);
  return out;
}

describe('applyCrop', () => {
  it('crops a known box of a constant-padded image, as by hand', () => {
    // [[1 2 3] [4 5 6] [7 8 9]] padded by 1 with 0.5, then the 3x3 crop at top 0, left 2:
    // padded rows 0..2, columns 2..4 = [[.5 .5 .5] [2 3 .5] [5 6 .5]].
    const images = tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 3, 3, 1]);
    const out = applyCrop(images, { top: [0], left: [2] }, { size: [3, 3], padding: 1, fill: 0.5 });
    expectTensorClose(out, [0.5, 0.5, 0.5, 2, 3, 0.5, 5, 6, 0.5], { atol: 0, rtol: 0 });
    tf.dispose([images, out]);
  });

  it('pads in the order [top, right, bottom, left]', () => {
    const images = tf.tensor4d([7], [1, 1, 1, 1]);
    const out = applyCrop(images, { top: [0], left: [0] }, { size: [2, 3], padding: [1, 0, 0, 2] });
    expectTensorClose(out, [0, 0, 0, 0, 0, 7], { atol: 0, rtol: 0 });
    tf.dispose([images, out]);
  });

  it.each([
    // [[1 2 3] [4 5 6]] padded by one pixel all round.
    { mode: 'reflect' as const, padding: 1, expected: [5, 4, 5, 6, 5, 2, 1, 2, 3, 2, 5, 4, 5, 6, 5, 2, 1, 2, 3, 2] },
    { mode: 'edge' as const, padding: 1, expected: [1, 1, 2, 3, 3, 1, 1, 2, 3, 3, 4, 4, 5, 6, 6, 4, 4, 5, 6, 6] },
    { mode: 'symmetric' as const, padding: 1, expected: [1, 1, 2, 3, 3, 1, 1, 2, 3, 3, 4, 4, 5, 6, 6, 4, 4, 5, 6, 6] },
  ])('pads with $mode values as torch.nn.functional.pad (hand-computed)', ({ mode, padding, expected }) => {
    const images = tf.tensor4d([1, 2, 3, 4, 5, 6], [1, 2, 3, 1]);
    const out = applyCrop(images, { top: [0], left: [0] }, { size: [4, 5], padding, paddingMode: mode });
    expectTensorClose(out, expected, { atol: 0, rtol: 0 });
    tf.dispose([images, out]);
  });

  it('tells symmetric from edge padding two pixels wide', () => {
    const images = tf.tensor4d([1, 2, 3], [1, 1, 3, 1]);
    const symmetric = applyCrop(images, { top: [0], left: [0] }, { size: [1, 7], padding: [0, 2, 0, 2], paddingMode: 'symmetric' });
    const edge = applyCrop(images, { top: [0], left: [0] }, { size: [1, 7], padding: [0, 2, 0, 2], paddingMode: 'edge' });
    expectTensorClose(symmetric, [2, 1, 1, 2, 3, 3, 2], { atol: 0, rtol: 0 });
    expectTensorClose(edge, [1, 1, 1, 2, 3, 3, 3], { atol: 0, rtol: 0 });
    tf.dispose([images, symmetric, edge]);
  });

  it.each(['constant', 'edge', 'reflect', 'symmetric'] as const)('equals the float64 pad-then-crop reference on random offsets (%s)', (mode) => {
    const shape: Shape = [5, 6, 7, 3];
    const data = pattern(shape, 1);
    const padding: [number, number, number, number] = [2, 3, 1, 4];
    const rng = new Rng(7);
    const top = Array.from({ length: 5 }, () => rng.int(6 + 2 + 1 - 4 + 1));
    const left = Array.from({ length: 5 }, () => rng.int(7 + 3 + 4 - 5 + 1));
    const images = tf.tensor4d(data, shape);
    const out = applyCrop(images, { top, left }, { size: [4, 5], padding, paddingMode: mode, fill: 0.25 });
    expect(out.shape).toEqual([5, 4, 5, 3]);
    expectTensorClose(out, padCropReference(data, shape, padding, mode, 0.25, top, left, [4, 5]), { atol: 0, rtol: 0 });
    tf.dispose([images, out]);
  });

  it('rejects crops larger than the padded image, padding too wide for the mode, and bad offsets', () => {
    const images = tf.ones([2, 3, 3, 1]) as tf.Tensor4D;
    const zero = { top: [0, 0], left: [0, 0] };
    expectContrastiveError(() => applyCrop(images, zero, { size: [6, 2], padding: 1 }), 'SHAPE_MISMATCH', /'images' passed to 'applyCrop' must be at least the crop size \[6, 2\] after padding, got \[5, 5\]/);
    expectContrastiveError(() => applyCrop(images, zero, { padding: 3, paddingMode: 'reflect' }), 'SHAPE_MISMATCH', /too small for reflect padding \[3, 3, 3, 3\]: each side must be < the image side/);
    expectContrastiveError(() => applyCrop(images, zero, { padding: 4, paddingMode: 'symmetric' }), 'SHAPE_MISMATCH', /each side must be <= the image side/);
    expectContrastiveError(() => applyCrop(images, { top: [0, 3], left: [0, 0] }, { padding: 1 }), 'INVALID_ARGUMENT', /'offsets\.top\[1\]' passed to 'applyCrop' must be a finite number >= 0 and <= 2, got 3/);
    expectContrastiveError(() => applyCrop(images, { top: [0, 0.5], left: [0, 0] }, { padding: 1 }), 'INVALID_ARGUMENT', /'offsets\.top\[1\]' .* must be an integer, got 0\.5/);
    expectContrastiveError(() => applyCrop(images, { top: [0], left: [0, 0] }), 'SHAPE_MISMATCH', /'offsets\.top' .* must have 2 entries/);
    expectContrastiveError(() => applyCrop(images, zero, { padding: -1 }), 'INVALID_ARGUMENT', /'options\.padding' passed to 'applyCrop' must be an integer >= 0, got -1/);
    expectContrastiveError(() => applyCrop(images, zero, { padding: [1, 2] as never }), 'INVALID_ARGUMENT', /'options\.padding' .* must be a non-negative integer or \[top, right, bottom, left\], got \[1, 2\]/);
    expectContrastiveError(() => applyCrop(images, zero, { paddingMode: 'wrap' as never }), 'INVALID_ARGUMENT', /'options\.paddingMode' .* must be one of "constant", "edge", "reflect", "symmetric", got "wrap"/);
    expectContrastiveError(() => applyCrop(images, zero, { size: [0, 2] }), 'INVALID_ARGUMENT', /'options\.size\[0\]'/);
    images.dispose();
  });
});

describe('randomCrop', () => {
  it('draws top then left per image with rng.int over every valid offset; sample = apply; no leak', async () => {
    const rng = new Rng(3);
    const copy = rng.clone();
    const { top, left } = randomCrop({ size: [4, 4], padding: 2 }).sample(5, rng, [6, 8]);
    for (let i = 0; i < 5; i++) {
      expect(top[i]).toBe(copy.int(10 - 4 + 1));
      expect(left[i]).toBe(copy.int(12 - 4 + 1));
    }
    expect(rng.state()).toEqual(copy.state());
    const many = randomCrop({ padding: 1 }).sample(400, new Rng(0), [3, 3]);
    expect(new Set(many.top)).toEqual(new Set([0, 1, 2]));
    expect(new Set(many.left)).toEqual(new Set([0, 1, 2]));
    const images = tf.tensor4d(pattern([6, 5, 5, 1]), [6, 5, 5, 1]);
    const augmentation = randomCrop({ padding: 2, paddingMode: 'reflect' });
    await expectNoLeak(() => {
      const expected = applyCrop(images, augmentation.sample(6, new Rng(9), [5, 5]), { padding: 2, paddingMode: 'reflect' });
      const got = augmentation.apply(images, new Rng(9));
      const other = augmentation.apply(images, new Rng(10));
      expectTensorClose(got, expected, { atol: 0, rtol: 0 });
      expect(Array.from(other.dataSync())).not.toEqual(Array.from(got.dataSync()));
      tf.dispose([expected, got, other]);
    });
    images.dispose();
  });

  it.each([1, 3, 4])('keeps c = %i, copies values exactly, and agrees bit for bit on cpu and wasm', async (channels) => {
    const shape: Shape = [4, 6, 6, channels];
    const data = pattern(shape, channels);
    const out = randomCrop({ padding: 2, fill: 1 }).apply(tf.tensor4d(data, shape), new Rng(1));
    expect(out.shape).toEqual(shape);
    const allowed = new Set([...data, 1]);
    const values = Array.from(out.dataSync());
    expect(values.every((value) => allowed.has(value))).toBe(true);
    out.dispose();
    const [cpu, wasm] = await onCpuAndWasm(() => tf.tidy(() => randomCrop({ size: [5, 4], padding: 1, paddingMode: 'symmetric' }).apply(tf.tensor4d(data, shape), new Rng(2))));
    expect(Array.from(cpu)).toEqual(Array.from(wasm));
  });

  it('handles n = 1 and a 1x1 image; a crop without padding of the full size is a copy', () => {
    const pixel = tf.tensor4d([0.5], [1, 1, 1, 1]);
    const padded = randomCrop({ padding: 1, fill: 0 }).apply(pixel, new Rng(0));
    expect(padded.shape).toEqual([1, 1, 1, 1]);
    expect([0, 0.5]).toContain(padded.dataSync()[0]);
    const same = randomCrop().apply(pixel, new Rng(0));
    expect(same).not.toBe(pixel);
    expectTensorClose(same, [0.5], { atol: 0, rtol: 0 });
    tf.dispose([pixel, padded, same]);
  });

  it('rejects bad options and images that are too small', () => {
    expectContrastiveError(() => randomCrop({ size: [2.5, 2] }), 'INVALID_ARGUMENT', /'size\[0\]' passed to 'randomCrop' must be an integer >= 1, got 2\.5/);
    expectContrastiveError(() => randomCrop({ fill: Number.NaN }), 'INVALID_ARGUMENT', /'fill' passed to 'randomCrop'/);
    expectContrastiveError(() => randomCrop(null as never), 'INVALID_ARGUMENT', /'options' passed to 'randomCrop' must be an object, got null/);
    const images = tf.ones([1, 3, 3, 1]) as tf.Tensor4D;
    expectContrastiveError(() => randomCrop({ size: [4, 4] }).apply(images, new Rng(0)), 'SHAPE_MISMATCH', /'images' passed to 'randomCrop\.apply' must be at least the crop size \[4, 4\]/);
    expectContrastiveError(() => randomCrop({ size: [4, 4] }).sample(1, new Rng(0), [3, 3]), 'SHAPE_MISMATCH', /'randomCrop\.sample'/);
    images.dispose();
  });
});

describe('applyVerticalFlip', () => {
  it('flips exactly the chosen images upside down (hand-computed and float64 reference)', () => {
    const small = tf.tensor4d([1, 2, 3, 4, 5, 6], [1, 3, 2, 1]);
    const flipped = applyVerticalFlip(small, { flip: [true] });
    expectTensorClose(flipped, [5, 6, 3, 4, 1, 2], { atol: 0, rtol: 0 });
    const shape: Shape = [3, 5, 4, 3];
    const data = pattern(shape, 2);
    const images = tf.tensor4d(data, shape);
    const flip = [true, false, true];
    const out = applyVerticalFlip(images, { flip });
    const expected: number[] = [];
    for (let b = 0; b < 3; b++)
      for (let y = 0; y < 5; y++)
        for (let x = 0; x < 4; x++)
          for (let k = 0; k < 3; k++) expected.push(data[((b * 5 + (flip[b] ? 4 - y : y)) * 4 + x) * 3 + k] as number);
    expectTensorClose(out, expected, { atol: 0, rtol: 0 });
    tf.dispose([small, flipped, images, out]);
  });

  it('rejects a wrong number of flags', () => {
    const images = tf.ones([2, 3, 3, 1]) as tf.Tensor4D;
    expectContrastiveError(() => applyVerticalFlip(images, { flip: [true] }), 'SHAPE_MISMATCH', /'params\.flip' passed to 'applyVerticalFlip' must have 2 entries \(one per image\), got 1/);
    expectContrastiveError(() => applyVerticalFlip(images, { flip: [true, 1 as never] }), 'INVALID_ARGUMENT', /'params\.flip\[1\]' .* must be a boolean, got 1/);
    images.dispose();
  });
});

describe('verticalFlip', () => {
  it('flips with the given probability, one uniform per image; sample = apply; no leak', async () => {
    const flips = verticalFlip({ probability: 0.3 }).sample(10000, new Rng(2)).flip;
    expect(Math.abs(Array.from(flips).filter(Boolean).length / 10000 - 0.3)).toBeLessThan(0.02);
    const rng = new Rng(9);
    const copy = rng.clone();
    expect(Array.from(verticalFlip().sample(5, rng).flip)).toEqual(Array.from({ length: 5 }, () => copy.uniform() < 0.5));
    expect(rng.state()).toEqual(copy.state());
    const images = tf.tensor4d(pattern([8, 6, 6, 4]), [8, 6, 6, 4]);
    await expectNoLeak(() => {
      const expected = applyVerticalFlip(images, verticalFlip().sample(8, new Rng(4)));
      const got = verticalFlip().apply(images, new Rng(4));
      expectTensorClose(got, expected, { atol: 0, rtol: 0 });
      tf.dispose([expected, got]);
    });
    images.dispose();
  });

  it('agrees bit for bit on cpu and wasm; handles n = 1 and a 1x1 image', async () => {
    const shape: Shape = [6, 5, 7, 3];
    const [cpu, wasm] = await onCpuAndWasm(() => tf.tidy(() => verticalFlip().apply(tf.tensor4d(pattern(shape, 5), shape), new Rng(3))));
    expect(Array.from(cpu)).toEqual(Array.from(wasm));
    const pixel = tf.tensor4d([0.25], [1, 1, 1, 1]);
    const out = verticalFlip({ probability: 1 }).apply(pixel, new Rng(0));
    expectTensorClose(out, [0.25], { atol: 0, rtol: 0 });
    tf.dispose([pixel, out]);
  });

  it('rejects a bad probability', () => {
    expectContrastiveError(() => verticalFlip({ probability: 1.5 }), 'INVALID_ARGUMENT', /'probability' passed to 'verticalFlip' must be a finite number >= 0 and <= 1, got 1\.5/);
  });
});

const GRID_4x4 = Array.from({ length: 16 }, (_, i) => i + 1);

describe('applyRotate90', () => {
  it('turns a 4x4 image counter-clockwise as by hand (k = 1, 2, 3), like torch.rot90', () => {
    // [[1 2 3 4] [5 6 7 8] [9 10 11 12] [13 14 15 16]]
    const images = tf.tensor4d([...GRID_4x4, ...GRID_4x4, ...GRID_4x4, ...GRID_4x4], [4, 4, 4, 1]);
    const out = applyRotate90(images, { turns: [0, 1, 2, 3] });
    expectTensorClose(
      out,
      [
        ...GRID_4x4,
        ...[4, 8, 12, 16, 3, 7, 11, 15, 2, 6, 10, 14, 1, 5, 9, 13],
        ...[16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1],
        ...[13, 9, 5, 1, 14, 10, 6, 2, 15, 11, 7, 3, 16, 12, 8, 4],
      ],
      { atol: 0, rtol: 0 },
    );
    tf.dispose([images, out]);
  });

  it('equals applyRotation by 90 k degrees on square images (c = 3)', () => {
    const shape: Shape = [4, 5, 5, 3];
    const images = tf.tensor4d(pattern(shape, 8), shape);
    const quarter = applyRotate90(images, { turns: [3, 1, 0, 2] });
    const free = applyRotation(images, { angle: [270, 90, 0, 180] });
    expectTensorClose(quarter, free, { atol: 0, rtol: 0 });
    tf.dispose([images, quarter, free]);
  });

  it('returns [n, w, h, c] for non-square images turned an odd number of times', () => {
    const images = tf.tensor4d([1, 2, 3, 4, 5, 6], [1, 2, 3, 1]); // [[1 2 3] [4 5 6]]
    const out = applyRotate90(images, { turns: [1] });
    expect(out.shape).toEqual([1, 3, 2, 1]);
    expectTensorClose(out, [3, 6, 2, 5, 1, 4], { atol: 0, rtol: 0 });
    const half = applyRotate90(images, { turns: [2] });
    expectTensorClose(half, [6, 5, 4, 3, 2, 1], { atol: 0, rtol: 0 });
    tf.dispose([images, out, half]);
  });

  it('rejects bad turns and mixed parities on non-square images', () => {
    const images = tf.ones([2, 2, 3, 1]) as tf.Tensor4D;
    expectContrastiveError(() => applyRotate90(images, { turns: [1, 2] }), 'SHAPE_MISMATCH', /'images' passed to 'applyRotate90' must be square when 'params\.turns' mixes odd and even quarter turns/);
    expectContrastiveError(() => applyRotate90(images, { turns: [1, 4] }), 'INVALID_ARGUMENT', /'params\.turns\[1\]' .* <= 3, got 4/);
    expectContrastiveError(() => applyRotate90(images, { turns: [1, 0.5] }), 'INVALID_ARGUMENT', /'params\.turns\[1\]' .* must be an integer, got 0\.5/);
    images.dispose();
  });
});

describe('rotate90', () => {
  it('draws a coin then a turn index per image; sample = apply; cpu and wasm agree bit for bit', async () => {
    const rng = new Rng(6);
    const copy = rng.clone();
    const { turns } = rotate90({ probability: 0.5, turns: [1, 3] }).sample(8, rng);
    expect(turns).toEqual(
      Array.from({ length: 8 }, () => {
        const rotate = copy.uniform() < 0.5;
        const turn = ([1, 3] as const)[copy.int(2)] as number;
        return rotate ? turn : 0;
      }),
    );
    expect(rng.state()).toEqual(copy.state());
    expect(new Set(rotate90().sample(200, new Rng(0)).turns)).toEqual(new Set([0, 1, 2, 3]));
    const shape: Shape = [8, 5, 5, 4];
    const images = tf.tensor4d(pattern(shape), shape);
    await expectNoLeak(() => {
      const expected = applyRotate90(images, rotate90().sample(8, new Rng(1)));
      const got = rotate90().apply(images, new Rng(1));
      expectTensorClose(got, expected, { atol: 0, rtol: 0 });
      tf.dispose([expected, got]);
    });
    images.dispose();
    const [cpu, wasm] = await onCpuAndWasm(() => tf.tidy(() => rotate90().apply(tf.tensor4d(pattern(shape, 1), shape), new Rng(5))));
    expect(Array.from(cpu)).toEqual(Array.from(wasm));
  });

  it('accepts non-square images when every outcome has the same parity', () => {
    const images = tf.ones([3, 2, 5, 1]) as tf.Tensor4D;
    const odd = rotate90({ turns: [1, 3] }).apply(images, new Rng(0));
    expect(odd.shape).toEqual([3, 5, 2, 1]);
    expectContrastiveError(() => rotate90({ turns: [1, 3], probability: 0.5 }).apply(images, new Rng(0)), 'SHAPE_MISMATCH', /'rotate90\.apply' must be square when the 'turns' option \(with 'probability' < 1, also 0 turns\) mixes odd and even/);
    expectContrastiveError(() => rotate90().apply(images, new Rng(0)), 'SHAPE_MISMATCH', /must be square/);
    tf.dispose([images, odd]);
  });

  it('rejects bad options', () => {
    expectContrastiveError(() => rotate90({ turns: [] }), 'INVALID_ARGUMENT', /'turns' passed to 'rotate90' must be a non-empty array of 0, 1, 2, 3, got \[\]/);
    expectContrastiveError(() => rotate90({ turns: [1, 5 as never] }), 'INVALID_ARGUMENT', /'turns\[1\]' passed to 'rotate90' must be one of 0, 1, 2, 3, got 5/);
    expectContrastiveError(() => rotate90({ probability: -1 }), 'INVALID_ARGUMENT', /'probability' passed to 'rotate90'/);
  });
});
