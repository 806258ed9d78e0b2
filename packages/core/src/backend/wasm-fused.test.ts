import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { ContrastiveError } from '../errors.js';
import { lpDistance } from '../distances.js';
import { gramMatrix, l2Normalize, scaledMatMul, setNativeL2Normalize } from '../math.js';
import {
  collapsePermutation,
  contrastiveSelfLossNative,
  firstNonFiniteNative,
  nativeKernels,
  pairMarginGradNative,
  pairMarginSumsNative,
  pickRowsNative,
  type RowPickOptions,
} from './wasm-native.js';
import type { WasmBackendLike } from './wasm-heap.js';
import { expectSame, expectWithin1e5, on, shipped, useWasmWithCpuReference, values } from './wasm-parity.test.helpers.js';

// The native kernels of the loss and miner levers (issue 8) against the paths they replace: the
// backend's own kernels (bit-equal where the operation is exact), the tensor-op paths (within 1e-5)
// and float64 references written here.
beforeAll(async () => {
  await useWasmWithCpuReference();
});

const tensor = (shape: number[], seed: number, levels = 0): tf.Tensor => tf.tensor(values(shape.reduce((a, b) => a * b, 1), seed, levels), shape);
const ints = (list: number[]): tf.Tensor1D => tf.tensor1d(list, 'int32');

/** |a - b| <= 1e-5 · max |b| (sums of many products: float32 rounding grows with the largest entry). */
function expectScaled(actual: readonly number[], expected: readonly number[], what: string): void {
  expect(actual.length, what).toBe(expected.length);
  const scale = expected.reduce((worst, b) => Math.max(worst, Math.abs(b)), 1e-30);
  actual.forEach((a, i) => {
    if (Math.abs(a - (expected[i] as number)) > 1e-5 * scale) throw new Error(`${what}: element ${i} is ${a}, expected ${expected[i]} (scale ${scale})`);
  });
}

describe('Transpose, GatherV2, Unique: the native kernels equal the shipped ones', () => {
  it('collapsePermutation merges adjacent axes and drops size-1 ones', () => {
    expect(collapsePermutation([2, 3, 4], [0, 2, 1])).toEqual({ shape: [2, 3, 4], perm: [0, 2, 1] });
    expect(collapsePermutation([2, 3, 4, 5], [0, 1, 3, 2])).toEqual({ shape: [6, 4, 5], perm: [0, 2, 1] });
    expect(collapsePermutation([4, 1, 6], [2, 1, 0])).toEqual({ shape: [4, 6], perm: [1, 0] });
    expect(collapsePermutation([2, 3, 4], [1, 2, 0])).toEqual({ shape: [2, 12], perm: [1, 0] });
    expect(collapsePermutation([2, 3, 4], [1, 0, 2])).toEqual({ shape: [2, 3, 4], perm: [1, 0, 2] });
  });

  it.each([
    { shape: [5, 7], perm: [1, 0] },
    { shape: [1024, 128], perm: [1, 0] },
    { shape: [64, 1024], perm: [1, 0] },
    { shape: [3, 17, 9], perm: [0, 2, 1] },
    { shape: [2, 3, 4, 5], perm: [0, 1, 3, 2] },
    { shape: [4, 1, 6], perm: [2, 1, 0] },
    { shape: [2, 3, 4], perm: [1, 2, 0] },
    { shape: [2, 3, 4], perm: [1, 0, 2] },
    { shape: [0, 3], perm: [1, 0] },
  ])('Transpose $shape by $perm (float32 and int32)', ({ shape, perm }) => {
    const x = tensor(shape, 1);
    const xi = tf.cast(tf.mul(x, 1000), 'int32');
    for (const input of [x, xi]) {
      const ours = tf.transpose(input, perm);
      expect(ours.shape).toEqual(perm.map((axis) => shape[axis]));
      expectSame(Array.from(ours.dataSync()), shipped('Transpose', { x: input }, { perm }), `${input.dtype} ${shape} ${perm}`);
      ours.dispose();
    }
    tf.dispose([x, xi]);
  });

  it.each([
    { shape: [50, 13], indices: [7, 0, 49, 7], axis: 0 },
    { shape: [4, 9, 5], indices: [[2, 0], [8, 8]], axis: 1 },
    { shape: [4, 9, 5], indices: [4, 0, 1], axis: -1 },
    { shape: [6], indices: [5, 5, 0], axis: 0 },
    { shape: [6, 3], indices: [], axis: 0 },
  ])('GatherV2 of $shape at axis $axis (float32 and int32)', ({ shape, indices, axis }) => {
    const x = tensor(shape, 2);
    const xi = tf.cast(tf.mul(x, 1000), 'int32');
    const idx = tf.tensor(indices as number[], undefined, 'int32');
    for (const input of [x, xi]) {
      const ours = tf.gather(input, idx, axis);
      expectSame(Array.from(ours.dataSync()), shipped('GatherV2', { x: input, indices: idx }, { axis, batchDims: 0 }), `${input.dtype}`);
      ours.dispose();
    }
    tf.dispose([x, xi, idx]);
  });

  it('gather32 refuses an index out of range without writing (the kernel then defers to the shipped one)', () => {
    const backend = tf.backend() as unknown as WasmBackendLike;
    const native = nativeKernels(backend);
    expect(native).not.toBeNull();
    const x = tensor([4, 3], 3);
    const idx = ints([1, 4]);
    const out = tf.zeros([2, 3]);
    const offset = (t: tf.Tensor): number => backend.typedArrayFromHeap(t as unknown as tf.TensorInfo).byteOffset;
    expect(native?.gather32(offset(x), offset(idx), 1, 4, 2, 3, offset(out))).toBe(1);
    expect(Array.from(out.dataSync())).toEqual([0, 0, 0, 0, 0, 0]);
    tf.dispose([x, idx, out]);
  });

  it('Unique of int32 and float32 (NaN, -0 and 0) equals the cpu backend', async () => {
    for (const list of [
      tf.tensor1d([5, 3, 5, 1, 3, 3, -7], 'int32'),
      tf.tensor1d([0.5, NaN, -0, 0, NaN, 2, 0.5]),
      tf.tensor1d([], 'int32'),
    ]) {
      const data = Array.from(list.dataSync());
      const dtype = list.dtype;
      for (const part of ['values', 'indices'] as const) {
        const pick = (): tf.Tensor => tf.unique(tf.tensor1d(data, dtype))[part];
        const wasm = await on('wasm', pick);
        const cpu = await on('cpu', pick);
        expect(wasm.shape).toEqual(cpu.shape);
        expectSame(wasm.data, cpu.data, `${dtype} ${part}`);
      }
      list.dispose();
    }
  });
});

describe('matrix products: the native kernel', () => {
  it.each([
    { m: 1000, k: 77, n: 1001 },
    { m: 64, k: 2048, n: 64 },
    { m: 130, k: 129, n: 131 },
    // Last strips of 3 and 1 rows (a is packed in strips of 4; transposeA reads it in place).
    { m: 67, k: 61, n: 70 },
    { m: 65, k: 67, n: 65 },
  ])('matMul $m x $k x $n in the four transpose forms: within 1e-5 of cpu, bit-equal to XNNPACK in the plain form', async ({ m, k, n }) => {
    const a = tensor([m, k], 4);
    const b = tensor([k, n], 5);
    const plain = tf.matMul(a, b);
    expectSame(Array.from(plain.dataSync()), shipped('BatchMatMul', { a: tf.reshape(a, [1, m, k]), b: tf.reshape(b, [1, k, n]) }, { transposeA: false, transposeB: false }), 'plain vs XNNPACK');
    // Against float64: within 1e-5 of the sum of |a_ip b_pj| (float32 rounding of k products).
    const av = values(m * k, 4);
    const bv = values(k * n, 5);
    const ours = plain.dataSync();
    for (let i = 0; i < m; i += 3) {
      for (let j = 0; j < n; j += 2) {
        let exact = 0;
        let magnitude = 0;
        for (let p = 0; p < k; p++) {
          exact += (av[i * k + p] as number) * (bv[p * n + j] as number);
          magnitude += Math.abs((av[i * k + p] as number) * (bv[p * n + j] as number));
        }
        expect(Math.abs((ours[i * n + j] as number) - exact)).toBeLessThanOrEqual(1e-5 * magnitude);
      }
    }
    const at = tf.transpose(a);
    const bt = tf.transpose(b);
    for (const [left, right, ta, tb] of [[a, bt, false, true], [at, b, true, false], [at, bt, true, true]] as const) {
      const ours = tf.matMul(left, right, ta, tb);
      expectSame(Array.from(ours.dataSync()), Array.from(plain.dataSync()), `transposeA ${ta} transposeB ${tb}`);
      ours.dispose();
    }
    tf.dispose([a, b, plain, at, bt]);
  });

  it('gramMatrix: bit-equal to x·xᵀ (scaled once), exactly symmetric, its gradient within 1e-5 of the matMul path', async () => {
    for (const [n, d] of [[1024, 128], [37, 5], [9, 300]] as const) {
      const x = tensor([n, d], n) as tf.Tensor2D;
      const gram = gramMatrix(x);
      const product = tf.matMul(x, tf.transpose(x));
      expectSame(Array.from(gram.dataSync()), Array.from(product.dataSync()), `gram ${n} x ${d}`);
      const g = gram.arraySync() as number[][];
      for (let i = 0; i < n; i += 7) for (let j = 0; j < n; j += 5) expect(g[i]?.[j]).toBe(g[j]?.[i]);
      const scaled = gramMatrix(x, 1 / 0.07);
      const scaledRef = tf.mul(product, 1 / 0.07);
      expectSame(Array.from(scaled.dataSync()), Array.from(scaledRef.dataSync()), 'scaled');
      const w = tensor([n, n], 9);
      const ours = tf.grad((e: tf.Tensor) => tf.sum(tf.mul(gramMatrix(e as tf.Tensor2D, 2), w)))(x);
      const reference = tf.grad((e: tf.Tensor) => tf.sum(tf.mul(tf.mul(tf.matMul(e, e, false, true), 2), w)))(x);
      expectScaled(Array.from(ours.dataSync()), Array.from(reference.dataSync()), 'gradient');
      tf.dispose([x, gram, product, scaled, scaledRef, w, ours, reference]);
    }
    const cpu = await on('cpu', () => gramMatrix(tensor([33, 7], 3) as tf.Tensor2D, 0.5));
    const wasm = await on('wasm', () => gramMatrix(tensor([33, 7], 3) as tf.Tensor2D, 0.5));
    expectWithin1e5(wasm.data, cpu.data, 'wasm vs cpu');
  });

  it('scaledMatMul: bit-equal to scale · matMul (both forms), its gradients within 1e-5 of the matMul path, wasm within 1e-5 of cpu', async () => {
    for (const [m, k, n] of [[1024, 128, 1024], [37, 5, 70], [9, 300, 33]] as const) {
      for (const transposeB of [false, true]) {
        const a = tensor([m, k], m) as tf.Tensor2D;
        const b = tensor(transposeB ? [n, k] : [k, n], n + 1) as tf.Tensor2D;
        const ours = scaledMatMul(a, b, 1 / 0.07, transposeB);
        const reference = tf.mul(tf.matMul(a, b, false, transposeB), 1 / 0.07);
        expect(ours.shape).toEqual([m, n]);
        expectSame(Array.from(ours.dataSync()), Array.from(reference.dataSync()), `${m} x ${k} x ${n}, transposeB ${transposeB}`);
        const w = tensor([m, n], 9);
        const grads = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(scaledMatMul(x as tf.Tensor2D, y as tf.Tensor2D, -3, transposeB), w)))([a, b]);
        const refGrads = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(tf.mul(tf.matMul(x, y, false, transposeB), -3), w)))([a, b]);
        grads.forEach((g, i) => expectScaled(Array.from(g.dataSync()), Array.from((refGrads[i] as tf.Tensor).dataSync()), `gradient ${i}, transposeB ${transposeB}`));
        tf.dispose([a, b, ours, reference, w, ...grads, ...refGrads]);
      }
    }
    const cpu = await on('cpu', () => scaledMatMul(tensor([33, 7], 3) as tf.Tensor2D, tensor([40, 7], 4) as tf.Tensor2D, 0.5, true));
    const wasm = await on('wasm', () => scaledMatMul(tensor([33, 7], 3) as tf.Tensor2D, tensor([40, 7], 4) as tf.Tensor2D, 0.5, true));
    expectWithin1e5(wasm.data, cpu.data, 'wasm vs cpu');
  });

  it('scaledMatMul rejects bad input with a ContrastiveError naming the argument', () => {
    const a = tf.zeros([3, 2]) as tf.Tensor2D;
    expect(() => scaledMatMul(tf.zeros([3]) as unknown as tf.Tensor2D, a, 1)).toThrow(/'a'/);
    expect(() => scaledMatMul(a, tf.zeros([3, 2], 'int32') as unknown as tf.Tensor2D, 1)).toThrow(/'b'.*float32/);
    expect(() => scaledMatMul(a, tf.zeros([3, 2]) as tf.Tensor2D, 1)).toThrow(/'b'.*2 rows/);
    expect(() => scaledMatMul(a, tf.zeros([3, 2]) as tf.Tensor2D, 1, true)).not.toThrow();
    expect(() => scaledMatMul(a, a, Number.POSITIVE_INFINITY, true)).toThrow(/'scale'/);
    const gone = tf.zeros([2, 2]) as tf.Tensor2D;
    gone.dispose();
    expect(() => scaledMatMul(a, gone, 1)).toThrow(ContrastiveError);
  });

  it('gramMatrix rejects bad input with a ContrastiveError naming the argument', () => {
    expect(() => gramMatrix(tf.zeros([3]) as unknown as tf.Tensor2D)).toThrow(/'x'/);
    expect(() => gramMatrix(tf.zeros([3, 2], 'int32') as unknown as tf.Tensor2D)).toThrow(ContrastiveError);
    expect(() => gramMatrix(tf.zeros([3, 2]) as tf.Tensor2D, Number.NaN)).toThrow(/'scale'/);
  });
});

describe('lpDistance: the native Euclidean matrix equals the tensor path', () => {
  const withDuplicates = (): tf.Tensor2D => tf.tidy(() => {
    const x = tensor([40, 16], 11, 4) as tf.Tensor2D;
    // rows 3 and 5 equal (a zero distance), row 7 zero (normalisation floor)
    return tf.concat([tf.slice(x, [0, 0], [5, 16]), tf.slice(x, [3, 0], [1, 16]), tf.slice(x, [6, 0], [1, 16]), tf.zeros([1, 16]), tf.slice(x, [8, 0], [32, 16])]) as tf.Tensor2D;
  });

  it.each([
    { normalize: true, ref: false },
    { normalize: false, ref: false },
    { normalize: true, ref: true },
    { normalize: false, ref: true },
  ])('normalize $normalize, ref $ref: values and gradients within 1e-5', ({ normalize, ref }) => {
    const x = withDuplicates();
    const y = tensor([23, 16], 12) as tf.Tensor2D;
    const w = tensor([40, ref ? 23 : 40], 13);
    const fast = lpDistance({ normalize });
    const slow = lpDistance({ normalize, native: false });
    const before = tf.memory().numTensors;
    for (const [name, f] of [['a', 0], ['b', 1]] as const) {
      if (!ref && f === 1) continue;
      const run = (distance: typeof fast): { value: number[]; grad: number[] } =>
        tf.tidy(() => {
          const loss = (a: tf.Tensor, b: tf.Tensor): tf.Scalar => tf.sum(tf.mul(distance.pairwise(a as tf.Tensor2D, ref ? (b as tf.Tensor2D) : undefined), w));
          const value = Array.from(distance.pairwise(x, ref ? y : undefined).dataSync());
          const grad = ref ? (tf.grads(loss)([x, y])[f] as tf.Tensor) : tf.grad((a: tf.Tensor) => loss(a, a))(x);
          return { value, grad: Array.from(grad.dataSync()) };
        });
      const a = run(fast);
      const b = run(slow);
      expectWithin1e5(a.value, b.value, `values (${name})`);
      expectScaled(a.grad, b.grad, `gradient of ${name}`);
    }
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, y, w]);
  });

  it('rejects a native option that is not a boolean', () => {
    expect(() => lpDistance({ native: 'yes' as unknown as boolean })).toThrow(/'native'/);
  });
});

describe('l2Normalize: the native rows equal the tensor path', () => {
  it('values and gradients within 1e-5, zero rows included, no leak', () => {
    const x = tf.concat([tensor([37, 13], 21), tf.zeros([2, 13]), tf.fill([1, 13], 1e-20)]) as tf.Tensor2D;
    const w = tensor([40, 13], 22);
    const run = (native: boolean): { value: number[]; grad: number[] } => {
      const previous = setNativeL2Normalize(native);
      try {
        return tf.tidy(() => ({
          value: Array.from(l2Normalize(x).dataSync()),
          grad: Array.from(tf.grad((e: tf.Tensor) => tf.sum(tf.mul(l2Normalize(e as tf.Tensor2D), w)))(x).dataSync()),
        }));
      } finally {
        setNativeL2Normalize(previous);
      }
    };
    const before = tf.memory().numTensors;
    const fast = run(true);
    const slow = run(false);
    expect(tf.memory().numTensors).toBe(before);
    expectWithin1e5(fast.value, slow.value, 'values');
    expectWithin1e5(fast.grad, slow.grad, 'gradient');
    tf.dispose([x, w]);
  });
});

describe('row mining on the heap', () => {
  /** pickPerRow of the samplers, in float64 from the host values. */
  function reference(v: Float32Array, n: number, m: number, labels: number[], refLabels: number[], o: RowPickOptions): { index: number[]; value: number[] } {
    const index: number[] = [];
    const value: number[] = [];
    for (let i = 0; i < n; i++) {
      let best = 0;
      let at = -1;
      for (let j = 0; j < m; j++) {
        const same = refLabels[j] === labels[i];
        if (o.side === 'positive' ? !same || (o.selfPairs && i === j) : same) continue;
        const raw = v[i * m + j] as number;
        if (o.range !== undefined && !(raw >= o.range[0] && raw <= o.range[1])) continue;
        const d = o.isSimilarity ? -raw : raw;
        if (o.thresholds !== undefined && !(o.extreme === 'largest' ? d < (o.thresholds[i] as number) : d > (o.thresholds[i] as number))) continue;
        if (at < 0 ? !Number.isNaN(d) : o.extreme === 'largest' ? d > best : d < best) {
          best = d;
          at = j;
        }
      }
      index.push(at);
      value.push(at < 0 ? 0 : best);
    }
    return { index, value };
  }

  it('pickRowsNative equals the host scan for every side, extreme, range and threshold (ties to the first column)', () => {
    for (const [n, m, selfPairs] of [[33, 33, true], [20, 45, false], [7, 3, false]] as const) {
      const data = values(n * m, n + m, 4); // quantised: many ties
      const matrix = tf.tensor2d(data, [n, m]);
      const labels = Array.from({ length: n }, (_, i) => (i * 7) % 4);
      const refLabels = Array.from({ length: m }, (_, j) => (j * 5) % 4);
      const lt = ints(labels);
      const rt = ints(refLabels);
      const thresholds = Array.from(values(n, 99, 4));
      for (const side of ['positive', 'negative'] as const) {
        for (const extreme of ['largest', 'smallest'] as const) {
          for (const isSimilarity of [false, true]) {
            for (const extra of [{}, { range: [-0.5, 0.5] as [number, number] }, { thresholds }]) {
              const options: RowPickOptions = { side, extreme, selfPairs, isSimilarity, ...extra };
              const ours = pickRowsNative(matrix, lt, rt, options);
              const expected = reference(data, n, m, labels, refLabels, options);
              expect(Array.from(ours?.index ?? []), JSON.stringify({ n, m, side, extreme, isSimilarity, extra: Object.keys(extra) })).toEqual(expected.index);
              expect(Array.from(ours?.value ?? [])).toEqual(expected.value.map((x) => Math.fround(x)));
            }
          }
        }
      }
      tf.dispose([matrix, lt, rt]);
    }
  });

  it('firstNonFiniteNative finds the first NaN or infinity', () => {
    const data = values(1000, 5);
    const check = (list: Float32Array): number | null => {
      const t = tf.tensor1d(list);
      try {
        return firstNonFiniteNative(t);
      } finally {
        t.dispose();
      }
    };
    expect(check(data)).toBe(-1);
    for (const [at, bad] of [[0, Number.NaN], [999, Infinity], [517, -Infinity], [16, Number.NaN]] as const) {
      const copy = data.slice();
      copy[at] = bad;
      copy[999 - (at % 3)] = Number.NaN; // a later one must not win
      expect(check(copy)).toBe(Math.min(at, 999 - (at % 3)));
    }
    expect(check(new Float32Array(0))).toBe(-1);
  });

  it('rejects bad input with a ContrastiveError naming the argument', () => {
    const m = tf.zeros([3, 4]) as tf.Tensor2D;
    const l = ints([0, 1, 0]);
    const r = ints([0, 1, 0, 1]);
    const o: RowPickOptions = { side: 'positive', extreme: 'largest', selfPairs: false, isSimilarity: false };
    expect(() => pickRowsNative(m, r, r, o)).toThrow(/'labels'/);
    expect(() => pickRowsNative(m, l, l, o)).toThrow(/'refLabels'/);
    expect(() => pickRowsNative(m, l, r, { ...o, side: 'both' as 'positive' })).toThrow(/'options.side'/);
    expect(() => pickRowsNative(m, l, r, { ...o, range: [1, 0] })).toThrow(/'options.range'/);
    expect(() => pickRowsNative(m, l, r, { ...o, thresholds: [1] })).toThrow(/'options.thresholds'/);
    expect(() => firstNonFiniteNative(ints([1]))).toThrow(/'x'/);
    tf.dispose([m, l, r]);
  });
});

describe('pair margin sums (the contrastive loss of Hadsell et al. 2006)', () => {
  it.each([
    { n: 40, m: 40, selfPairs: true, isSimilarity: false, posMargin: 0, negMargin: 1 },
    { n: 33, m: 57, selfPairs: false, isSimilarity: false, posMargin: 0.3, negMargin: 0.8 },
    { n: 21, m: 21, selfPairs: true, isSimilarity: true, posMargin: 0.9, negMargin: 0.2 },
  ])('sums and gradient equal a float64 reference ($n x $m, similarity $isSimilarity)', (o) => {
    const data = values(o.n * o.m, 31, 8).map((x) => (o.isSimilarity ? x : Math.abs(x) * 1.5));
    const matrix = tf.tensor2d(data, [o.n, o.m]);
    const labels = Array.from({ length: o.n }, (_, i) => i % 5);
    const refLabels = Array.from({ length: o.m }, (_, j) => (j * 3) % 5);
    const lt = ints(labels);
    const rt = ints(refLabels);
    let ps = 0;
    let pc = 0;
    let ns = 0;
    let nc = 0;
    const grad: number[] = [];
    const posScale = 0.25;
    const negScale = -1.5;
    for (let i = 0; i < o.n; i++) {
      for (let j = 0; j < o.m; j++) {
        const d = data[i * o.m + j] as number;
        let g = 0;
        if (labels[i] === refLabels[j]) {
          const l = Math.fround(o.isSimilarity ? o.posMargin - d : d - o.posMargin);
          if (!(o.selfPairs && i === j) && l > 0) {
            ps += l;
            pc++;
            g = o.isSimilarity ? -posScale : posScale;
          }
        } else {
          const l = Math.fround(o.isSimilarity ? d - o.negMargin : o.negMargin - d);
          if (l > 0) {
            ns += l;
            nc++;
            g = o.isSimilarity ? negScale : -negScale;
          }
        }
        grad.push(Math.fround(g));
      }
    }
    const options = { selfPairs: o.selfPairs, isSimilarity: o.isSimilarity, posMargin: o.posMargin, negMargin: o.negMargin };
    const sums = pairMarginSumsNative(matrix, lt, rt, options);
    expect(sums?.positiveCount).toBe(pc);
    expect(sums?.negativeCount).toBe(nc);
    expect(Math.abs((sums?.positiveSum ?? 0) - ps)).toBeLessThanOrEqual(1e-6 * Math.max(1, ps));
    expect(Math.abs((sums?.negativeSum ?? 0) - ns)).toBeLessThanOrEqual(1e-6 * Math.max(1, ns));
    const g = pairMarginGradNative(matrix, lt, rt, options, posScale, negScale);
    expectSame(Array.from(g?.dataSync() ?? []), grad, 'gradient');
    tf.dispose([matrix, lt, rt, g as tf.Tensor]);
  });

  it('a NaN makes every sum NaN; bad arguments are rejected by name', () => {
    const matrix = tf.tensor2d([0.5, Number.NaN, 1, 2], [2, 2]);
    const l = ints([0, 1]);
    const options = { selfPairs: true, isSimilarity: false, posMargin: 0, negMargin: 1 };
    expect(Number.isNaN(pairMarginSumsNative(matrix, l, l, options)?.positiveSum)).toBe(true);
    expect(() => pairMarginSumsNative(matrix, l, l, { ...options, posMargin: Infinity })).toThrow(/'options.posMargin'/);
    expect(() => pairMarginGradNative(matrix, l, l, options, Number.NaN, 1)).toThrow(/'posScale'/);
    expect(() => pairMarginSumsNative(matrix, ints([0, 1, 2]), l, options)).toThrow(/'labels'/);
    tf.dispose([matrix, l]);
  });
});

describe("Relu's gradient: one native pass", () => {
  it('equals dy · cast(step(x)) bit for bit (NaN, ±0, infinities included)', () => {
    const xs = Float32Array.from([...values(997, 41), 0, -0, Number.NaN, Infinity, -Infinity, 1e-45, -1e-45]);
    const dys = Float32Array.from([...values(997, 42), Infinity, -Infinity, 2, Number.NaN, 3, -4, 5]);
    const x = tf.tensor1d(xs);
    const dy = tf.tensor1d(dys);
    const ours = tf.tidy(() => tf.grad((e: tf.Tensor) => tf.sum(tf.mul(tf.relu(e), dy)))(x));
    const reference = tf.tidy(() => tf.mul(dy, tf.cast(tf.step(x), 'float32')));
    expectSame(Array.from(ours.dataSync()), Array.from(reference.dataSync()), 'relu gradient');
    tf.dispose([x, dy, ours, reference]);
  });
});

describe('Slice: block copies on the heap equal the shipped kernel', () => {
  it.each([
    { shape: [512, 28, 28, 1], begin: [256, 0, 0, 0], size: [256, 28, 28, 1] },
    { shape: [7, 9], begin: [2, 3], size: [4, 5] },
    { shape: [3, 4, 5, 6], begin: [1, 0, 2, 1], size: [2, -1, 3, 4] },
    { shape: [10], begin: [3], size: [0] },
    { shape: [2, 3, 4], begin: [0, 1, 0], size: [2, 2, 4] },
  ])('$shape from $begin size $size (float32 and int32)', ({ shape, begin, size }) => {
    const x = tensor(shape, 51);
    const xi = tf.cast(tf.mul(x, 1000), 'int32');
    for (const input of [x, xi]) {
      const ours = tf.slice(input, begin, size);
      expectSame(Array.from(ours.dataSync()), shipped('Slice', { x: input }, { begin, size }), `${input.dtype}`);
      ours.dispose();
    }
    tf.dispose([x, xi]);
  });
});

describe('contrastiveSelfLossNative: the whole loss equals the tensor path', () => {
  /** PML's ContrastiveLoss with AvgNonZeroReducer over lpDistance({ normalize: false, native: false }), as tensor ops. */
  function reference(x: tf.Tensor2D, labels: number[], posMargin: number, negMargin: number): tf.Scalar {
    const n = x.shape[0];
    const d = lpDistance({ normalize: false, native: false }).pairwise(x);
    const same = tf.tensor2d(labels.flatMap((a, i) => labels.map((b, j) => (a === b && i !== j ? 1 : 0))), [n, n]);
    const different = tf.tensor2d(labels.flatMap((a) => labels.map((b) => (a !== b ? 1 : 0))), [n, n]);
    // The non-zero count is a constant of the step (read back; Greater has no gradient).
    const term = (losses: tf.Tensor): tf.Tensor => tf.div(tf.sum(losses), Math.max(1, Array.from(losses.dataSync()).filter((v) => v > 0).length));
    return tf.add(term(tf.mul(tf.relu(tf.sub(d, posMargin)), same)), term(tf.mul(tf.relu(tf.sub(negMargin, d)), different))) as tf.Scalar;
  }

  it.each([
    { n: 64, classes: 32, posMargin: 0, negMargin: 1, normalize: true },
    { n: 45, classes: 5, posMargin: 0.2, negMargin: 0.9, normalize: true },
    { n: 30, classes: 3, posMargin: 0.5, negMargin: 4, normalize: false },
    { n: 8, classes: 1, posMargin: 0, negMargin: 1, normalize: true },
  ])('n $n, $classes classes, margins $posMargin / $negMargin: value and gradient within 1e-5, no leak', ({ n, classes, posMargin, negMargin, normalize }) => {
    const raw = tensor([n, 16], n + classes) as tf.Tensor2D;
    const labels = Array.from({ length: n }, (_, i) => i % classes);
    const ids = ints(labels);
    const rows = (e: tf.Tensor): tf.Tensor2D => (normalize ? l2Normalize(e as tf.Tensor2D) : (e as tf.Tensor2D));
    const before = tf.memory().numTensors;
    const ours = tf.tidy(() => {
      const { value, grad } = tf.valueAndGrad((e: tf.Tensor) => contrastiveSelfLossNative(rows(e), ids, { posMargin, negMargin }) as tf.Scalar)(raw);
      return [value.dataSync()[0] as number, Array.from(grad.dataSync())] as const;
    }) as unknown as readonly [number, number[]];
    const expected = tf.tidy(() => {
      const { value, grad } = tf.valueAndGrad((e: tf.Tensor) => reference(rows(e), labels, posMargin, negMargin))(raw);
      return [value.dataSync()[0] as number, Array.from(grad.dataSync())] as const;
    }) as unknown as readonly [number, number[]];
    expect(tf.memory().numTensors).toBe(before);
    expect(Math.abs(ours[0] - expected[0])).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(expected[0])));
    expectScaled(ours[1], expected[1], 'gradient');
    tf.dispose([raw, ids]);
  });
});
