import * as tf from '@tensorflow/tfjs-core';
import { Rng, bilinearCropNative, isContrastiveError } from '@contrastive/core';
import { FLOAT32_TOLERANCE, expectNoLeak, expectTensorClose, valueRange } from '@contrastive/core/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { applyCropBoxes, applyResizedCrop, cropAndResizeExact, cropBoxes, randomResizedCrop } from './random-resized-crop.js';
import { expectSameBits, onCpuAndWasm, useCpuAndWasm } from './test-support/backends.js';

beforeAll(useCpuAndWasm);

/** Random boxes in roughly [-0.3, 1.3]^4 (some outside the image, some mirrored), plus fixed ones. */
function randomBoxes(n: number, seed: number): number[][] {
  const rng = new Rng(seed);
  const fixed = [
    [0, 1, 1, 0], // full mirror
    [0, 0, 1, 1], // identity
    [1, 1, 0, 0], // upside down and mirrored
    [-0.5, 0.2, 1.5, 0.8], // rows outside the image
    [0.25, 0.5, 0.75, 1],
  ];
  return Array.from({ length: n }, (_, i) =>
    i < fixed.length ? (fixed[i] as number[]) : Array.from({ length: 4 }, () => rng.uniform(-0.3, 1.3)),
  );
}

/** `tf.image.cropAndResize(images, boxes, range(n), size, 'bilinear')` on the current backend. */
function tfCropAndResize(images: tf.Tensor4D, boxes: number[][], size: [number, number]): tf.Tensor4D {
  const n = images.shape[0];
  return tf.tidy(() =>
    tf.image.cropAndResize(images, tf.tensor2d(boxes.flat(), [n, 4]), tf.range(0, n, 1, 'int32') as tf.Tensor1D, size, 'bilinear'),
  );
}

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  const x = a.dataSync();
  const y = b.dataSync();
  let worst = 0;
  for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs((x[i] as number) - (y[i] as number)));
  return worst;
}

/** A deterministic test image batch `[n, h, w, c]` in [0, 1] (plain numbers, NHWC order). */
function pattern(n: number, h: number, w: number, c: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n * h * w * c; i++) {
    const value = Math.sin(i * 12.9898 + 78.233) * 43758.5453;
    out.push(value - Math.floor(value));
  }
  return out;
}

/**
 * float64 reference of RECIPE.md step 1 written from PyTorch's definition:
 * `grid_sample(x, affine_grid([[s sw, 0, cx], [0, sh, cy]], align_corners=True), bilinear,
 * padding zeros, align_corners=True)`, as obvious loops.
 */
function gridSampleReference(
  data: number[],
  [n, h, w, c]: [number, number, number, number],
  crop: { sw: number[]; sh: number[]; cx: number[]; cy: number[]; flip: boolean[] },
  [outH, outW]: [number, number],
): number[] {
  const out: number[] = [];
  const at = (b: number, y: number, x: number, k: number): number =>
    y < 0 || y >= h || x < 0 || x >= w ? 0 : (data[((b * h + y) * w + x) * c + k] as number);
  for (let b = 0; b < n; b++) {
    const s = crop.flip[b] ? -1 : 1;
    for (let i = 0; i < outH; i++) {
      for (let j = 0; j < outW; j++) {
        const yn = outH > 1 ? -1 + (2 * i) / (outH - 1) : 0;
        const xn = outW > 1 ? -1 + (2 * j) / (outW - 1) : 0;
        const xs = s * (crop.sw[b] as number) * xn + (crop.cx[b] as number);
        const ys = (crop.sh[b] as number) * yn + (crop.cy[b] as number);
        const px = ((xs + 1) / 2) * (w - 1);
        const py = ((ys + 1) / 2) * (h - 1);
        const x0 = Math.floor(px);
        const y0 = Math.floor(py);
        const fx = px - x0;
        const fy = py - y0;
        for (let k = 0; k < c; k++) {
          out.push(
            at(b, y0, x0, k) * (1 - fx) * (1 - fy) +
              at(b, y0, x0 + 1, k) * fx * (1 - fy) +
              at(b, y0 + 1, x0, k) * (1 - fx) * fy +
              at(b, y0 + 1, x0 + 1, k) * fx * fy,
          );
        }
      }
    }
  }
  return out;
}

describe('cropBoxes', () => {
  it('follows the RECIPE.md box formula, mirrored where flip', () => {
    expect(cropBoxes({ sw: [1, 0.5], sh: [1, 0.5], cx: [0, 0.5], cy: [0, 0], flip: [true, false] })).toEqual([
      [0, 1, 1, 0],
      [0.25, 0.5, 0.75, 1],
    ]);
    const [box] = cropBoxes({ sw: [0.7], sh: [0.857142857], cx: [0.3], cy: [-0.14], flip: [true] });
    const expected = [0.0014285715, 1.0, 0.8585714285, 0.3];
    box?.forEach((value, k) => expect(value).toBeCloseTo(expected[k] as number, 9));
  });

  it('rejects crops outside the image and mismatched lengths', () => {
    expect(() => cropBoxes({ sw: [0.5], sh: [1], cx: [0.6], cy: [0] })).toThrow(/'crop\.cx\[0\]' passed to 'cropBoxes' must lie in .* got 0\.6/);
    expect(() => cropBoxes({ sw: [0.5, 1], sh: [1], cx: [0, 0], cy: [0, 0] })).toThrow(/'crop\.sh' passed to 'cropBoxes' must have 2 entries/);
    expect(() => cropBoxes({ sw: [0], sh: [1], cx: [0], cy: [0] })).toThrow(/'crop\.sw\[0\]' .* must be a finite number > 0 and <= 1, got 0/);
    expect(() => cropBoxes({ sw: [1], sh: [1.5], cx: [0], cy: [0] })).toThrow(/'crop\.sh\[0\]'.*got 1\.5/);
  });
});

describe('applyResizedCrop', () => {
  it.each([
    { shape: [3, 28, 28, 1], size: undefined },
    { shape: [2, 9, 13, 3], size: undefined },
    { shape: [2, 9, 13, 3], size: [5, 7] },
    { shape: [1, 6, 6, 2], size: [1, 1] },
  ] as { shape: [number, number, number, number]; size: [number, number] | undefined }[])(
    'matches a float64 grid_sample reference for shape $shape, size $size',
    ({ shape, size }) => {
      const data = pattern(...shape);
      const n = shape[0];
      const crop = {
        sw: [1, 0.55, 0.8].slice(0, n),
        sh: [1, 0.9, 0.6].slice(0, n),
        cx: [0, -0.3, 0.15].slice(0, n),
        cy: [0, 0.05, -0.4].slice(0, n),
        flip: [true, false, true].slice(0, n),
      };
      const images = tf.tensor4d(data, shape);
      const out = applyResizedCrop(images, crop, size === undefined ? {} : { size });
      const outSize: [number, number] = size ?? [shape[1], shape[2]];
      expect(out.shape).toEqual([n, outSize[0], outSize[1], shape[3]]);
      expect(out.dtype).toBe('float32');
      expectTensorClose(out, gridSampleReference(data, shape, crop, outSize), FLOAT32_TOLERANCE);
      tf.dispose([images, out]);
    },
  );

  it('is the identity for the full, unflipped crop and a mirror for the flipped one', () => {
    const data = pattern(2, 5, 4, 2);
    const images = tf.tensor4d(data, [2, 5, 4, 2]);
    const same = applyResizedCrop(images, { sw: [1, 1], sh: [1, 1], cx: [0, 0], cy: [0, 0] });
    expectTensorClose(same, images, { atol: 1e-6, rtol: 0 });
    const mirrored = applyResizedCrop(images, { sw: [1, 1], sh: [1, 1], cx: [0, 0], cy: [0, 0], flip: [true, true] });
    const reversed = tf.reverse(images, 2);
    expectTensorClose(mirrored, reversed, { atol: 1e-6, rtol: 0 });
    tf.dispose([images, same, mirrored, reversed]);
  });

  it('applyCropBoxes with the boxes of cropBoxes gives the same result', () => {
    const data = pattern(2, 7, 7, 1);
    const images = tf.tensor4d(data, [2, 7, 7, 1]);
    const crop = { sw: [0.6, 0.9], sh: [0.7, 0.8], cx: [0.2, -0.1], cy: [-0.3, 0.2], flip: [false, true] };
    const a = applyResizedCrop(images, crop);
    const b = applyCropBoxes(images, cropBoxes(crop));
    expectTensorClose(a, b, { atol: 0, rtol: 0 });
    tf.dispose([images, a, b]);
  });

  it('leaks no tensor', async () => {
    const images = tf.ones([2, 6, 6, 1]) as tf.Tensor4D;
    await expectNoLeak(() => {
      const crop = { sw: [0.6, 1], sh: [0.7, 1], cx: [0, 0], cy: [0, 0] };
      tf.dispose([applyResizedCrop(images, crop), applyCropBoxes(images, [[0, 0, 1, 1], [0.1, 0.9, 0.8, 0.2]], { size: [3, 3] })]);
      tf.dispose(randomResizedCrop({ flipProbability: 0.5 }).apply(images, new Rng(1)));
      expect(() => applyResizedCrop(images, { sw: [2, 1], sh: [1, 1], cx: [0, 0], cy: [0, 0] })).toThrow();
    });
    images.dispose();
  });

  it('rejects bad images, params and sizes with a named ContrastiveError', () => {
    const images = tf.ones([2, 6, 6, 1]) as tf.Tensor4D;
    const rank3 = tf.ones([6, 6, 1]);
    const ints = tf.ones([2, 6, 6, 1], 'int32');
    const crop = { sw: [1, 1], sh: [1, 1], cx: [0, 0], cy: [0, 0] };
    expect(() => applyResizedCrop(rank3 as unknown as tf.Tensor4D, crop)).toThrow(/'images' passed to 'applyResizedCrop' must be rank 4, got rank 3/);
    expect(() => applyResizedCrop(ints as tf.Tensor4D, crop)).toThrow(/'images' .* must have dtype float32, got int32/);
    expect(() => applyResizedCrop(images, { ...crop, cx: [0] })).toThrow(/'crop\.cx' .* must have 2 entries \(one per image\), got 1/);
    expect(() => applyResizedCrop(images, { ...crop, flip: [true, 1 as unknown as boolean] })).toThrow(/'crop\.flip\[1\]' .* must be a boolean/);
    expect(() => applyResizedCrop(images, crop, { size: [0, 3] })).toThrow(/'options\.size\[0\]' .* must be an integer >= 1, got 0/);
    expect(() => applyCropBoxes(images, [[0, 0, 1, 1]])).toThrow(/'boxes' passed to 'applyCropBoxes' must have 2 rows/);
    expect(() => applyCropBoxes(images, [[0, 0, 1], [0, 0, 1, 1]])).toThrow(/'boxes\[0\]' .* must be \[y1, x1, y2, x2\]/);
    expect(() => applyCropBoxes(images, [[0, 0, 1, NaN], [0, 0, 1, 1]])).toThrow(/'boxes\[0\]\[3\]' .* must be a finite number, got NaN/);
    try {
      applyResizedCrop(rank3 as unknown as tf.Tensor4D, crop);
    } catch (error) {
      expect(isContrastiveError(error) && error.code).toBe('SHAPE_MISMATCH');
    }
    tf.dispose([images, rank3, ints]);
  });
});

describe('randomResizedCrop', () => {
  it('draws parameters with the recipe distribution', () => {
    const n = 20000;
    const params = randomResizedCrop({ flipProbability: 0.5 }).sample(n, new Rng(7));
    // E[sw sh] by the midpoint rule over area ~ U(0.6, 1), log ratio ~ U(log 3/4, log 4/3), float64.
    let expectedArea = 0;
    const grid = 400;
    for (let a = 0; a < grid; a++) {
      for (let r = 0; r < grid; r++) {
        const area = 0.6 + (0.4 * (a + 0.5)) / grid;
        const ratio = Math.exp(Math.log(3 / 4) + ((Math.log(4 / 3) - Math.log(3 / 4)) * (r + 0.5)) / grid);
        expectedArea += Math.min(1, Math.sqrt(area * ratio)) * Math.min(1, Math.sqrt(area / ratio));
      }
    }
    expectedArea /= grid * grid; // ~0.7855 (the mean drawn area is 0.8; clamping a side to 1 trims it)
    let area = 0;
    let flips = 0;
    let centre = 0;
    const violations: string[] = [];
    for (let i = 0; i < n; i++) {
      const sw = params.sw[i] as number;
      const sh = params.sh[i] as number;
      const cx = params.cx[i] as number;
      const cy = params.cy[i] as number;
      if (!(sw > Math.sqrt(0.6 * 0.75) - 1e-12 && sw <= 1 && sh > Math.sqrt(0.6 * 0.75) - 1e-12 && sh <= 1)) violations.push(`size ${i}`);
      if (Math.abs(cx) > 1 - sw || Math.abs(cy) > 1 - sh) violations.push(`centre ${i}`);
      if (sw < 1 && sh < 1 && !(sw * sh >= 0.6 - 1e-12 && sw / sh >= 0.75 - 1e-12 && sw / sh <= 4 / 3 + 1e-12)) violations.push(`area/ratio ${i}`);
      area += sw * sh;
      if (sw < 1) centre += cx / (1 - sw);
      flips += params.flip[i] ? 1 : 0;
    }
    expect(violations).toEqual([]);
    expect(Math.abs(area / n - expectedArea)).toBeLessThan(0.004); // ~5 standard errors
    expect(Math.abs(flips / n - 0.5)).toBeLessThan(0.02);
    expect(Math.abs(centre / n)).toBeLessThan(0.03);
    expect(Array.from(randomResizedCrop().sample(200, new Rng(1)).flip).every((flip) => !flip)).toBe(true);
  });

  it('apply = applyResizedCrop of sample with the same draws; same seed, same output', () => {
    const data = pattern(4, 10, 10, 1);
    const images = tf.tensor4d(data, [4, 10, 10, 1]);
    const crop = randomResizedCrop({ scale: [0.3, 0.9], flipProbability: 0.5, size: [8, 6] });
    const rng = new Rng(3);
    const expected = applyResizedCrop(images, crop.sample(4, rng.clone()), { size: [8, 6] });
    const got = crop.apply(images, rng);
    expect(got.shape).toEqual([4, 8, 6, 1]);
    expectTensorClose(got, expected, { atol: 0, rtol: 0 });
    // apply consumed exactly 5 draws per image
    const after = new Rng(3);
    for (let i = 0; i < 20; i++) after.uniform();
    expect(rng.state()).toEqual(after.state());
    const again = crop.apply(images, new Rng(3));
    const other = crop.apply(images, new Rng(4));
    expectTensorClose(again, got, { atol: 0, rtol: 0 });
    expect(maxAbsDiff(other, got)).toBeGreaterThan(0.01);
    tf.dispose([images, expected, got, again, other]);
  });

  it('keeps [0, 1] images in [0, 1]', () => {
    const images = tf.randomUniform([64, 28, 28, 1], 0, 1, 'float32', 5) as tf.Tensor4D;
    const out = randomResizedCrop({ flipProbability: 0.5 }).apply(images, new Rng(11));
    const [low, high] = valueRange(out);
    expect(low).toBeGreaterThanOrEqual(0);
    expect(high).toBeLessThanOrEqual(1);
    tf.dispose([images, out]);
  });

  it('never samples outside the image (no zero extrapolation at the borders)', () => {
    const images = tf.ones([512, 28, 28, 1]) as tf.Tensor4D;
    const out = randomResizedCrop({ flipProbability: 0.5 }).apply(images, new Rng(0));
    expect(valueRange(out)[0]).toBeCloseTo(1, 6);
    tf.dispose([images, out]);
  });

  it('rejects bad options with a named ContrastiveError', () => {
    expect(() => randomResizedCrop({ scale: [0, 1] })).toThrow(/'scale\[0\]' passed to 'randomResizedCrop' must be a finite number > 0 and <= 1, got 0/);
    expect(() => randomResizedCrop({ scale: [0.5, 1.2] })).toThrow(/'scale\[1\]' .* got 1\.2/);
    expect(() => randomResizedCrop({ scale: [0.9, 0.5] })).toThrow(/'scale' .* must have low <= high, got \[0\.9, 0\.5\]/);
    expect(() => randomResizedCrop({ ratio: [-1, 2] })).toThrow(/'ratio\[0\]' .* must be a finite number > 0, got -1/);
    expect(() => randomResizedCrop({ flipProbability: -0.1 })).toThrow(/'flipProbability' .* must be a finite number >= 0 and <= 1, got -0\.1/);
    expect(() => randomResizedCrop({ size: [28, 2.5] })).toThrow(/'size\[1\]' .* must be an integer >= 1, got 2\.5/);
    expect(() => randomResizedCrop().sample(0, new Rng(0))).toThrow(/'n' passed to 'randomResizedCrop\.sample'/);
    const rank2 = tf.ones([4, 4]);
    expect(() => randomResizedCrop().apply(rank2 as unknown as tf.Tensor4D, new Rng(0))).toThrow(/'images' passed to 'randomResizedCrop\.apply' must be rank 4/);
    rank2.dispose();
    try {
      randomResizedCrop({ scale: [0, 1] });
    } catch (error) {
      expect(isContrastiveError(error) && error.code).toBe('INVALID_ARGUMENT');
    }
  });
});

describe('bilinear crop: same bits on every backend', () => {
  type Case = { shape: [number, number, number, number]; size: [number, number] };
  const cases: Case[] = [
    { shape: [12, 28, 28, 1], size: [28, 28] },
    { shape: [7, 9, 13, 3], size: [5, 7] },
    { shape: [6, 8, 8, 4], size: [11, 3] },
    { shape: [5, 6, 6, 2], size: [1, 1] },
    { shape: [5, 1, 7, 1], size: [3, 4] },
    { shape: [5, 7, 1, 3], size: [4, 2] },
    { shape: [5, 1, 1, 1], size: [2, 3] },
    { shape: [1, 5, 4, 1], size: [5, 4] },
  ];

  it.each(cases)('applyCropBoxes within 1e-6 of the cpu kernel of tf.image.cropAndResize: $shape -> $size', async ({ shape, size }) => {
    const data = pattern(...shape);
    const boxes = randomBoxes(shape[0], shape[1] * 31 + shape[2]);
    const [reference] = await onCpuAndWasm(() => tfCropAndResize(tf.tensor4d(data, shape), boxes, size));
    const images = tf.tensor4d(data, shape);
    const out = applyCropBoxes(images, boxes, { size });
    expect(out.shape).toEqual([shape[0], size[0], size[1], shape[3]]);
    // Measured: <= 1.2e-7 (TensorFlow's float32 interpolation vs tfjs-cpu's float64 one); the wasm
    // kernel is further off (up to ~4e-6 on [0, 1] values).
    expectTensorClose(out, reference, { atol: 1e-6, rtol: 0 });
    tf.dispose([images, out]);
  });

  it.each(cases)('applyCropBoxes gives identical bits on cpu and wasm: $shape -> $size', async ({ shape, size }) => {
    const data = pattern(...shape);
    const boxes = randomBoxes(shape[0], shape[1] * 17 + shape[3]);
    const [cpu, wasm] = await onCpuAndWasm(() => {
      const images = tf.tensor4d(data, shape);
      const out = applyCropBoxes(images, boxes, { size });
      images.dispose();
      return out;
    });
    expectSameBits(wasm, cpu, 'wasm vs cpu');
  });

  it('randomResizedCrop (flips included) and applyResizedCrop: same seed, identical bits on cpu and wasm', async () => {
    const data = pattern(64, 28, 28, 1);
    const crop = randomResizedCrop({ scale: [0.08, 1], flipProbability: 0.5 });
    const [cpu, wasm] = await onCpuAndWasm(() => {
      const images = tf.tensor4d(data, [64, 28, 28, 1]);
      const out = crop.apply(images, new Rng(42));
      images.dispose();
      return out;
    });
    expectSameBits(wasm, cpu, 'randomResizedCrop wasm vs cpu');
    const colour = pattern(8, 32, 32, 3);
    const params = randomResizedCrop({ flipProbability: 0.5 }).sample(8, new Rng(5));
    const [cpu3, wasm3] = await onCpuAndWasm(() => {
      const images = tf.tensor4d(colour, [8, 32, 32, 3]);
      const out = applyResizedCrop(images, params, { size: [24, 20] });
      images.dispose();
      return out;
    });
    expectSameBits(wasm3, cpu3, 'applyResizedCrop wasm vs cpu');
  });

  it('full crops are exact copies on both backends: identity and mirror (large prime sizes)', async () => {
    for (const shape of [[2, 997, 3, 1], [1, 5, 1031, 2], [3, 28, 28, 3]] as [number, number, number, number][]) {
      const data = pattern(...shape);
      const n = shape[0];
      const [same, sameWasm] = await onCpuAndWasm(() =>
        tf.tidy(() => applyResizedCrop(tf.tensor4d(data, shape), { sw: Array(n).fill(1), sh: Array(n).fill(1), cx: Array(n).fill(0), cy: Array(n).fill(0) })),
      );
      expectSameBits(same, Float32Array.from(data), `identity ${shape}`);
      expectSameBits(sameWasm, Float32Array.from(data), `identity ${shape} (wasm)`);
      const [mirrored, mirroredWasm] = await onCpuAndWasm(() =>
        tf.tidy(() => applyCropBoxes(tf.tensor4d(data, shape), Array.from({ length: n }, () => [0, 1, 1, 0]))),
      );
      const [reversed] = await onCpuAndWasm(() => tf.tidy(() => tf.reverse(tf.tensor4d(data, shape), 2)));
      expectSameBits(mirrored, reversed, `mirror ${shape}`);
      expectSameBits(mirroredWasm, reversed, `mirror ${shape} (wasm)`);
    }
  });

  it.each([
    { shape: [8, 28, 28, 1], boxes: 64, size: [28, 28], outside: true },
    { shape: [3, 9, 13, 3], boxes: 20, size: [5, 17], outside: true },
    { shape: [2, 6, 5, 2], boxes: 7, size: [1, 1], outside: false },
  ] as const)('on wasm, cropAndResizeExact runs one native pass (core bilinearCropNative), bit for bit the tensor path of cpu: $shape -> $size', async ({ shape, boxes: count, size, outside }) => {
    const data = pattern(shape[0], shape[1], shape[2], shape[3]);
    const boxes = randomBoxes(count, 11 + count);
    const sources = Array.from({ length: count }, (_, i) => (i * 7) % shape[0]);
    const [cpu, wasm] = await onCpuAndWasm(() => {
      if (tf.getBackend() === 'wasm') {
        // The native path is the one taken on wasm: it answers for these inputs.
        const probe = bilinearCropNative(
          tf.zeros([1, 2, 2, 1]) as tf.Tensor4D,
          [0],
          { low: new Int32Array([0]), high: new Int32Array([1]), weight: new Float32Array([0.5]) },
          { low: new Int32Array([-1]), high: new Int32Array([-1]), weight: new Float32Array([0]) },
          [1, 1],
        );
        expect(probe).not.toBeNull();
        probe?.dispose();
      } else {
        expect(bilinearCropNative(tf.zeros([1, 2, 2, 1]) as tf.Tensor4D, [0], { low: new Int32Array([0]), high: new Int32Array([0]), weight: new Float32Array([0]) }, { low: new Int32Array([0]), high: new Int32Array([0]), weight: new Float32Array([0]) }, [1, 1])).toBeNull();
      }
      return cropAndResizeExact(tf.tensor4d(data, [...shape]), boxes.flat(), sources, size);
    });
    expectSameBits(wasm, cpu, 'native crop (wasm) vs tensor path (cpu)');
    if (outside) expect(cpu.some((v) => v === 0)).toBe(true); // some samples fall outside the image (zeros)
  });

  it('bilinearCropNative names the bad argument', () => {
    const images = tf.zeros([2, 4, 4, 1]) as tf.Tensor4D;
    const lines = (n: number) => ({ low: new Int32Array(n), high: new Int32Array(n), weight: new Float32Array(n) });
    const cases: [string, () => unknown][] = [
      ['sources', () => bilinearCropNative(images, [2], lines(3), lines(3), [3, 3])],
      ['rows.low', () => bilinearCropNative(images, [0], lines(2), lines(3), [3, 3])],
      ['columns.weight', () => bilinearCropNative(images, [0], lines(3), { ...lines(3), weight: new Float64Array(3) as never }, [3, 3])],
      ['rows.high', () => bilinearCropNative(images, [0], { ...lines(3), high: new Int32Array([0, 4, 0]) }, lines(3), [3, 3])],
      ['size', () => bilinearCropNative(images, [0], lines(3), lines(3), [3, 0])],
      ['images', () => bilinearCropNative(tf.zeros([4, 4]) as never, [0], lines(3), lines(3), [3, 3])],
    ];
    for (const [argument, run] of cases) {
      let error: unknown;
      try {
        run();
      } catch (caught) {
        error = caught;
      }
      expect(isContrastiveError(error), argument).toBe(true);
      expect((error as Error).message).toContain(`'${argument}'`);
    }
    images.dispose();
  });

  it('cropAndResizeExact maps boxes to source images like boxInd (more boxes than images)', async () => {
    const shape: [number, number, number, number] = [2, 7, 6, 3];
    const data = pattern(...shape);
    const boxes = randomBoxes(5, 9);
    const sources = [1, 0, 1, 1, 0];
    const [reference] = await onCpuAndWasm(() =>
      tf.tidy(() =>
        tf.image.cropAndResize(tf.tensor4d(data, shape), tf.tensor2d(boxes.flat(), [5, 4]), tf.tensor1d(sources, 'int32'), [4, 5], 'bilinear'),
      ),
    );
    const [cpu, wasm] = await onCpuAndWasm(() => tf.tidy(() => cropAndResizeExact(tf.tensor4d(data, shape), boxes.flat(), sources, [4, 5])));
    expectSameBits(wasm, cpu, 'cropAndResizeExact wasm vs cpu');
    const out = tf.tensor4d(cpu, [5, 4, 5, 3]);
    expectTensorClose(out, reference, { atol: 1e-6, rtol: 0 });
    out.dispose();
  });

  it('samples outside the image are exactly 0; huge coordinates are clamped, never NaN', () => {
    const images = tf.fill([2, 4, 5, 2], 0.5) as tf.Tensor4D;
    const out = applyCropBoxes(images, [[-2, -2, -1, -1], [0, -1e300, 1, 1e300]], { size: [3, 3] });
    const values = Array.from(out.dataSync());
    expect(values.slice(0, 18)).toEqual(Array(18).fill(0));
    // second box: the three samples are at x = -4e30, 0, 4e30: only the middle one (column 0) is inside
    expect(values.slice(18)).toEqual([0, 0, 0.5, 0.5, 0, 0, 0, 0, 0.5, 0.5, 0, 0, 0, 0, 0.5, 0.5, 0, 0]);
    // hand-computed: a 2x2 image, box [0, 0, 1, 1] at 3x3 -> bilinear midpoints
    const tiny = tf.tensor4d([0, 1, 2, 3], [1, 2, 2, 1]);
    const up = applyCropBoxes(tiny, [[0, 0, 1, 1]], { size: [3, 3] });
    expectTensorClose(up, [[[[0], [0.5], [1]], [[1], [1.5], [2]], [[2], [2.5], [3]]]], { atol: 0, rtol: 0 });
    tf.dispose([images, out, tiny, up]);
  });

  it('leaks no tensor on the extrapolating and resizing paths', async () => {
    const images = tf.ones([3, 5, 6, 3]) as tf.Tensor4D;
    await expectNoLeak(() => {
      tf.dispose(applyCropBoxes(images, [[-1, -1, 2, 2], [0, 1, 1, 0], [0.2, 0.1, 0.3, 0.9]], { size: [4, 7] }));
    });
    images.dispose();
  });
});
