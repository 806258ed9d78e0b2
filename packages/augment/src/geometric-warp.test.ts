import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@contrastive/core';
import {
  FLOAT32_TOLERANCE,
  expectContrastiveError,
  expectNoLeak,
  expectTensorClose,
  useTestBackend,
  valueRange,
} from '@contrastive/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AffineParams,
  type WarpInterpolation,
  applyAffine,
  applyRotation,
  applyTranslation,
  randomAffine,
  randomRotation,
  randomTranslation,
} from './geometric-warp.js';
import { roundHalfEven } from './checks.js';
import { onCpuAndWasm } from './test-support/backends.js';
import { type Shape, pattern } from './test-support/images.js';

beforeAll(async () => {
  await useTestBackend();
});

afterAll(async () => {
  await useTestBackend();
});

/** C's nearbyint (round half to even), written independently of the implementation. */
function nearbyint(value: number): number {
  const floor = Math.floor(value);
  const fraction = value - floor;
  if (fraction < 0.5) return floor;
  if (fraction > 0.5) return floor + 1;
  return floor % 2 === 0 ? floor : floor + 1;
}

/** torchvision `_get_inverse_affine_matrix(center=[0, 0], angle, translate, scale, shear)`, literally (float64). */
function torchvisionInverseAffine(angle: number, translate: [number, number], scale: number, shear: [number, number]): number[] {
  const rot = (angle * Math.PI) / 180;
  const sx = (shear[0] * Math.PI) / 180;
  const sy = (shear[1] * Math.PI) / 180;
  const [tx, ty] = translate;
  const a = Math.cos(rot - sy) / Math.cos(sy);
  const b = -(a * Math.tan(sx) + Math.sin(rot));
  const c = Math.sin(rot - sy) / Math.cos(sy);
  const d = Math.cos(rot) - c * Math.tan(sx);
  const matrix = [d / scale, -b / scale, 0, -c / scale, a / scale, 0];
  matrix[2] = 0 - (matrix[0] as number) * tx - (matrix[1] as number) * ty;
  matrix[5] = 0 - (matrix[3] as number) * tx - (matrix[4] as number) * ty;
  return matrix;
}

/**
 * float64 reference of torchvision's tensor warp, as obvious loops: `_gen_affine_grid` (pixel
 * centres measured from the image centre, divided by half the size), `grid_sample(align_corners=False,
 * padding_mode='zeros')` (nearest: nearbyint; bilinear: four taps), then the `fill` blend of
 * `_apply_grid_transform` with a mask of ones warped the same way.
 */
function torchvisionWarpReference(data: number[], [n, h, w, c]: Shape, matrices: number[][], mode: WarpInterpolation, fill: number): number[] {
  const out: number[] = [];
  const pixel = (b: number, y: number, x: number, k: number): [number, number] =>
    y < 0 || y >= h || x < 0 || x >= w ? [0, 0] : [data[((b * h + y) * w + x) * c + k] as number, 1];
  for (let b = 0; b < n; b++) {
    const m = matrices[b] as number[];
    for (let i = 0; i < h; i++) {
      for (let j = 0; j < w; j++) {
        const baseX = -w * 0.5 + 0.5 + j;
        const baseY = -h * 0.5 + 0.5 + i;
        const gridX = ((m[0] as number) * baseX + (m[1] as number) * baseY + (m[2] as number)) / (0.5 * w);
        const gridY = ((m[3] as number) * baseX + (m[4] as number) * baseY + (m[5] as number)) / (0.5 * h);
        const ix = ((gridX + 1) * w - 1) / 2;
        const iy = ((gridY + 1) * h - 1) / 2;
        for (let k = 0; k < c; k++) {
          let value = 0;
          let mask = 0;
          if (mode === 'nearest') {
            [value, mask] = pixel(b, nearbyint(iy), nearbyint(ix), k);
            out.push(mask < 0.5 ? fill : value);
          } else {
            const x0 = Math.floor(ix);
            const y0 = Math.floor(iy);
            for (const [dy, dx] of [[0, 0], [0, 1], [1, 0], [1, 1]] as const) {
              const weight = (dx === 1 ? ix - x0 : x0 + 1 - ix) * (dy === 1 ? iy - y0 : y0 + 1 - iy);
              const [v, inside] = pixel(b, y0 + dy, x0 + dx, k);
              value += weight * v;
              mask += weight * inside;
            }
            out.push(value * 1 + (1 - mask) * fill);
          }
        }
      }
    }
  }
  return out;
}

const GRID_4x4 = Array.from({ length: 16 }, (_, i) => i + 1);
/** GRID_4x4 = [[1 2 3 4] [5 6 7 8] [9 10 11 12] [13 14 15 16]] turned 90° counter-clockwise, by hand. */
const GRID_4x4_CCW = [4, 8, 12, 16, 3, 7, 11, 15, 2, 6, 10, 14, 1, 5, 9, 13];

describe('roundHalfEven', () => {
  it('rounds ties to even and everything else to nearest', () => {
    expect([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 2.4, 2.6, -2.6, 3].map(roundHalfEven)).toEqual([-2, -2, -0, 0, 2, 2, 2, 3, -3, 3]);
  });
});

describe('applyRotation', () => {
  it.each(['nearest', 'bilinear'] as const)('turns a 4x4 image by 90° counter-clockwise exactly (%s)', (interpolation) => {
    const images = tf.tensor4d(GRID_4x4, [1, 4, 4, 1]);
    const out = applyRotation(images, { angle: [90] }, { interpolation });
    expectTensorClose(out, GRID_4x4_CCW, { atol: 0, rtol: 0 });
    const back = applyRotation(out, { angle: [-90] }, { interpolation });
    const half = applyRotation(images, { angle: [180] }, { interpolation });
    expectTensorClose(back, GRID_4x4, { atol: 0, rtol: 0 });
    expectTensorClose(half, [...GRID_4x4].reverse(), { atol: 0, rtol: 0 });
    tf.dispose([images, out, back, half]);
  });

  it('turns a 3x3 image by 45° (nearest) as by hand: the border ring moves one step counter-clockwise', () => {
    // 3x3 [[1 2 3] [4 5 6] [7 8 9]] about (1, 1): output (x, y) reads x' = 0.7071 (X - Y) + 1,
    // y' = 0.7071 (X + Y) + 1 with X = x - 1, Y = y - 1, rounded: e.g. (0, 0) reads (1, -0.41) -> (1, 0) = 2.
    const images = tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 3, 3, 1]);
    const out = applyRotation(images, { angle: [45] }, { fill: -1 });
    expectTensorClose(out, [2, 3, 6, 1, 5, 9, 4, 7, 8], { atol: 0, rtol: 0 });
    tf.dispose([images, out]);
  });

  it.each([
    { interpolation: 'nearest' as const, fill: 0 },
    { interpolation: 'bilinear' as const, fill: 0.3 },
  ])('equals a float64 torchvision reference on a random 5x7 image ($interpolation, fill $fill)', ({ interpolation, fill }) => {
    const shape: Shape = [4, 5, 7, 2];
    const data = pattern(shape, 3);
    const angles = [17.3, -123.4, 61, 250.5];
    const images = tf.tensor4d(data, shape);
    const out = applyRotation(images, { angle: angles }, { interpolation, fill });
    const expected = torchvisionWarpReference(data, shape, angles.map((angle) => torchvisionInverseAffine(-angle, [0, 0], 1, [0, 0])), interpolation, fill);
    expectTensorClose(out, expected, interpolation === 'nearest' ? { atol: 0, rtol: 0 } : FLOAT32_TOLERANCE);
    tf.dispose([images, out]);
  });

  it('keeps [0, 1]: bilinear weights sum to exactly 1 (ones with fill 1 stay exactly 1)', () => {
    const ones = tf.ones([16, 6, 9, 1]) as tf.Tensor4D;
    const angle = Array.from({ length: 16 }, (_, i) => i * 23.7 - 170);
    const out = applyRotation(ones, { angle }, { interpolation: 'bilinear', fill: 1 });
    expect(valueRange(out)).toEqual([1, 1]);
    const random = tf.tensor4d(pattern([16, 6, 9, 3], 5), [16, 6, 9, 3]);
    const rotated = applyRotation(random, { angle }, { interpolation: 'bilinear', fill: 0 });
    const [low, high] = valueRange(rotated);
    expect(low).toBeGreaterThanOrEqual(0);
    expect(high).toBeLessThanOrEqual(1);
    tf.dispose([ones, out, random, rotated]);
  });

  it.each([1, 3, 4])('handles c = %i, n = 1 and a 1x1 image; returns a new tensor', (channels) => {
    const images = tf.tensor4d(pattern([1, 4, 4, channels]), [1, 4, 4, channels]);
    const out = applyRotation(images, { angle: [90] });
    expect(out.shape).toEqual([1, 4, 4, channels]);
    expect(out.dtype).toBe('float32');
    const data = images.dataSync();
    const got = out.dataSync();
    for (let y = 0; y < 4; y++)
      for (let x = 0; x < 4; x++)
        for (let k = 0; k < channels; k++) expect(got[(y * 4 + x) * channels + k]).toBe(data[(x * 4 + (3 - y)) * channels + k]);
    const pixel = tf.tensor4d([0.25], [1, 1, 1, 1]);
    const turned = applyRotation(pixel, { angle: [37] }, { interpolation: 'bilinear', fill: 0.5 });
    expectTensorClose(turned, [0.25], { atol: 0, rtol: 0 });
    const same = applyRotation(images, { angle: [0] });
    expect(same).not.toBe(images);
    expectTensorClose(same, images, { atol: 0, rtol: 0 });
    tf.dispose([images, out, pixel, turned, same]);
  });

  it('rejects bad parameters and options', () => {
    const images = tf.ones([2, 3, 3, 1]) as tf.Tensor4D;
    expectContrastiveError(() => applyRotation(images, { angle: [1] }), 'SHAPE_MISMATCH', /'params\.angle' passed to 'applyRotation' must have 2 entries \(one per image\), got 1/);
    expectContrastiveError(() => applyRotation(images, { angle: [1, Number.NaN] }), 'INVALID_ARGUMENT', /'params\.angle\[1\]' .* must be a finite number, got NaN/);
    expectContrastiveError(() => applyRotation(images, null as never), 'INVALID_ARGUMENT', /'params' passed to 'applyRotation' must be an object \{ angle \}/);
    expectContrastiveError(() => applyRotation(images, { angle: [1, 2] }, { interpolation: 'bicubic' as never }), 'INVALID_ARGUMENT', /'options\.interpolation' .* must be one of "nearest", "bilinear", got "bicubic"/);
    expectContrastiveError(() => applyRotation(images, { angle: [1, 2] }, { fill: Infinity }), 'INVALID_ARGUMENT', /'options\.fill' .* got Infinity/);
    expectContrastiveError(() => applyRotation(tf.ones([2, 3, 3]) as never, { angle: [1, 2] }), 'SHAPE_MISMATCH', /'images' passed to 'applyRotation'/);
    images.dispose();
  });
});

describe('randomRotation', () => {
  it('with degrees [90, 90] and nearest turns a 4x4 image exactly as by hand', () => {
    const images = tf.tensor4d([...GRID_4x4, ...GRID_4x4], [2, 4, 4, 1]);
    const out = randomRotation({ degrees: [90, 90] }).apply(images, new Rng(0));
    expectTensorClose(out, [...GRID_4x4_CCW, ...GRID_4x4_CCW], { atol: 0, rtol: 0 });
    tf.dispose([images, out]);
  });

  it('draws one uniform per image; a number d means [-d, d]; apply = applyRotation of sample', async () => {
    const rng = new Rng(5);
    const copy = rng.clone();
    const { angle } = randomRotation({ degrees: 30 }).sample(6, rng);
    expect(angle).toEqual(Array.from({ length: 6 }, () => copy.uniform(-30, 30)));
    expect(rng.state()).toEqual(copy.state());
    const many = randomRotation({ degrees: [10, 20] }).sample(2000, new Rng(1)).angle;
    expect(Math.min(...many)).toBeGreaterThanOrEqual(10);
    expect(Math.max(...many)).toBeLessThan(20);
    const images = tf.tensor4d(pattern([5, 6, 6, 3]), [5, 6, 6, 3]);
    const augmentation = randomRotation({ degrees: 45, interpolation: 'bilinear', fill: 0.5 });
    await expectNoLeak(() => {
      const expected = applyRotation(images, augmentation.sample(5, new Rng(8)), { interpolation: 'bilinear', fill: 0.5 });
      const got = augmentation.apply(images, new Rng(8));
      const again = augmentation.apply(images, new Rng(8));
      const other = augmentation.apply(images, new Rng(9));
      expectTensorClose(got, expected, { atol: 0, rtol: 0 });
      expectTensorClose(again, got, { atol: 0, rtol: 0 });
      expect(Array.from(other.dataSync())).not.toEqual(Array.from(got.dataSync()));
      tf.dispose([expected, got, again, other]);
    });
    images.dispose();
  });

  it.each(['nearest', 'bilinear'] as const)('gives bit-identical output on cpu and wasm (%s)', async (interpolation) => {
    const shape: Shape = [6, 7, 9, 3];
    const [cpu, wasm] = await onCpuAndWasm(() =>
      tf.tidy(() => randomRotation({ degrees: 180, interpolation, fill: 0.2 }).apply(tf.tensor4d(pattern(shape, 1), shape), new Rng(11))),
    );
    expect(Array.from(cpu)).toEqual(Array.from(wasm));
  });

  it('rejects bad options', () => {
    expectContrastiveError(() => randomRotation({ degrees: -5 }), 'INVALID_ARGUMENT', /'degrees' passed to 'randomRotation' must be a finite number >= 0, got -5/);
    expectContrastiveError(() => randomRotation({ degrees: [20, 10] }), 'INVALID_ARGUMENT', /'degrees' .* must have low <= high, got \[20, 10\]/);
    expectContrastiveError(() => randomRotation({} as never), 'INVALID_ARGUMENT', /'degrees' passed to 'randomRotation' must be a pair \[low, high\], got undefined/);
    expectContrastiveError(() => randomRotation({ degrees: 5, interpolation: 'area' as never }), 'INVALID_ARGUMENT', /'interpolation' passed to 'randomRotation'/);
    expectContrastiveError(() => randomRotation(undefined as never), 'INVALID_ARGUMENT', /'options' passed to 'randomRotation' must be an object/);
    expectContrastiveError(() => randomRotation({ degrees: 5 }).sample(0, new Rng(0)), 'INVALID_ARGUMENT', /'n' passed to 'randomRotation\.sample'/);
  });
});

describe('applyTranslation', () => {
  it('shifts by one pixel as by hand (right, then up), filling the uncovered border', () => {
    const images = tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9], [2, 3, 3, 1]);
    const out = applyTranslation(images, { dx: [1, 0], dy: [0, -1] }, { fill: 0.5 });
    expectTensorClose(out, [0.5, 1, 2, 0.5, 4, 5, 0.5, 7, 8, 4, 5, 6, 7, 8, 9, 0.5, 0.5, 0.5], { atol: 0, rtol: 0 });
    tf.dispose([images, out]);
  });

  it('interpolates half-pixel shifts (bilinear) and rounds them half to even (nearest)', () => {
    const images = tf.tensor4d([1, 2, 3, 4], [1, 1, 4, 1]);
    const bilinear = applyTranslation(images, { dx: [0.5], dy: [0] }, { interpolation: 'bilinear' });
    expectTensorClose(bilinear, [0.5, 1.5, 2.5, 3.5], { atol: 0, rtol: 0 });
    // Output x reads x - 0.5, rounded half to even: -0.5 -> 0, 0.5 -> 0, 1.5 -> 2, 2.5 -> 2.
    const nearest = applyTranslation(images, { dx: [0.5], dy: [0] });
    expectTensorClose(nearest, [1, 1, 3, 3], { atol: 0, rtol: 0 });
    tf.dispose([images, bilinear, nearest]);
  });

  it('equals the float64 torchvision reference for sub-pixel shifts', () => {
    const shape: Shape = [3, 5, 7, 1];
    const data = pattern(shape, 7);
    const dx = [0.3, -2.75, 6.5];
    const dy = [1.2, 0, -0.4];
    const images = tf.tensor4d(data, shape);
    const out = applyTranslation(images, { dx, dy }, { interpolation: 'bilinear', fill: 1 });
    const expected = torchvisionWarpReference(data, shape, dx.map((x, i) => torchvisionInverseAffine(0, [x, dy[i] as number], 1, [0, 0])), 'bilinear', 1);
    expectTensorClose(out, expected, FLOAT32_TOLERANCE);
    tf.dispose([images, out]);
  });

  it('rejects bad parameters', () => {
    const images = tf.ones([1, 3, 3, 1]) as tf.Tensor4D;
    expectContrastiveError(() => applyTranslation(images, { dx: [1], dy: [] }), 'SHAPE_MISMATCH', /'params\.dy' passed to 'applyTranslation' must have 1 entries/);
    expectContrastiveError(() => applyTranslation(images, { dx: ['1'] as never, dy: [0] }), 'INVALID_ARGUMENT', /'params\.dx\[0\]'/);
    images.dispose();
  });
});

describe('randomTranslation', () => {
  it('draws dx then dy per image, rounded half to even as torchvision; sample = apply', async () => {
    const rng = new Rng(3);
    const copy = rng.clone();
    const { dx, dy } = randomTranslation({ translate: [0.25, 0.5] }).sample(4, rng, [6, 8]);
    const expectedDx: number[] = [];
    const expectedDy: number[] = [];
    for (let i = 0; i < 4; i++) {
      expectedDx.push(roundHalfEven(copy.uniform(-2, 2)));
      expectedDy.push(roundHalfEven(copy.uniform(-3, 3)));
    }
    expect(dx).toEqual(expectedDx);
    expect(dy).toEqual(expectedDy);
    expect(rng.state()).toEqual(copy.state());
    const subpixel = randomTranslation({ translate: [0.25, 0.5], subpixel: true }).sample(200, new Rng(1), [6, 8]);
    expect(subpixel.dx.some((value) => !Number.isInteger(value))).toBe(true);
    expect(Math.max(...subpixel.dx.map(Math.abs))).toBeLessThanOrEqual(2);
    expect(Math.max(...subpixel.dy.map(Math.abs))).toBeLessThanOrEqual(3);
    const images = tf.tensor4d(pattern([4, 6, 8, 1]), [4, 6, 8, 1]);
    const augmentation = randomTranslation({ translate: [0.25, 0.5], fill: 0.5 });
    await expectNoLeak(() => {
      const expected = applyTranslation(images, augmentation.sample(4, new Rng(2), [6, 8]), { fill: 0.5 });
      const got = augmentation.apply(images, new Rng(2));
      expectTensorClose(got, expected, { atol: 0, rtol: 0 });
      tf.dispose([expected, got]);
    });
    images.dispose();
  });

  it('copies values exactly (whole-pixel shifts) and is bit-identical on cpu and wasm (sub-pixel too)', async () => {
    const shape: Shape = [8, 6, 6, 4];
    const data = pattern(shape, 2);
    const out = randomTranslation({ translate: [0.3, 0.3], interpolation: 'bilinear', fill: 0.75 }).apply(tf.tensor4d(data, shape), new Rng(4));
    const allowed = new Set([...data.map(Math.fround), 0.75]);
    expect(Array.from(out.dataSync()).every((value) => allowed.has(value))).toBe(true);
    out.dispose();
    const [cpu, wasm] = await onCpuAndWasm(() =>
      tf.tidy(() =>
        randomTranslation({ translate: [0.3, 0.2], subpixel: true, interpolation: 'bilinear' }).apply(tf.tensor4d(data, shape), new Rng(6)),
      ),
    );
    expect(Array.from(cpu)).toEqual(Array.from(wasm));
  });

  it('rejects bad options', () => {
    expectContrastiveError(() => randomTranslation({ translate: [0.1, 1.5] }), 'INVALID_ARGUMENT', /'translate\[1\]' passed to 'randomTranslation' must be a finite number >= 0 and <= 1, got 1\.5/);
    expectContrastiveError(() => randomTranslation({ translate: 0.1 as never }), 'INVALID_ARGUMENT', /'translate' .* must be a pair \[fx, fy\], got 0\.1/);
    expectContrastiveError(() => randomTranslation({ translate: [0, 0], subpixel: 1 as never }), 'INVALID_ARGUMENT', /'subpixel'/);
    expectContrastiveError(() => randomTranslation({ translate: [0, 0] }).sample(2, new Rng(0), [0, 3] as never), 'INVALID_ARGUMENT', /'imageSize\[0\]' passed to 'randomTranslation\.sample'/);
  });
});

describe('applyAffine', () => {
  const neutral = (n: number): Omit<AffineParams, 'angle'> => ({
    dx: new Array<number>(n).fill(0),
    dy: new Array<number>(n).fill(0),
    scale: new Array<number>(n).fill(1),
    shearX: new Array<number>(n).fill(0),
    shearY: new Array<number>(n).fill(0),
  });

  it('turns clockwise for positive angles, as torchvision F.affine (= applyRotation with -angle)', () => {
    const images = tf.tensor4d(GRID_4x4, [1, 4, 4, 1]);
    const out = applyAffine(images, { angle: [-90], ...neutral(1) });
    expectTensorClose(out, GRID_4x4_CCW, { atol: 0, rtol: 0 });
    tf.dispose([images, out]);
  });

  it('scales about the centre: scale 2 on a 4x4 image (nearest) as by hand', () => {
    // Output (x, y) reads x' = (x - 1.5) / 2 + 1.5: 0 -> 0.75 -> 1, 1 -> 1.25 -> 1, 2 -> 1.75 -> 2, 3 -> 2.25 -> 2.
    const images = tf.tensor4d(GRID_4x4, [1, 4, 4, 1]);
    const out = applyAffine(images, { angle: [0], dx: [0], dy: [0], scale: [2], shearX: [0], shearY: [0] });
    expectTensorClose(out, [6, 6, 7, 7, 6, 6, 7, 7, 10, 10, 11, 11, 10, 10, 11, 11], { atol: 0, rtol: 0 });
    tf.dispose([images, out]);
  });

  it.each(['nearest', 'bilinear'] as const)('equals the float64 torchvision reference with rotation, translation, scale and shear (%s)', (interpolation) => {
    const shape: Shape = [3, 5, 7, 3];
    const data = pattern(shape, 9);
    const params = { angle: [12.5, -70, 33], dx: [1, -2, 0.5], dy: [0, 1, -1.25], scale: [1.1, 0.8, 1.3], shearX: [10, -5, 0], shearY: [0, 7, -12] };
    const images = tf.tensor4d(data, shape);
    const out = applyAffine(images, params, { interpolation, fill: 0.375 });
    const matrices = params.angle.map((angle, i) =>
      torchvisionInverseAffine(angle, [params.dx[i] as number, params.dy[i] as number], params.scale[i] as number, [params.shearX[i] as number, params.shearY[i] as number]),
    );
    expectTensorClose(out, torchvisionWarpReference(data, shape, matrices, interpolation, 0.375), interpolation === 'nearest' ? { atol: 0, rtol: 0 } : FLOAT32_TOLERANCE);
    tf.dispose([images, out]);
  });

  it('rejects a non-positive scale and a shear of 90°', () => {
    const images = tf.ones([1, 3, 3, 1]) as tf.Tensor4D;
    expectContrastiveError(() => applyAffine(images, { angle: [0], dx: [0], dy: [0], scale: [0], shearX: [0], shearY: [0] }), 'INVALID_ARGUMENT', /'params\.scale\[0\]' passed to 'applyAffine' must be a finite number > 0, got 0/);
    expectContrastiveError(() => applyAffine(images, { angle: [0], dx: [0], dy: [0], scale: [1], shearX: [90], shearY: [0] }), 'INVALID_ARGUMENT', /'params\.shearX\[0\]' .* > -90 and < 90, got 90/);
    images.dispose();
  });
});

describe('randomAffine', () => {
  it('draws angle, dx, dy, scale, shearX, shearY per image; sample = apply; cpu and wasm agree bit for bit', async () => {
    const options = { degrees: 20, translate: [0.2, 0.1] as const, scale: [0.8, 1.2] as const, shear: [-5, 5, -3, 3] as const, interpolation: 'bilinear' as const };
    const rng = new Rng(12);
    const copy = rng.clone();
    const params = randomAffine(options).sample(3, rng, [10, 20]);
    for (let i = 0; i < 3; i++) {
      expect(params.angle[i]).toBe(copy.uniform(-20, 20));
      expect(params.dx[i]).toBe(roundHalfEven(copy.uniform(-4, 4)));
      expect(params.dy[i]).toBe(roundHalfEven(copy.uniform(-1, 1)));
      expect(params.scale[i]).toBe(copy.uniform(0.8, 1.2));
      expect(params.shearX[i]).toBe(copy.uniform(-5, 5));
      expect(params.shearY[i]).toBe(copy.uniform(-3, 3));
    }
    expect(rng.state()).toEqual(copy.state());
    const shape: Shape = [3, 10, 20, 1];
    const images = tf.tensor4d(pattern(shape), shape);
    await expectNoLeak(() => {
      const expected = applyAffine(images, randomAffine(options).sample(3, new Rng(1), [10, 20]), { interpolation: 'bilinear' });
      const got = randomAffine(options).apply(images, new Rng(1));
      expectTensorClose(got, expected, { atol: 0, rtol: 0 });
      tf.dispose([expected, got]);
    });
    images.dispose();
    const [cpu, wasm] = await onCpuAndWasm(() => tf.tidy(() => randomAffine(options).apply(tf.tensor4d(pattern(shape, 4), shape), new Rng(2))));
    expect(Array.from(cpu)).toEqual(Array.from(wasm));
  });

  it('defaults to no translation, scale 1 and no shear', () => {
    const params = randomAffine({ degrees: 0 }).sample(3, new Rng(0), [5, 5]);
    expect(params).toEqual({ angle: [0, 0, 0], dx: [0, 0, 0], dy: [0, 0, 0], scale: [1, 1, 1], shearX: [0, 0, 0], shearY: [0, 0, 0] });
  });

  it('rejects bad options', () => {
    expectContrastiveError(() => randomAffine({ degrees: 5, scale: [0, 1] }), 'INVALID_ARGUMENT', /'scale\[0\]' passed to 'randomAffine' must be a finite number > 0, got 0/);
    expectContrastiveError(() => randomAffine({ degrees: 5, shear: 95 }), 'INVALID_ARGUMENT', /'shear' passed to 'randomAffine' must be a finite number >= 0 and < 90, got 95/);
    expectContrastiveError(() => randomAffine({ degrees: 5, shear: [1, 2, 3] as never }), 'INVALID_ARGUMENT', /'shear' .* must be a number, \[min, max\] or \[xMin, xMax, yMin, yMax\]/);
    expectContrastiveError(() => randomAffine({ degrees: 5, shear: [1, 2, 4, 3] }), 'INVALID_ARGUMENT', /'shear\[2\.\.3\]' .* must have low <= high/);
  });
});
