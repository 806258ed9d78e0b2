import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@contrastive/core';
import { FLOAT32_TOLERANCE, expectContrastiveError, expectNoLeak, expectTensorClose, useTestBackend } from '@contrastive/core/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  applyFeatureMasking,
  applyScarfCorruption,
  applyTabularNoise,
  featureMasking,
  scarfCorruption,
  tabularNoise,
} from './tabular.js';
import { onBothBackends } from './test-support/backends.js';
import { numbers, sum } from './test-support/images.js';

beforeAll(async () => {
  await useTestBackend();
});

const EXACT = { atol: 0, rtol: 0 };

function table(n: number, f: number, seed = 0): number[] {
  return Array.from({ length: n * f }, (_, e) => Math.fround(Math.round(Math.sin(e * 1.7 + seed) * 1000) / 100));
}

/** float64 reference of SCARF corruption, as loops. */
function scarfReference(x: number[], marginals: number[], f: number, corrupted: ArrayLike<number>, rows: ArrayLike<number>): number[] {
  return x.map((value, e) => (corrupted[e] === 1 ? (marginals[(rows[e] as number) * f + (e % f)] as number) : value));
}

describe('applyScarfCorruption', () => {
  it('replaces a known subset by the known marginal rows (hand-computed)', () => {
    const x = tf.tensor2d([[1, 2, 3], [4, 5, 6]]);
    const marginals = tf.tensor2d([[10, 20, 30], [40, 50, 60], [70, 80, 90]]);
    const out = applyScarfCorruption(x, marginals, { corrupted: [0, 1, 1, 1, 0, 0], rows: [0, 2, 0, 1, 0, 0] });
    expect(out.shape).toEqual([2, 3]);
    expect(out.dtype).toBe('float32');
    expectTensorClose(out, [[1, 80, 30], [40, 5, 6]], EXACT);
    tf.dispose([x, marginals, out]);
  });

  it.each([
    [1, 1, 1],
    [4, 7, 5],
    [16, 3, 40],
  ])('equals the float64 reference (n %i, f %i, m %i)', (n, f, m) => {
    const data = table(n, f);
    const marginalData = table(m, f, 3);
    const rng = new Rng(n * 100 + f);
    const corrupted = Array.from({ length: n * f }, () => (rng.uniform() < 0.5 ? 1 : 0));
    const rows = Array.from({ length: n * f }, () => rng.int(m));
    const x = tf.tensor2d(data, [n, f]);
    const marginals = tf.tensor2d(marginalData, [m, f]);
    const out = applyScarfCorruption(x, marginals, { corrupted, rows });
    expectTensorClose(out, scarfReference(data, marginalData, f, corrupted, rows), EXACT);
    tf.dispose([x, marginals, out]);
  });

  it('rejects bad arguments', () => {
    const x = tf.ones([2, 3]) as tf.Tensor2D;
    const marginals = tf.ones([4, 3]) as tf.Tensor2D;
    const params = { corrupted: [1, 0, 0, 0, 0, 0], rows: [0, 0, 0, 0, 0, 0] };
    expectContrastiveError(() => applyScarfCorruption(x, tf.ones([4, 2]) as tf.Tensor2D, params), 'SHAPE_MISMATCH', /'marginals' passed to 'applyScarfCorruption' must have 3 columns/);
    expectContrastiveError(() => applyScarfCorruption(x, marginals, { ...params, rows: [4, 0, 0, 0, 0, 0] }), 'INVALID_ARGUMENT', /'params\.rows\[0\]' .* must be an integer >= 0 and <= 3, got 4/);
    expectContrastiveError(() => applyScarfCorruption(x, marginals, { ...params, corrupted: [1, 0] }), 'SHAPE_MISMATCH', /'params\.corrupted' .* must have 6 entries \(n f = 2\*3\), got 2/);
    expectContrastiveError(() => applyScarfCorruption(x, marginals, { ...params, corrupted: [2, 0, 0, 0, 0, 0] }), 'INVALID_ARGUMENT', /'params\.corrupted\[0\]' .* must be a boolean or 0\/1, got 2/);
    expectContrastiveError(() => applyScarfCorruption(tf.ones([2, 3], 'int32') as tf.Tensor2D, marginals, params), 'DTYPE_MISMATCH', /'table' .* must have dtype float32, got int32/);
    expectContrastiveError(() => applyScarfCorruption(x, marginals, null as never), 'INVALID_ARGUMENT', /'params' .* must be an object \{ corrupted, rows \}/);
    // A row index outside [0, m) where an entry is not corrupted is ignored.
    const ignored = applyScarfCorruption(x, marginals, { corrupted: [0, 0, 0, 0, 0, 0], rows: [-5, 9, 0, 0, 0, 0] });
    expectTensorClose(ignored, x, EXACT);
    tf.dispose([x, marginals, ignored]);
  });
});

describe('scarfCorruption', () => {
  const m = 6;
  const f = 5;
  let marginals: tf.Tensor2D;
  beforeAll(() => {
    marginals = tf.tensor2d(table(m, f, 2), [m, f]);
  });

  it('draws exactly floor(rate f) features per row, then one source row floor(u m) per chosen feature (perFeature)', () => {
    const rng = new Rng(5);
    const replay = rng.clone();
    const { corrupted, rows } = scarfCorruption({ rate: 0.6, marginals }).sample(4, rng);
    const expectedFlags = new Uint8Array(4 * f);
    const expectedRows = new Int32Array(4 * f);
    /** The partial Fisher–Yates of the factory's documentation. */
    const choose = (q: number): number[] => {
      const slots = Array.from({ length: f }, (_, j) => j);
      for (let k = 0; k < q; k++) {
        const j = k + Math.floor(replay.uniform() * (f - k));
        [slots[k], slots[j]] = [slots[j] as number, slots[k] as number];
      }
      return slots.slice(0, q);
    };
    for (let i = 0; i < 4; i++) {
      const chosen = choose(3);
      for (const j of chosen) {
        expectedFlags[i * f + j] = 1;
        expectedRows[i * f + j] = Math.floor(replay.uniform() * m);
      }
    }
    expect(Array.from(corrupted)).toEqual(Array.from(expectedFlags));
    expect(Array.from(rows)).toEqual(Array.from(expectedRows));
    expect(rng.state()).toEqual(replay.state());
  });

  it('perRow: one source row per example; floor(rate f) matches Python int(rate * f)', () => {
    const rng = new Rng(6);
    const replay = rng.clone();
    const { corrupted, rows } = scarfCorruption({ rate: 0.5, marginals, marginalDraw: 'perRow' }).sample(3, rng);
    const choose = (q: number): number[] => {
      const slots = Array.from({ length: f }, (_, j) => j);
      for (let k = 0; k < q; k++) {
        const j = k + Math.floor(replay.uniform() * (f - k));
        [slots[k], slots[j]] = [slots[j] as number, slots[k] as number];
      }
      return slots.slice(0, q);
    };
    for (let i = 0; i < 3; i++) {
      const chosen = choose(2); // floor(0.5 * 5) = 2
      const source = Math.floor(replay.uniform() * m);
      const flags = numbers(corrupted).slice(i * f, (i + 1) * f);
      expect(sum(flags)).toBe(2);
      for (const j of chosen) {
        expect(flags[j]).toBe(1);
        expect(rows[i * f + j]).toBe(source);
      }
    }
    expect(rng.state()).toEqual(replay.state());
  });

  it('chooses features and marginal rows uniformly', () => {
    const big = 6000;
    const { corrupted, rows } = scarfCorruption({ rate: 0.4, marginals }).sample(big, new Rng(7));
    const perFeature = new Array<number>(f).fill(0);
    const perRow = new Array<number>(m).fill(0);
    let total = 0;
    for (let e = 0; e < big * f; e++) {
      if (corrupted[e] !== 1) continue;
      perFeature[e % f] = (perFeature[e % f] as number) + 1;
      perRow[rows[e] as number] = (perRow[rows[e] as number] as number) + 1;
      total++;
    }
    expect(total).toBe(big * 2);
    for (const count of perFeature) expect(Math.abs(count / total - 1 / f)).toBeLessThan(0.01);
    for (const count of perRow) expect(Math.abs(count / total - 1 / m)).toBeLessThan(0.015);
  });

  it('apply = applyScarfCorruption of sample; shape, dtype; same seed same output, other seed differs; no leak', async () => {
    const x = tf.tensor2d(table(8, f, 9), [8, f]);
    const corruption = scarfCorruption({ marginals });
    await expectNoLeak(() => {
      const expected = applyScarfCorruption(x, marginals, corruption.sample(8, new Rng(4)));
      const got = corruption.apply(x, new Rng(4));
      const again = corruption.apply(x, new Rng(4));
      const other = corruption.apply(x, new Rng(5));
      expect(got.shape).toEqual([8, f]);
      expect(got.dtype).toBe('float32');
      expectTensorClose(got, expected, EXACT);
      expectTensorClose(again, got, EXACT);
      expect(Array.from(other.dataSync())).not.toEqual(Array.from(got.dataSync()));
      tf.dispose([expected, got, again, other]);
    });
    x.dispose();
  });

  it('rate 0 copies the table, rate 1 replaces every entry', async () => {
    const x = tf.tensor2d(table(3, f, 1), [3, f]);
    const single = tf.tensor2d([[9, 8, 7, 6, 5]]);
    await expectNoLeak(() => {
      const none = scarfCorruption({ rate: 0, marginals }).apply(x, new Rng(1));
      expect(none).not.toBe(x);
      expectTensorClose(none, x, EXACT);
      const all = scarfCorruption({ rate: 1, marginals: single }).apply(x, new Rng(1));
      expectTensorClose(all, [[9, 8, 7, 6, 5], [9, 8, 7, 6, 5], [9, 8, 7, 6, 5]], EXACT);
      tf.dispose([none, all]);
    });
    tf.dispose([x, single]);
  });

  it('n = 1 and f = 1', () => {
    const x = tf.tensor2d([[3]]);
    const source = tf.tensor2d([[1], [2]]);
    const kept = scarfCorruption({ rate: 0.6, marginals: source }).apply(x, new Rng(0)); // floor(0.6) = 0 features
    expectTensorClose(kept, [[3]], EXACT);
    const replaced = scarfCorruption({ rate: 1, marginals: source }).apply(x, new Rng(0));
    expect([1, 2]).toContain(replaced.dataSync()[0]);
    tf.dispose([x, source, kept, replaced]);
  });

  it('is bit-identical on cpu and wasm', async () => {
    const { cpu, wasm } = await onBothBackends(() =>
      scarfCorruption({ rate: 0.6, marginals: tf.tensor2d(table(50, 9, 4), [50, 9]) }).apply(tf.tensor2d(table(64, 9, 5), [64, 9]), new Rng(11)),
    );
    expect(cpu).toEqual(wasm);
  });

  it('rejects bad options and mismatched tensors', () => {
    expectContrastiveError(() => scarfCorruption({ rate: 1.5, marginals }), 'INVALID_ARGUMENT', /'rate' passed to 'scarfCorruption' must be a finite number >= 0 and <= 1, got 1\.5/);
    expectContrastiveError(() => scarfCorruption({ marginals, marginalDraw: 'column' as never }), 'INVALID_ARGUMENT', /'marginalDraw' .* must be one of "perFeature", "perRow", got "column"/);
    expectContrastiveError(() => scarfCorruption({} as never), 'SHAPE_MISMATCH', /'marginals' passed to 'scarfCorruption' must be a tf\.Tensor of rank 2, got undefined/);
    expectContrastiveError(() => scarfCorruption({ marginals: tf.ones([0, 3]) as tf.Tensor2D }), 'SHAPE_MISMATCH', /must be \[m, f\] with every dimension >= 1, got \[0, 3\]/);
    expectContrastiveError(() => scarfCorruption(undefined as never), 'INVALID_ARGUMENT', /'options' passed to 'scarfCorruption' must be an object/);
    const corruption = scarfCorruption({ marginals });
    const wrong = tf.ones([2, 4]) as tf.Tensor2D;
    expectContrastiveError(() => corruption.apply(wrong, new Rng(0)), 'SHAPE_MISMATCH', /'table' passed to 'scarfCorruption\.apply' must have 5 columns \(those of 'marginals'\), got \[2, 4\]/);
    expectContrastiveError(() => corruption.apply(tf.ones([2, 5, 1]) as never, new Rng(0)), 'SHAPE_MISMATCH', /'table' .* must be rank 2, got rank 3/);
    expectContrastiveError(() => corruption.sample(0, new Rng(0)), 'INVALID_ARGUMENT', /'n' passed to 'scarfCorruption\.sample' must be an integer >= 1, got 0/);
    const disposed = tf.ones([3, 2]) as tf.Tensor2D;
    disposed.dispose();
    expectContrastiveError(() => scarfCorruption({ marginals: disposed }), 'DISPOSED', /'marginals' passed to 'scarfCorruption' has been disposed/);
    wrong.dispose();
  });

  it('reads marginals once: the tensor may be disposed after the factory', () => {
    const temporary = tf.tensor2d([[4, 5]]);
    const corruption = scarfCorruption({ rate: 1, marginals: temporary });
    temporary.dispose();
    const x = tf.tensor2d([[1, 2]]);
    const out = corruption.apply(x, new Rng(0));
    expectTensorClose(out, [[4, 5]], EXACT);
    tf.dispose([x, out]);
  });
});

describe('featureMasking', () => {
  it('applyFeatureMasking writes the value at masked entries (hand-computed)', () => {
    const x = tf.tensor2d([[1, 2, 3], [4, 5, 6]]);
    const out = applyFeatureMasking(x, { mask: [true, false, true, false, false, true] }, { value: -1 });
    expectTensorClose(out, [[-1, 2, -1], [4, 5, -1]], EXACT);
    expect(out.dtype).toBe('float32');
    const zero = applyFeatureMasking(x, { mask: new Uint8Array([0, 1, 0, 0, 0, 0]) });
    expectTensorClose(zero, [[1, 0, 3], [4, 5, 6]], EXACT);
    tf.dispose([x, out, zero]);
  });

  it('draws one uniform per entry in row-major order (masked when < rate)', () => {
    const rng = new Rng(3);
    const replay = rng.clone();
    const { mask } = featureMasking({ rate: 0.3 }).sample([3, 4], rng);
    expect(Array.from(mask)).toEqual(Array.from({ length: 12 }, () => (replay.uniform() < 0.3 ? 1 : 0)));
    expect(rng.state()).toEqual(replay.state());
    const many = featureMasking({ rate: 0.3 }).sample([200, 50], new Rng(4)).mask;
    expect(Math.abs(sum(many) / 10000 - 0.3)).toBeLessThan(0.015);
  });

  it('apply and applyWithMask follow sample; the mask is float32 1/0; no leak', async () => {
    const x = tf.tensor2d(table(6, 7), [6, 7]);
    const masking = featureMasking({ rate: 0.4, value: 0.5 });
    await expectNoLeak(() => {
      const { mask } = masking.sample([6, 7], new Rng(8));
      const expected = applyFeatureMasking(x, { mask }, { value: 0.5 });
      const got = masking.apply(x, new Rng(8));
      const withMask = masking.applyWithMask(x, new Rng(8));
      expectTensorClose(got, expected, EXACT);
      expectTensorClose(withMask.output, expected, EXACT);
      expect(withMask.mask.dtype).toBe('float32');
      expect(withMask.mask.shape).toEqual([6, 7]);
      expectTensorClose(withMask.mask, numbers(mask), EXACT);
      const data = table(6, 7);
      expectTensorClose(got, data.map((v, e) => (mask[e] === 1 ? 0.5 : v)), EXACT);
      tf.dispose([expected, got, withMask.output, withMask.mask]);
    });
    x.dispose();
  });

  it('rate 0 copies, rate 1 masks everything', () => {
    const x = tf.tensor2d(table(2, 3), [2, 3]);
    const none = featureMasking({ rate: 0 }).apply(x, new Rng(0));
    const all = featureMasking({ rate: 1, value: 7 }).apply(x, new Rng(0));
    expectTensorClose(none, x, EXACT);
    expectTensorClose(all, [[7, 7, 7], [7, 7, 7]], EXACT);
    tf.dispose([x, none, all]);
  });

  it('is bit-identical on cpu and wasm', async () => {
    const { cpu, wasm } = await onBothBackends(() => featureMasking({ rate: 0.3 }).apply(tf.tensor2d(table(32, 11), [32, 11]), new Rng(2)));
    expect(cpu).toEqual(wasm);
  });

  it('rejects bad arguments', () => {
    expectContrastiveError(() => featureMasking({ rate: -0.1 }), 'INVALID_ARGUMENT', /'rate' passed to 'featureMasking' must be a finite number >= 0 and <= 1, got -0\.1/);
    expectContrastiveError(() => featureMasking({ value: NaN }), 'INVALID_ARGUMENT', /'value' passed to 'featureMasking' must be a finite number, got NaN/);
    expectContrastiveError(() => featureMasking().sample([2] as never, new Rng(0)), 'INVALID_ARGUMENT', /'shape' passed to 'featureMasking\.sample' must be \[n, f\], got \[2\]/);
    const x = tf.ones([2, 2]) as tf.Tensor2D;
    expectContrastiveError(() => applyFeatureMasking(x, { mask: [1, 0, 0] }), 'SHAPE_MISMATCH', /'params\.mask' passed to 'applyFeatureMasking' must have 4 entries \(n f = 2\*2\), got 3/);
    expectContrastiveError(() => applyFeatureMasking(x, { mask: [1, 0, 0, 0] }, { value: Infinity }), 'INVALID_ARGUMENT', /'value' .* got Infinity/);
    x.dispose();
  });
});

describe('tabularNoise', () => {
  it('applyTabularNoise adds std * eps (hand-computed and float64 reference)', () => {
    const x = tf.tensor2d([[1, 2]]);
    const out = applyTabularNoise(x, { epsilon: [1, -2] }, { std: 0.5 });
    expectTensorClose(out, [[1.5, 1]], EXACT);
    const data = table(5, 6);
    const epsilon = Array.from({ length: 30 }, (_, e) => Math.cos(e * 0.9) * 1.5);
    const y = tf.tensor2d(data, [5, 6]);
    const noisy = applyTabularNoise(y, { epsilon }, { std: 0.2 });
    expectTensorClose(noisy, data.map((v, e) => v + 0.2 * (epsilon[e] as number)), FLOAT32_TOLERANCE);
    tf.dispose([x, out, y, noisy]);
  });

  it('draws n f normals in row-major order; apply = applyTabularNoise(sample); statistics; no leak', async () => {
    const rng = new Rng(1);
    const replay = rng.clone();
    const { epsilon } = tabularNoise().sample([4, 3], rng);
    expect(Array.from(epsilon)).toEqual(Array.from(replay.normalArray(12)));
    expect(rng.state()).toEqual(replay.state());
    const x = tf.zeros([400, 50]) as tf.Tensor2D;
    await expectNoLeak(() => {
      const noise = tabularNoise({ std: 0.1 });
      const got = noise.apply(x, new Rng(2));
      const expected = applyTabularNoise(x, noise.sample([400, 50], new Rng(2)), { std: 0.1 });
      expectTensorClose(got, expected, EXACT);
      const values = got.dataSync();
      let sum = 0;
      let squares = 0;
      for (const v of values) {
        sum += v;
        squares += v * v;
      }
      expect(Math.abs(sum / values.length)).toBeLessThan(0.003);
      expect(Math.abs(Math.sqrt(squares / values.length) - 0.1)).toBeLessThan(0.003);
      tf.dispose([got, expected]);
    });
    x.dispose();
  });

  it('std 0 copies; is bit-identical on cpu and wasm', async () => {
    const x = tf.tensor2d(table(3, 3), [3, 3]);
    const copy = tabularNoise({ std: 0 }).apply(x, new Rng(0));
    expectTensorClose(copy, x, EXACT);
    tf.dispose([x, copy]);
    const { cpu, wasm } = await onBothBackends(() => tabularNoise({ std: 0.3 }).apply(tf.tensor2d(table(20, 13), [20, 13]), new Rng(3)));
    expect(cpu).toEqual(wasm);
  });

  it('rejects bad arguments', () => {
    expectContrastiveError(() => tabularNoise({ std: -1 }), 'INVALID_ARGUMENT', /'std' passed to 'tabularNoise' must be a finite number >= 0, got -1/);
    const x = tf.ones([1, 2]) as tf.Tensor2D;
    expectContrastiveError(() => applyTabularNoise(x, { epsilon: [1, NaN] }), 'INVALID_ARGUMENT', /'params\.epsilon\[1\]' passed to 'applyTabularNoise' must be a finite number, got NaN/);
    expectContrastiveError(() => applyTabularNoise(x, { epsilon: 3 as never }), 'INVALID_ARGUMENT', /'params\.epsilon' .* must be an array of 2 numbers, got 3/);
    x.dispose();
  });
});
