import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import type { WasmBackendLike } from './wasm-heap.js';
import { gramMatrix } from '../math.js';
import { addTransposeNative, broadcastLevels, nativeKernels } from './wasm-native.js';
import { expectSame, expectWithin1e5, on, shipped, useWasmWithCpuReference, values } from './wasm-parity.test.helpers.js';

beforeAll(async () => {
  await useWasmWithCpuReference();
});


// Edge values: zeros, infinities, NaN, denormals, the overflow/underflow thresholds of exp and the
// switch points of softplus; then a wide spread of ordinary values (sizes leave SIMD tails).
const EDGES = [0, -0, 1, -1, Number.NaN, Infinity, -Infinity, 1e-40, -1e-40, 1e-30, -1e-30, 88.7, 88.72, 88.8, -87.3, -100, -103.9, -104, -200,
  3.4e38, -3.4e38, 1e-7, -1e-7, -13.94, -13.95, 13.94, 13.95, 0.5, 2, 1e30, 1e-20];
function spread(size: number, seed: number, scale: number): number[] {
  return Array.from(values(size, seed), (v, i) => v * (i % 5 === 0 ? 10 * scale : scale));
}

describe('native element-wise kernels on wasm (native/kernels.c)', () => {
  it('instantiate on the backend heap', () => {
    expect(nativeKernels(tf.backend() as unknown as WasmBackendLike)).not.toBeNull();
    for (const name of [tf.Exp, tf.Log, tf.Softplus, tf.Sign, tf.Maximum, tf.Greater, tf.Equal, tf.Select, tf.Tile]) {
      expect(tf.getKernel(name, 'wasm')?.kernelFunc.toString(), name).toMatch(/Native|tileWasm/);
    }
  });

  const UNARY = [
    { name: 'Exp', op: (x: tf.Tensor) => tf.exp(x), domain: 1 },
    { name: 'Log', op: (x: tf.Tensor) => tf.log(x), domain: 1 },
    { name: 'Softplus', op: (x: tf.Tensor) => tf.softplus(x), domain: 1 },
  ];
  it.each(UNARY)('$name: within 1e-5 of cpu and of the shipped kernel, the same specials', async ({ name, op }) => {
    for (const size of [0, 1, 3, 4, 5, 17, 4099]) {
      const data = [...EDGES, ...spread(size, size + 1, 8), ...spread(size, size + 2, 60).map(Math.abs)];
      const input = (): tf.Tensor => tf.tensor1d(data);
      const ours = await on('wasm', () => op(input()));
      const cpu = await on('cpu', () => op(input()));
      const worst = expectWithin1e5(ours.data, cpu.data, `${name} vs cpu (size ${size})`);
      expect(worst, `${name}: worst relative error over normal results`).toBeLessThan(5e-7);
      const x = input();
      expectWithin1e5(ours.data, shipped(name, { x }), `${name} vs the shipped kernel`);
      x.dispose();
    }
  });

  it('Sign: exactly the sign (as cpu), also of values below 1.2e-7 that the shipped kernel calls 0', async () => {
    const data = [...EDGES, ...spread(1001, 3, 1e-6)];
    const ours = await on('wasm', () => tf.sign(tf.tensor1d(data)));
    const cpu = await on('cpu', () => tf.sign(tf.tensor1d(data)));
    expectSame(ours.data, cpu.data, 'Sign vs cpu');
    const x = tf.tensor1d([1e-30, 1e-8, -1e-8]);
    expect(shipped('Sign', { x })).toEqual([0, 0, 0]); // tfjs-backend-wasm 4.22's own, for the record
    x.dispose();
  });

  const SHAPES: [number[], number[]][] = [
    [[37, 45], [37, 45]],
    [[37, 45], [37, 1]],
    [[37, 45], [1, 45]],
    [[37, 1], [1, 45]],
    [[5, 6, 7], [1]],
    [[1], [5, 6, 7]],
    [[], [7, 9]],
    [[3, 4, 5], [3, 1, 5]], // three levels
    [[2, 3, 4, 5], [2, 1, 4, 1]], // four levels
    [[4, 1, 6], [1, 5, 1]],
    [[0, 3], [1, 3]],
  ];
  const BINARY = [
    ['Maximum', tf.maximum],
    ['Minimum', tf.minimum],
    ['Greater', tf.greater],
    ['GreaterEqual', tf.greaterEqual],
    ['Less', tf.less],
    ['LessEqual', tf.lessEqual],
    ['Equal', tf.equal],
    ['NotEqual', tf.notEqual],
  ] as const;
  /** Values on a coarse grid (ties) with NaN and infinities among them (float32). */
  function operand(shape: number[], dtype: 'float32' | 'int32', seed: number): tf.Tensor {
    const size = shape.reduce((a, b) => a * b, 1);
    const raw = Array.from(values(size, seed, 2), (v, i) =>
      dtype === 'int32' ? Math.round(v * 4) : i % 11 === 3 ? Number.NaN : i % 13 === 5 ? Infinity : i % 17 === 7 ? -Infinity : v,
    );
    return tf.tensor(raw, shape, dtype);
  }
  it.each(BINARY)('%s: bit-equal to cpu (NaN and signed zeros included) and to the shipped kernel, float32 and int32, every broadcast', async (name, op) => {
    for (const dtype of ['float32', 'int32'] as const) {
      for (const [aShape, bShape] of SHAPES) {
        const run = (): tf.Tensor => op(operand(aShape, dtype, 1), operand(bShape, dtype, 2));
        const ours = await on('wasm', run);
        const cpu = await on('cpu', run);
        const what = `${name} ${dtype} [${aShape}] vs [${bShape}]`;
        expect(ours.shape, what).toEqual(cpu.shape);
        expect(ours.dtype, what).toBe(cpu.dtype);
        expectSame(ours.data, cpu.data, `${what} vs cpu`);
        // The shipped Maximum/Minimum (std::max) drop a NaN in b; compare them on finite data.
        const minMax = name === 'Maximum' || name === 'Minimum';
        const a = minMax ? tf.tidy(() => tf.clipByValue(tf.where(tf.isNaN(operand(aShape, dtype, 1)), tf.zerosLike(operand(aShape, dtype, 1)), operand(aShape, dtype, 1)), -9, 9)) : operand(aShape, dtype, 1);
        const b = minMax ? tf.tidy(() => tf.clipByValue(tf.where(tf.isNaN(operand(bShape, dtype, 2)), tf.zerosLike(operand(bShape, dtype, 2)), operand(bShape, dtype, 2)), -9, 9)) : operand(bShape, dtype, 2);
        const expected = minMax ? Array.from(op(a, b).dataSync() as ArrayLike<number>) : ours.data;
        expectSame(expected, shipped(name, { a, b }), `${what} vs the shipped kernel`);
        tf.dispose([a, b]);
      }
    }
  });

  it('Select: bit-equal to cpu and the shipped kernel (float32, int32, broadcast operands)', async () => {
    for (const dtype of ['float32', 'int32'] as const) {
      for (const shape of [[1], [7], [4, 9], [3, 5, 17]]) {
        const run = (): tf.Tensor => tf.where(tf.greater(operand(shape, 'float32', 3), 0), operand(shape, dtype, 4), operand(shape, dtype, 5));
        const ours = await on('wasm', run);
        expectSame(ours.data, (await on('cpu', run)).data, `Select ${dtype} [${shape}]`);
        const x = operand(shape, 'float32', 3);
        const condition = tf.greater(x, 0);
        const t = operand(shape, dtype, 4);
        const e = operand(shape, dtype, 5);
        expectSame(ours.data, shipped('Select', { condition, t, e }), `Select ${dtype} [${shape}] vs the shipped kernel`);
        tf.dispose([x, condition, t, e]);
      }
    }
    const rows = (): tf.Tensor => tf.where(tf.tensor2d([[true], [false], [true]], [3, 1], 'bool'), tf.ones([3, 4]), tf.range(0, 4));
    expectSame((await on('wasm', rows)).data, (await on('cpu', rows)).data, 'Select with broadcast operands');
  });

  it('Tile: bit-equal to cpu for float32, int32 and bool, any reps', async () => {
    const cases: [number[], number[], tf.DataType][] = [
      [[3, 4, 5], [1, 1, 1], 'float32'],
      [[3, 4, 5], [2, 1, 3], 'float32'],
      [[3, 4, 5], [1, 5, 1], 'float32'],
      [[3, 4, 5], [4, 2, 2], 'float32'],
      [[1, 9], [9, 1], 'int32'],
      [[9, 1], [1, 7], 'int32'],
      [[9], [3], 'bool'],
      [[2, 0], [3, 2], 'float32'],
      [[], [], 'float32'],
      [[2, 1, 3, 1], [1, 4, 1, 5], 'int32'],
    ];
    for (const [shape, reps, dtype] of cases) {
      const run = (): tf.Tensor => {
        const x = operand(shape, dtype === 'int32' ? 'int32' : 'float32', 6);
        return tf.tile(dtype === 'bool' ? tf.greater(x, 0) : x, reps);
      };
      const ours = await on('wasm', run);
      const cpu = await on('cpu', run);
      expect(ours.shape).toEqual(cpu.shape);
      expect(ours.dtype).toBe(cpu.dtype);
      expectSame(ours.data, cpu.data, `Tile [${shape}] by [${reps}] (${dtype})`);
    }
  });

  it('leave no tensor or heap buffer behind', () => {
    const backend = tf.backend() as unknown as { numDataIds(): number };
    const a = tf.randomNormal([64, 33]);
    const b = tf.randomNormal([1, 33]);
    const before = [tf.memory().numTensors, backend.numDataIds()];
    tf.dispose(tf.tidy(() => [tf.exp(a), tf.log(a), tf.softplus(a), tf.sign(a), tf.maximum(a, b), tf.greater(a, b), tf.where(tf.less(a, 0), a, tf.neg(a)), tf.tile(b, [2, 1])]));
    expect([tf.memory().numTensors, backend.numDataIds()]).toEqual(before);
    tf.dispose([a, b]);
  });
});

describe('broadcastLevels', () => {
  it('merges dimensions into levels with element strides (0 where broadcast), outermost first', () => {
    expect(broadcastLevels([4, 5], [4, 5])?.levels).toEqual([{ size: 1, a: 20, b: 20 }, { size: 20, a: 1, b: 1 }]);
    expect(broadcastLevels([4, 5], [4, 1])?.levels).toEqual([{ size: 4, a: 5, b: 1 }, { size: 5, a: 1, b: 0 }]);
    expect(broadcastLevels([4, 1], [1, 5])).toEqual({ outShape: [4, 5], levels: [{ size: 4, a: 1, b: 0 }, { size: 5, a: 0, b: 1 }] });
    expect(broadcastLevels([], [3])?.levels).toEqual([{ size: 1, a: 1, b: 3 }, { size: 3, a: 0, b: 1 }]);
    expect(broadcastLevels([3, 4, 5], [3, 1, 5])?.levels).toEqual([{ size: 3, a: 20, b: 5 }, { size: 4, a: 5, b: 0 }, { size: 5, a: 1, b: 1 }]);
    expect(broadcastLevels([3], [4])).toBeUndefined();
  });
});

/** `[rows, cols]` row-major data transposed, in plain JavaScript (the reference of the native transposes). */
function transposed(data: ArrayLike<number>, rows: number, cols: number): number[] {
  const out = new Array<number>(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c] as number;
  return out;
}

describe('native transposes (blocks of 16, bands of 128 output rows)', () => {
  // Sizes with partial blocks, several bands and a band tail; 256 x 256 rows are a power-of-two apart.
  const SHAPES: [number, number][] = [[1, 1], [3, 5], [16, 16], [17, 33], [130, 257], [300, 129], [256, 256]];

  it.each(SHAPES)('tf.transpose of [%i, %i] float32 and int32 is the exact transpose', (rows, cols) => {
    const data = values(rows * cols, rows + cols);
    for (const dtype of ['float32', 'int32'] as const) {
      const x = tf.tensor2d(dtype === 'int32' ? data.map((v) => Math.round(v * 1000)) : data, [rows, cols], dtype);
      const out = tf.transpose(x);
      expect(out.shape).toEqual([cols, rows]);
      expectSame(Array.from(out.dataSync()), transposed(x.dataSync(), rows, cols), `${dtype} [${rows}, ${cols}]`);
      tf.dispose([x, out]);
    }
  });

  it('tf.transpose of a batch [3, 17, 130] (perm [0, 2, 1]) transposes each matrix', () => {
    const x = tf.tensor3d(values(3 * 17 * 130, 4), [3, 17, 130]);
    const out = tf.transpose(x, [0, 2, 1]);
    const data = x.dataSync();
    const expected = [0, 1, 2].flatMap((b) => transposed(data.subarray(b * 17 * 130, (b + 1) * 17 * 130), 17, 130));
    expectSame(Array.from(out.dataSync()), expected, 'batched');
    tf.dispose([x, out]);
  });

  it.each([5, 33, 130, 300])('the Gram matrix of [%i, 19] is the full product x·xᵀ bit for bit (upper tiles mirrored below)', (n) => {
    const x = tf.tensor2d(values(n * 19, n), [n, 19]);
    const gram = gramMatrix(x, 0.5);
    const full = tf.mul(tf.matMul(x, x, false, true), 0.5);
    expectSame(Array.from(gram.dataSync()), Array.from(full.dataSync()), `n = ${n}`);
    tf.dispose([x, gram, full]);
  });
});

describe('addTransposeNative', () => {
  it('is g + gᵀ exactly (odd sizes, blocks of 16, bands of 128 and their tails), and null off wasm', async () => {
    for (const n of [1, 5, 32, 33, 70, 130, 300]) {
      const g = tf.tensor2d(values(n * n, n), [n, n]);
      const ours = addTransposeNative(g) as tf.Tensor2D;
      const data = g.dataSync();
      const t = transposed(data, n, n);
      const reference = Array.from(data, (v, i) => Math.fround(v + (t[i] as number)));
      expectSame(Array.from(ours.dataSync()), reference, `n = ${n}`);
      tf.dispose([g, ours]);
    }
    // g + hᵀ of two matrices (the two directions of a symmetric cross-entropy).
    for (const n of [5, 33, 300]) {
      const g = tf.tensor2d(values(n * n, n), [n, n]);
      const h = tf.tensor2d(values(n * n, n + 7), [n, n]);
      const ours = addTransposeNative(g, h) as tf.Tensor2D;
      const t = transposed(h.dataSync(), n, n);
      expectSame(Array.from(ours.dataSync()), Array.from(g.dataSync(), (v, i) => Math.fround(v + (t[i] as number))), `g + hᵀ, n = ${n}`);
      tf.dispose([g, h, ours]);
    }
    const square = tf.zeros([3, 3]) as tf.Tensor2D;
    expect(() => addTransposeNative(square, tf.zeros([4, 4]) as tf.Tensor2D)).toThrow(/'h'/);
    expect(() => addTransposeNative(square, tf.zeros([3, 3], 'int32') as unknown as tf.Tensor2D)).toThrow(/'h'/);
    square.dispose();
    await tf.setBackend('cpu');
    try {
      const zeros = tf.zeros([2, 2]) as tf.Tensor2D;
      expect(addTransposeNative(zeros)).toBeNull();
      zeros.dispose();
    } finally {
      await tf.setBackend('wasm');
    }
  });
});

describe('infoNceRowsNative with non-finite logits', () => {
  it('a row of NaN (or NaN and -inf) gives NaN, not the 0 of an empty row; so does a NaN positive', async () => {
    const { infoNceRowsNative } = await import('./wasm-native.js');
    const nan = Number.NaN;
    const ninf = -Infinity;
    // Rows: all NaN (9 columns: SIMD blocks and a tail), NaN (the positive, column 1) among -inf,
    // finite with a NaN positive (column 2), ordinary with one NaN.
    const rows = [Array(9).fill(nan), [ninf, nan, ninf, ninf, ninf, ninf, ninf, ninf, ninf], [0, 1, nan, 3, 4, 5, 6, 7, 8], [0, 1, 2, 3, 4, 5, 6, 7, nan]];
    const block = tf.tensor2d(rows);
    const ids = tf.tensor1d([0, 1, 2, 3], 'int32');
    const cols = tf.tensor1d([0, 1, 2, 3, 4, 5, 6, 7, 8], 'int32');
    for (const kind of ['ntxent', 'supcon'] as const) {
      const out = infoNceRowsNative(kind, block, ids, cols, -1);
      expect(out).not.toBeNull();
      const data = Array.from((out as tf.Tensor).dataSync());
      expect(Number.isNaN(data[0]), `${kind} all NaN`).toBe(true);
      expect(Number.isNaN(data[1]), `${kind} NaN and -inf`).toBe(true);
      expect(Number.isNaN(data[2]), `${kind} NaN positive`).toBe(true);
      expect(Number.isNaN(data[3]), `${kind} one NaN`).toBe(true);
      out?.dispose();
    }
    tf.dispose([block, ids, cols]);
  });
});
