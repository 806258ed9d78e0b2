import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@contrastive/core';
import { FLOAT32_TOLERANCE, expectContrastiveError, expectNoLeak, expectTensorClose, useTestBackend } from '@contrastive/core/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  applyJitter,
  applyMagnitudeWarp,
  applyScaling,
  applySegmentPermutation,
  applyTimeWarp,
  applyWindowCrop,
  jitter,
  magnitudeWarp,
  scaling,
  segmentPermutation,
  timeWarp,
  windowCrop,
} from './time-series.js';
import { onBothBackends } from './test-support/backends.js';

beforeAll(async () => {
  await useTestBackend();
});

const EXACT = { atol: 0, rtol: 0 };
type Shape3 = readonly [number, number, number];

/** Deterministic float32-representable test series. */
function seriesData([n, steps, channels]: Shape3, seed = 0): number[] {
  return Array.from({ length: n * steps * channels }, (_, e) => Math.fround(Math.sin(e * 0.7 + seed) * 2 + Math.cos(e * 0.13)));
}

function seriesOf(shape: Shape3, seed = 0): tf.Tensor3D {
  return tf.tensor3d(seriesData(shape, seed), [...shape]);
}

/**
 * Outputs of uchidalab's `magnitude_warp` and `time_warp` (scipy 1.17 CubicSpline, numpy 2.4
 * interp) with the explicit draws `random_warps = 1 + a sin(1.9 k + 0.3)` (k = flat index; a = 0.15
 * for the magnitude warp, 0.08 for the time warp) on `x = sin(0.7 e) 2 + cos(0.13 e)` (e = flat index).
 */
const SCIPY = {
  '2x12x2k4': { shape: [2, 12, 2] as const, knots: 4,
    magnitude: [1.044328031, 2.556502707, 2.386690881, 2.785288836, 1.307795585, 0.09186184895, -1.041490888, -1.240120597, -0.8615242594, 0.3901651852, 1.746316509, 2.131152165, 1.639120555, 0.5774958387, -0.855675872, -2.354344257, -2.290057144, -1.77489431, -0.6624325093, 0.4617428533, 1.270306803, 0.6430137024, -0.3775199118, -1.939639793, -2.402292513, -2.886907724, -2.480461502, -0.6941790218, 0.5640996081, 1.056676726, 0.9989424162, -0.05899030106, -1.227746227, -2.511679124, -2.002065342, -1.447452825, 0.09778419049, 1.358549577, 2.298872823, 1.717044932, 1.095073687, -0.2382062578, -1.21418122, -1.302437867, -0.3125021457, 1.263534219, 2.028804799, 2.985430916],
    time: [1, 2.279997268, 2.458752947, 2.63468542, 1.00825285, -0.1263906996, -0.9674202688, -0.7184825034, -0.807079953, 0.9916003297, 1.545221422, 1.869525881, 0.2536692, 0.6184429563, -1.760041531, -2.087363246, -1.85552044, 0.6019802698, -0.507451614, 0.5664087973, 0.9083210032, -0.593132929, -0.3543773673, -1.752674655, -2.774900955, -2.945381687, -2.337962057, -0.2771968702, -0.5181721271, 1.03323802, 0.8121287849, 0.1097397271, -0.9940235915, -1.544089648, -2.090933292, -1.462446744, -0.6293931611, 1.703420489, 1.07760297, 1.257565643, 1.958199187, -0.2702743062, 1.045349198, -0.8669438604, -0.8310249396, -0.2117672697, 2.366729236, 2.977524728],
  },
  '1x7x1k1': { shape: [1, 7, 1] as const, knots: 1,
    magnitude: [1.044328031, 2.520854666, 3.322920722, 2.972866141, 1.654050173, 0.09397477622, -0.9055394967],
    time: [1, 2.03887729, 2.723037237, 2.765495553, 1.971440451, 0.483693287, -1.032238007],
  },
  '1x9x2k0': { shape: [1, 9, 2] as const, knots: 0,
    magnitude: [1.044328031, 2.556502707, 3.006152225, 2.918783434, 1.541733208, 0.1021238876, -1.013324239, -1.432336348, -0.7266604296, 0.4405955078, 1.486440633, 2.157483191, 1.580718857, 0.5186958373, -0.8798115627, -2.083756782, -2.145631627, -1.756012549],
    time: [1, 2.279997268, 2.937289438, 2.651327793, 1.53779548, 0.09451734317, -1.032238007, -1.351159476, -0.7563130185, 0.4237794853, 1.581472026, 2.116668074, 1.719993933, 0.5192751554, -0.9795905685, -2.129572351, -2.445837561, -1.832830746],
  },
  '1x20x1k2': { shape: [1, 20, 1] as const, knots: 2,
    magnitude: [1.044328031, 2.51752518, 3.355764806, 3.080161094, 1.790824369, 0.1090166434, -1.167332951, -1.485598112, -0.803064219, 0.4324100299, 1.546195699, 1.981924849, 1.546018832, 0.4506086395, -0.8283653553, -1.778132541, -2.050467007, -1.573118942, -0.5638301819, 0.5329917118],
    time: [1, 1.956241132, 2.634651646, 2.826704713, 2.320307869, 1.136309584, -0.2802752799, -1.178311606, -0.9679196451, 0.2742486005, 1.645373367, 1.978289397, 1.076647968, -0.4731189906, -1.804757917, -2.350788544, -2.071300709, -1.279959187, -0.3294680611, 0.5563078678],
  },
};

function fixtureInput([n, steps, channels]: Shape3): tf.Tensor3D {
  return tf.tensor3d(Array.from({ length: n * steps * channels }, (_, e) => Math.sin(e * 0.7) * 2 + Math.cos(e * 0.13)), [n, steps, channels]);
}

function fixtureWarps([n, , channels]: Shape3, knots: number, amplitude: number): number[] {
  return Array.from({ length: n * (knots + 2) * channels }, (_, k) => 1 + amplitude * Math.sin(k * 1.9 + 0.3));
}

/** float64 `np.interp(x, xp, fp)` for increasing `xp`. */
function interp(x: number, xp: number[], fp: number[]): number {
  if (x <= (xp[0] as number)) return fp[0] as number;
  if (x >= (xp[xp.length - 1] as number)) return fp[fp.length - 1] as number;
  let j = 0;
  while ((xp[j + 1] as number) <= x) j++;
  return (fp[j] as number) + (((fp[j + 1] as number) - (fp[j] as number)) * (x - (xp[j] as number))) / ((xp[j + 1] as number) - (xp[j] as number));
}

describe('jitter', () => {
  it('applyJitter adds std * eps (hand-computed and float64 reference)', () => {
    const x = tf.tensor3d([1, 2], [1, 2, 1]);
    const out = applyJitter(x, { epsilon: [1, -1] }, { std: 0.5 });
    expectTensorClose(out, [[[1.5], [1.5]]], EXACT);
    const shape = [3, 5, 2] as const;
    const data = seriesData(shape);
    const epsilon = data.map((_, e) => Math.cos(e * 1.3));
    const y = seriesOf(shape);
    const noisy = applyJitter(y, { epsilon });
    expectTensorClose(noisy, data.map((v, e) => v + 0.03 * (epsilon[e] as number)), FLOAT32_TOLERANCE);
    tf.dispose([x, out, y, noisy]);
  });

  it('draws n T c normals; apply = applyJitter(sample); std 0 copies; statistics; no leak', async () => {
    const rng = new Rng(1);
    const replay = rng.clone();
    expect(Array.from(jitter().sample([2, 3, 2], rng).epsilon)).toEqual(Array.from(replay.normalArray(12)));
    expect(rng.state()).toEqual(replay.state());
    const x = tf.zeros([100, 50, 3]) as tf.Tensor3D;
    await expectNoLeak(() => {
      const got = jitter({ std: 0.03 }).apply(x, new Rng(2));
      const expected = applyJitter(x, jitter().sample([100, 50, 3], new Rng(2)), { std: 0.03 });
      expectTensorClose(got, expected, EXACT);
      const values = got.dataSync();
      const rms = Math.sqrt(Array.from(values).reduce((total, v) => total + v * v, 0) / values.length);
      expect(Math.abs(rms - 0.03)).toBeLessThan(0.001);
      const copy = jitter({ std: 0 }).apply(x, new Rng(3));
      expectTensorClose(copy, x, EXACT);
      tf.dispose([got, expected, copy]);
    });
    x.dispose();
  });

  it('rejects bad arguments', () => {
    expectContrastiveError(() => jitter({ std: -0.1 }), 'INVALID_ARGUMENT', /'std' passed to 'jitter' must be a finite number >= 0, got -0\.1/);
    expectContrastiveError(() => jitter().sample([1, 2] as never, new Rng(0)), 'INVALID_ARGUMENT', /'shape' passed to 'jitter\.sample' must be \[n, T, c\], got \[1, 2\]/);
    const x = tf.ones([1, 2, 1]) as tf.Tensor3D;
    expectContrastiveError(() => applyJitter(x, { epsilon: [1] }), 'SHAPE_MISMATCH', /'params\.epsilon' passed to 'applyJitter' must have 2 entries \(n T c = 1\*2\*1\), got 1/);
    expectContrastiveError(() => jitter().apply(tf.ones([2, 3]) as never, new Rng(0)), 'SHAPE_MISMATCH', /'series' passed to 'jitter\.apply' must be rank 3, got rank 2/);
    x.dispose();
  });
});

describe('scaling', () => {
  it('applyScaling multiplies each series and channel by its factor (hand-computed and float64 reference)', () => {
    const x = tf.tensor3d([1, 2, 3, 4], [1, 2, 2]);
    const out = applyScaling(x, { factor: [2, 0.5] });
    expectTensorClose(out, [[[2, 1], [6, 2]]], EXACT);
    const shape = [3, 4, 2] as const;
    const data = seriesData(shape);
    const factor = [0.9, 1.1, 1.3, 0.7, 1, 1.05];
    const y = seriesOf(shape);
    const scaled = applyScaling(y, { factor });
    expectTensorClose(scaled, data.map((v, e) => v * (factor[Math.floor(e / 8) * 2 + (e % 2)] as number)), FLOAT32_TOLERANCE);
    tf.dispose([x, out, y, scaled]);
  });

  it('draws n c normal(1, std), series-major; apply = applyScaling(sample); no leak', async () => {
    const rng = new Rng(4);
    const replay = rng.clone();
    const { factor } = scaling({ std: 0.1 }).sample([3, 10, 2], rng);
    expect(Array.from(factor)).toEqual(Array.from({ length: 6 }, () => replay.normal(1, 0.1)));
    expect(rng.state()).toEqual(replay.state());
    const x = seriesOf([5, 7, 3]);
    await expectNoLeak(() => {
      const got = scaling().apply(x, new Rng(5));
      const expected = applyScaling(x, scaling().sample([5, 7, 3], new Rng(5)));
      expectTensorClose(got, expected, EXACT);
      expect(got.shape).toEqual([5, 7, 3]);
      tf.dispose([got, expected]);
    });
    x.dispose();
  });

  it('std 0 copies; rejects bad arguments', () => {
    const x = seriesOf([2, 3, 2]);
    const copy = scaling({ std: 0 }).apply(x, new Rng(0));
    expectTensorClose(copy, x, EXACT);
    expectContrastiveError(() => applyScaling(x, { factor: [1, 2, 3] }), 'SHAPE_MISMATCH', /'params\.factor' passed to 'applyScaling' must have 4 entries \(n c = 2\*2\), got 3/);
    expectContrastiveError(() => scaling({ std: NaN }), 'INVALID_ARGUMENT', /'std' passed to 'scaling' .* got NaN/);
    tf.dispose([x, copy]);
  });
});

describe('magnitudeWarp', () => {
  it.each(Object.entries(SCIPY))('applyMagnitudeWarp matches uchidalab magnitude_warp with scipy CubicSpline (%s)', (_, fixture) => {
    const x = fixtureInput(fixture.shape);
    const out = applyMagnitudeWarp(x, { warps: fixtureWarps(fixture.shape, fixture.knots, 0.15) }, { knots: fixture.knots });
    expect(out.shape).toEqual([...fixture.shape]);
    expectTensorClose(out, fixture.magnitude, FLOAT32_TOLERANCE);
    tf.dispose([x, out]);
  });

  it('hand-computed: two knots give the line through them; knot values 1 give the identity exactly', () => {
    const ones = tf.ones([1, 3, 1]) as tf.Tensor3D;
    const line = applyMagnitudeWarp(ones, { warps: [1, 3] }, { knots: 0 });
    expectTensorClose(line, [[[1], [2], [3]]], EXACT);
    const x = seriesOf([2, 30, 3]);
    const same = applyMagnitudeWarp(x, { warps: new Array<number>(2 * 6 * 3).fill(1) });
    expectTensorClose(same, x, EXACT);
    tf.dispose([ones, line, x, same]);
  });

  it('T = 1 multiplies by the first knot value', () => {
    const x = tf.tensor3d([2, 3], [1, 1, 2]);
    const out = applyMagnitudeWarp(x, { warps: [0.5, 2, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9] });
    expectTensorClose(out, [[[1, 6]]], EXACT);
    tf.dispose([x, out]);
  });

  it('draws n (knots + 2) c normal(1, std); apply = applyMagnitudeWarp(sample); no leak', async () => {
    const rng = new Rng(6);
    const replay = rng.clone();
    const { warps } = magnitudeWarp({ knots: 3, std: 0.2 }).sample([2, 10, 3], rng);
    expect(Array.from(warps)).toEqual(Array.from({ length: 30 }, () => replay.normal(1, 0.2)));
    expect(rng.state()).toEqual(replay.state());
    const x = seriesOf([4, 25, 2]);
    await expectNoLeak(() => {
      const warp = magnitudeWarp();
      const got = warp.apply(x, new Rng(7));
      const expected = applyMagnitudeWarp(x, warp.sample([4, 25, 2], new Rng(7)));
      expectTensorClose(got, expected, EXACT);
      tf.dispose([got, expected]);
    });
    x.dispose();
  });

  it('rejects bad arguments', () => {
    expectContrastiveError(() => magnitudeWarp({ knots: -1 }), 'INVALID_ARGUMENT', /'knots' passed to 'magnitudeWarp' must be an integer >= 0, got -1/);
    expectContrastiveError(() => magnitudeWarp({ std: -1 }), 'INVALID_ARGUMENT', /'std' passed to 'magnitudeWarp'/);
    const x = tf.ones([1, 4, 1]) as tf.Tensor3D;
    expectContrastiveError(() => applyMagnitudeWarp(x, { warps: [1, 1, 1] }, { knots: 0 }), 'SHAPE_MISMATCH', /'params\.warps' passed to 'applyMagnitudeWarp' must have 2 entries \(n \(knots \+ 2\) c = 1\*2\*1\), got 3/);
    x.dispose();
  });
});

describe('timeWarp', () => {
  it.each(Object.entries(SCIPY))('applyTimeWarp matches uchidalab time_warp with scipy CubicSpline and np.interp (%s)', (_, fixture) => {
    const x = fixtureInput(fixture.shape);
    const out = applyTimeWarp(x, { warps: fixtureWarps(fixture.shape, fixture.knots, 0.08) }, { knots: fixture.knots });
    expect(out.shape).toEqual([...fixture.shape]);
    expectTensorClose(out, fixture.time, FLOAT32_TOLERANCE);
    tf.dispose([x, out]);
  });

  it.each([0, 1, 4, 9])('knot values 1 (identity knots) give the identity (knots %i)', (knots) => {
    const x = seriesOf([2, 23, 3]);
    const out = applyTimeWarp(x, { warps: new Array<number>(2 * (knots + 2) * 3).fill(1) }, { knots });
    expectTensorClose(out, x, { atol: 1e-6, rtol: 0 });
    tf.dispose([x, out]);
  });

  it('hand-computed: knots at 0 and 4 moved to 0 and 4 r, rescaled, is still the identity', () => {
    const x = tf.tensor3d([0, 1, 2, 3, 4], [1, 5, 1]);
    const line = applyTimeWarp(x, { warps: [1, 2] }, { knots: 0 });
    expectTensorClose(line, [[[0], [1], [2], [3], [4]]], { atol: 1e-6, rtol: 0 });
    tf.dispose([x, line]);
  });

  it.each([
    // r = [1, 1.5, 0.6, 1.4, 0.5, 1.1] on T = 12: tw goes up and down; np.interp's search gives these values.
    ['a non-monotone warp', 12, 4, [1, 1.5, 0.6, 1.4, 0.5, 1.1], [0.0, 0.32365527749061584, 0.6473105549812317, 0.9709658622741699, 24.806106567382812, 28.164508819580078, 31.48446273803711, 34.80441665649414, 45.01409912109375, 114.79045867919922, 117.89523315429688, 121.0]],
    // A negative last knot value: a negative rescale, then clipping, as the reference computes it.
    ['a negative end knot', 9, 1, [1, 1.2, -0.5], [36.0, 48.380950927734375, 51.050357818603516, 53.20863342285156, 55.366905212402344, 57.52518081665039, 59.68345260620117, 61.84172821044922, 64.0]],
  ])('reproduces the reference bit for bit on %s (numpy / scipy output on float32 input)', (_, steps, knots, warps, expected) => {
    const ramp = tf.tensor3d(Array.from({ length: steps }, (__, t) => t * t), [1, steps, 1]);
    const out = applyTimeWarp(ramp, { warps }, { knots });
    expectTensorClose(out, expected, EXACT);
    tf.dispose([ramp, out]);
  });

  it('a warp ending at exactly 0 (a division by zero in the reference) copies the series', () => {
    const ramp = tf.tensor3d([0, 1, 4, 9, 16], [1, 5, 1]);
    const copy = applyTimeWarp(ramp, { warps: [1, 1, 0] }, { knots: 1 });
    expectTensorClose(copy, ramp, EXACT);
    tf.dispose([ramp, copy]);
  });

  it('float64 reference of the spline-rescale-clip-interp chain (knots 1: the parabola)', () => {
    // With knots 1 the spline through 3 points is the parabola, checked here against an explicit formula.
    const steps = 9;
    const data = seriesData([1, steps, 1], 3);
    const warps = [1, 1.3, 0.9];
    const positions = [0, 4, 8];
    const y = positions.map((p, k) => p * (warps[k] as number));
    // Parabola through (0, 0), (4, y1), (8, y2): a t^2 + b t.
    const a = ((y[2] as number) - 2 * (y[1] as number)) / 32;
    const b = ((y[1] as number) - 16 * a) / 4;
    const tw = Array.from({ length: steps }, (_, t) => a * t * t + b * t);
    const scale = 8 / (tw[8] as number);
    const xp = tw.map((v) => Math.min(Math.max(v * scale, 0), 8));
    const expected = Array.from({ length: steps }, (_, t) => interp(t, xp, data));
    const x = tf.tensor3d(data, [1, steps, 1]);
    const out = applyTimeWarp(x, { warps }, { knots: 1 });
    expectTensorClose(out, expected, FLOAT32_TOLERANCE);
    tf.dispose([x, out]);
  });

  it('T = 1 copies; draws like magnitudeWarp; apply = applyTimeWarp(sample); no leak', async () => {
    const single = tf.tensor3d([5, 6], [1, 1, 2]);
    const copy = timeWarp().apply(single, new Rng(0));
    expectTensorClose(copy, single, EXACT);
    tf.dispose([single, copy]);
    const rng = new Rng(8);
    const replay = rng.clone();
    const { warps } = timeWarp({ knots: 2, std: 0.3 }).sample([2, 10, 1], rng);
    expect(Array.from(warps)).toEqual(Array.from({ length: 8 }, () => replay.normal(1, 0.3)));
    const x = seriesOf([6, 40, 2]);
    await expectNoLeak(() => {
      const warp = timeWarp();
      const got = warp.apply(x, new Rng(9));
      const expected = applyTimeWarp(x, warp.sample([6, 40, 2], new Rng(9)));
      const other = warp.apply(x, new Rng(10));
      expectTensorClose(got, expected, EXACT);
      expect(Array.from(other.dataSync())).not.toEqual(Array.from(got.dataSync()));
      tf.dispose([got, expected, other]);
    });
    x.dispose();
  });
});

describe('windowCrop', () => {
  it('applyWindowCrop crops and stretches back to T (hand-computed); length T is the identity', () => {
    const x = tf.tensor3d([0, 1, 2, 3, 4], [1, 5, 1]);
    const out = applyWindowCrop(x, { start: [1] }, { length: 3 });
    expectTensorClose(out, [[[1], [1.5], [2], [2.5], [3]]], EXACT);
    const same = applyWindowCrop(x, { start: [0] }, { length: 5 });
    expectTensorClose(same, x, EXACT);
    tf.dispose([x, out, same]);
  });

  it('equals the float64 reference np.interp(linspace(0, L - 1, T), arange(L), window)', () => {
    const shape = [3, 17, 2] as const;
    const data = seriesData(shape, 1);
    const start = [0, 4, 7];
    const length = 10;
    const expected: number[] = [];
    for (let i = 0; i < 3; i++)
      for (let t = 0; t < 17; t++)
        for (let ch = 0; ch < 2; ch++) {
          const window = Array.from({ length }, (_, k) => data[(i * 17 + (start[i] as number) + k) * 2 + ch] as number);
          expected.push(interp((t * (length - 1)) / 16, Array.from({ length }, (_, k) => k), window));
        }
    const x = seriesOf(shape, 1);
    const out = applyWindowCrop(x, { start }, { length });
    expectTensorClose(out, expected, FLOAT32_TOLERANCE);
    tf.dispose([x, out]);
  });

  it('draws one int(T - length + 1) per series; length = ceil(ratio T); apply = applyWindowCrop(sample); no leak', async () => {
    const rng = new Rng(11);
    const replay = rng.clone();
    const { start } = windowCrop({ ratio: 0.9 }).sample([4, 25, 1], rng); // length ceil(22.5) = 23
    expect(Array.from(start)).toEqual(Array.from({ length: 4 }, () => replay.int(3)));
    expect(rng.state()).toEqual(replay.state());
    const all = windowCrop({ length: 3 }).sample([3000, 5, 1], new Rng(12)).start;
    for (let s = 0; s < 3; s++) expect(Math.abs(Array.from(all).filter((value) => value === s).length / 3000 - 1 / 3)).toBeLessThan(0.03);
    const x = seriesOf([5, 30, 2]);
    await expectNoLeak(() => {
      const crop = windowCrop({ length: 20 });
      const got = crop.apply(x, new Rng(13));
      const expected = applyWindowCrop(x, crop.sample([5, 30, 2], new Rng(13)), { length: 20 });
      expectTensorClose(got, expected, EXACT);
      expect(got.shape).toEqual([5, 30, 2]);
      tf.dispose([got, expected]);
    });
    x.dispose();
  });

  it('T = 1 and c = 1', () => {
    const x = tf.tensor3d([3], [1, 1, 1]);
    const out = windowCrop().apply(x, new Rng(0));
    expectTensorClose(out, [[[3]]], EXACT);
    tf.dispose([x, out]);
  });

  it('rejects bad arguments', () => {
    expectContrastiveError(() => windowCrop({ length: 5, ratio: 0.5 }), 'INVALID_ARGUMENT', /'length' and 'ratio' passed to 'windowCrop' are exclusive/);
    expectContrastiveError(() => windowCrop({ ratio: 0 }), 'INVALID_ARGUMENT', /'ratio' passed to 'windowCrop' must be a finite number > 0 and <= 1, got 0/);
    expectContrastiveError(() => windowCrop({ length: 2.5 }), 'INVALID_ARGUMENT', /'length' .* must be an integer >= 1, got 2\.5/);
    const x = tf.ones([1, 4, 1]) as tf.Tensor3D;
    expectContrastiveError(() => windowCrop({ length: 5 }).apply(x, new Rng(0)), 'SHAPE_MISMATCH', /'length' passed to 'windowCrop' is 5, longer than the series passed to 'windowCrop\.apply' \(T = 4\)/);
    expectContrastiveError(() => applyWindowCrop(x, { start: [2] }, { length: 3 }), 'INVALID_ARGUMENT', /'params\.start\[0\]' passed to 'applyWindowCrop' must be an integer >= 0 and <= 1, got 2/);
    expectContrastiveError(() => applyWindowCrop(x, { start: [0] }, { length: 5 }), 'INVALID_ARGUMENT', /'length' passed to 'applyWindowCrop' must be an integer >= 1 and <= 4, got 5/);
    x.dispose();
  });
});

/** float64 reference: np.concatenate of the permuted np.split. */
function permutationReference(data: number[], [n, steps, channels]: Shape3, boundaries: number[][], order: number[][]): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const starts = [0, ...(boundaries[i] as number[]), steps];
    for (const segment of order[i] as number[])
      for (let t = starts[segment] as number; t < (starts[segment + 1] as number); t++)
        for (let ch = 0; ch < channels; ch++) out.push(data[(i * steps + t) * channels + ch] as number);
  }
  return out;
}

describe('segmentPermutation', () => {
  it('applySegmentPermutation applies a known permutation (hand-computed) and equals the reference', () => {
    const x = tf.tensor3d([0, 1, 2, 3, 4], [1, 5, 1]);
    const out = applySegmentPermutation(x, { boundaries: [[2, 3]], order: [[2, 0, 1]] });
    expectTensorClose(out, [[[3], [4], [0], [1], [2]]], EXACT);
    const shape = [2, 9, 3] as const;
    const data = seriesData(shape);
    const boundaries = [[3, 4, 8], []];
    const order = [[3, 1, 0, 2], [0]];
    const y = seriesOf(shape);
    const permuted = applySegmentPermutation(y, { boundaries, order });
    expectTensorClose(permuted, permutationReference(data, shape, boundaries, order), EXACT);
    tf.dispose([x, out, y, permuted]);
  });

  it("'equal' mode cuts like np.array_split; draw order: counts, then a permutation per series", () => {
    const rng = new Rng(14);
    const replay = rng.clone();
    const { boundaries, order } = segmentPermutation().sample([6, 11, 1], rng);
    const counts = Array.from({ length: 6 }, () => 1 + replay.int(4));
    counts.forEach((k, i) => {
      // np.array_split(arange(11), k): the first 11 % k parts have one more step.
      const sizes = Array.from({ length: k }, (_, j) => Math.floor(11 / k) + (j < 11 % k ? 1 : 0));
      const cuts = sizes.slice(0, -1).map((_, j) => sizes.slice(0, j + 1).reduce((a, b) => a + b, 0));
      expect(Array.from(boundaries[i] as Int32Array)).toEqual(cuts);
      if (k > 1) expect(Array.from(order[i] as Int32Array)).toEqual(Array.from(replay.permutation(k)));
      else expect(Array.from(order[i] as Int32Array)).toEqual([0]);
    });
    expect(rng.state()).toEqual(replay.state());
  });

  it("'random' mode: sorted distinct cuts in 1 .. T-1 from choice(T - 1, k - 1) + 1; k capped at T", () => {
    const rng = new Rng(15);
    const replay = rng.clone();
    const { boundaries, order } = segmentPermutation({ segments: 5, mode: 'random' }).sample([3, 8, 2], rng);
    for (let i = 0; i < 3; i++) {
      const cuts = Array.from(replay.choice(7, 4), (point) => point + 1).sort((a, b) => a - b);
      expect(Array.from(boundaries[i] as Int32Array)).toEqual(cuts);
      expect(Array.from(order[i] as Int32Array)).toEqual(Array.from(replay.permutation(5)));
    }
    expect(rng.state()).toEqual(replay.state());
    const short = segmentPermutation({ segments: 5, mode: 'random' }).sample([1, 3, 1], new Rng(0));
    expect(Array.from(short.boundaries[0] as Int32Array)).toEqual([1, 2]);
  });

  it('apply = applySegmentPermutation(sample); values are a permutation of the time steps; segments 1 copies; no leak', async () => {
    const shape = [8, 20, 3] as const;
    const x = seriesOf(shape);
    await expectNoLeak(() => {
      const permute = segmentPermutation({ segments: [2, 6], mode: 'random' });
      const params = permute.sample([...shape], new Rng(16));
      const got = permute.apply(x, new Rng(16));
      const expected = applySegmentPermutation(x, params);
      expectTensorClose(got, expected, EXACT);
      expectTensorClose(
        got,
        permutationReference(
          seriesData(shape),
          shape,
          Array.from(params.boundaries, (row) => Array.from(row)),
          Array.from(params.order, (row) => Array.from(row)),
        ),
        EXACT,
      );
      const same = segmentPermutation({ segments: 1 }).apply(x, new Rng(17));
      expectTensorClose(same, x, EXACT);
      tf.dispose([got, expected, same]);
    });
    x.dispose();
  });

  it('rejects bad arguments', () => {
    expectContrastiveError(() => segmentPermutation({ segments: 0 }), 'INVALID_ARGUMENT', /'segments' passed to 'segmentPermutation' must be an integer >= 1, got 0/);
    expectContrastiveError(() => segmentPermutation({ segments: [3, 2] }), 'INVALID_ARGUMENT', /'segments\[1\]' .* must be an integer >= 3, got 2/);
    expectContrastiveError(() => segmentPermutation({ mode: 'uniform' as never }), 'INVALID_ARGUMENT', /'mode' .* must be one of "equal", "random", got "uniform"/);
    const x = tf.ones([1, 5, 1]) as tf.Tensor3D;
    expectContrastiveError(() => applySegmentPermutation(x, { boundaries: [[3, 2]], order: [[0, 1, 2]] }), 'INVALID_ARGUMENT', /'params\.boundaries\[0\]' .* must be strictly increasing, got \[3, 2\]/);
    expectContrastiveError(() => applySegmentPermutation(x, { boundaries: [[5]], order: [[0, 1]] }), 'INVALID_ARGUMENT', /'params\.boundaries\[0\]\[0\]' .* must be an integer >= 1 and <= 4, got 5/);
    expectContrastiveError(() => applySegmentPermutation(x, { boundaries: [[2]], order: [[1, 1]] }), 'INVALID_ARGUMENT', /'params\.order\[0\]' .* must be a permutation of 0\.\.1, got \[1, 1\]/);
    expectContrastiveError(() => applySegmentPermutation(x, { boundaries: [[2]], order: [[0]] }), 'SHAPE_MISMATCH', /'params\.order\[0\]' .* must have 2 entries \(one per segment: 2\), got 1/);
    expectContrastiveError(() => applySegmentPermutation(x, { boundaries: [], order: [] }), 'SHAPE_MISMATCH', /'params\.boundaries' .* must have 1 entries \(one per series\), got 0/);
    x.dispose();
  });
});

describe('time-series augmentations on cpu and wasm', () => {
  const shape = [16, 40, 3] as const;
  it.each([
    ['jitter', () => jitter()],
    ['scaling', () => scaling()],
    ['magnitudeWarp', () => magnitudeWarp()],
    ['timeWarp', () => timeWarp()],
    ['windowCrop', () => windowCrop()],
    ['segmentPermutation', () => segmentPermutation({ mode: 'random' })],
  ] as const)('%s is bit-identical on cpu and wasm and keeps shape and dtype', async (_, make) => {
    const { cpu, wasm } = await onBothBackends(() => {
      const out = make().apply(seriesOf(shape, 2), new Rng(18));
      expect(out.shape).toEqual([...shape]);
      expect(out.dtype).toBe('float32');
      return out;
    });
    expect(cpu).toEqual(wasm);
    expect(cpu.every(Number.isFinite)).toBe(true);
    const x = seriesOf(shape, 2);
    const [first, second] = [make().apply(x, new Rng(18)), make().apply(x, new Rng(19))];
    expect(Array.from(first.dataSync())).not.toEqual(Array.from(second.dataSync()));
    tf.dispose([x, first, second]);
  });
});
