import { spawnSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

// Threads change process-wide state (the backend can be initialised once per process), so each
// configuration runs in a child Node process against the built package (npm test builds first).
const distIndex = pathToFileURL(fileURLToPath(new URL('../../dist/index.js', import.meta.url))).href;
const distNative = pathToFileURL(fileURLToPath(new URL('../../dist/backend/wasm-native.js', import.meta.url))).href;
const packageDir = fileURLToPath(new URL('../..', import.meta.url));

interface ChildResult {
  threads: number;
  values: number[];
  /** The native kernels' second thread ran. */
  pooled: boolean;
  /** Filter gradients by the native kernel (split over two threads when pooled). */
  filterGrads: number[];
  /** Kernels whose rows the two threads share in chunks. */
  nativeValues: number[];
  /** The kernels ran their relaxed-SIMD (fused multiply-add) build. */
  fma: boolean;
  /** Sizes of the tensors laid end to end in `values`, `filterGrads` and `nativeValues`. */
  sizes: { values: number[]; filterGrads: number[]; nativeValues: number[] };
}

function child(threads: number, nodeFlags: readonly string[] = [], xnnpackThreads?: number, fma: boolean | 'auto' = 'auto'): ChildResult {
  const source = `
    import * as tf from '@tensorflow/tfjs-core';
    import '@tensorflow/tfjs-layers';
    import * as wasm from '@tensorflow/tfjs-backend-wasm';
    import { selectBackend } from '${distIndex}';
    import { nativeKernelsReady } from '${distNative}';
    const selection = await selectBackend({ preference: 'wasm', log: false, fma: ${JSON.stringify(fma)}, ${threads > 1 ? `wasmThreads: ${threads},` : ''} ${xnnpackThreads === undefined ? '' : `xnnpackThreads: ${xnnpackThreads}`} });
    const a = tf.randomNormal([256, 300], 0, 1, 'float32', 1);
    const b = tf.randomNormal([300, 200], 0, 1, 'float32', 2);
    const x = tf.randomNormal([4, 28, 28, 3], 0, 1, 'float32', 3);
    const w = tf.randomNormal([3, 3, 3, 16], 0, 1, 'float32', 4);
    const out = [
      tf.matMul(a, b),
      tf.matMul(a, a, false, true),
      tf.conv2d(x, w, 1, 'same'),
      tf.grad((k) => tf.sum(tf.square(tf.conv2d(x, k, 1, 'same'))))(w),
      tf.grad((m) => tf.sum(tf.relu(tf.matMul(m, b))))(a),
    ];
    const values = out.flatMap((t) => Array.from(t.dataSync()));
    const pooled = await nativeKernelsReady(tf.backend());
    const filterSizes = [];
    const filterGrads = [];
    for (const [shape, filter] of [[[7, 14, 14, 32], [3, 3, 32, 64]], [[5, 28, 28, 1], [3, 3, 1, 32]], [[1, 9, 9, 5], [3, 3, 5, 7]]]) {
      const xs = tf.randomNormal(shape, 0, 1, 'float32', 5);
      const dy = tf.randomNormal([shape[0], shape[1], shape[2], filter[3]], 0, 1, 'float32', 6);
      const attrs = { strides: 1, pad: 'same', dataFormat: 'NHWC', filterShape: filter };
      const grad = tf.engine().runKernel('Conv2DBackpropFilter', { x: xs, dy }, attrs).dataSync();
      filterSizes.push(grad.length);
      filterGrads.push(...grad);
    }
    // The native kernels that split rows with the worker in chunks (gemm, Gram, InfoNCE rows, G + Gᵀ).
    const { adam, addTransposeNative, bilinearCropNative, contrastiveSelfLossNative, convEncoder, debiasedRowGradsNative, debiasedRowsNative, gramMatrix, infoNceRowsNative, infoNceRowGradsNative, lpDistance } = await import('${distIndex}');
    const e = tf.randomNormal([300, 64], 0, 1, 'float32', 7);
    const block = gramMatrix(e, 10);
    const ids = tf.tensor1d(Array.from({ length: 300 }, (_, i) => i % 150), 'int32');
    const dRow = tf.randomUniform([300], 0, 1, 'float32', 8);
    const chunked = [
      block,
      tf.matMul(tf.randomNormal([333, 200], 0, 1, 'float32', 9), tf.randomNormal([200, 301], 0, 1, 'float32', 10)),
      infoNceRowsNative('supcon', block, ids, ids, 0),
      infoNceRowGradsNative('supcon', block, ids, ids, 0, dRow),
      infoNceRowsNative('ntxent', block, ids, ids, 0),
      infoNceRowGradsNative('ntxent', block, ids, ids, 0, dRow),
      debiasedRowsNative(tf.div(block, 20), ids, ids, 0, { beta: 1, tauPlus: 0.1, clamp: true, temperature: 0.5 }),
      debiasedRowGradsNative(tf.div(block, 20), ids, ids, 0, { beta: 1, tauPlus: 0.1, clamp: true, temperature: 0.5 }, dRow),
      addTransposeNative(tf.randomNormal([300, 300], 0, 1, 'float32', 11)),
      // Transposes (output rows shared in ranges).
      tf.transpose(tf.randomNormal([300, 517], 0, 1, 'float32', 26)),
      tf.transpose(tf.randomNormal([1024, 256], 0, 1, 'float32', 27)),
      // Fractional arguments reach the worker unchanged (a Gram scale 1 / 0.07; the contrastive
      // gradient's 1 / count scales and a fractional margin).
      gramMatrix(e, 1 / 0.07),
      tf.grad((x) => contrastiveSelfLossNative(x, ids, { posMargin: 0.25, negMargin: 1.5 }))(e),
      tf.grad((x) => tf.sum(tf.mul(lpDistance().pairwise(x), tf.randomNormal([300, 300], 0, 1, 'float32', 12))))(e),
      tf.grad((x) => tf.sum(tf.mul(tf.maxPool(x, 2, 2, 'valid'), tf.randomNormal([16, 14, 14, 8], 0, 1, 'float32', 13))))(tf.randomNormal([16, 28, 28, 8], 0, 1, 'float32', 14)),
      // Winograd 3x3 convolutions: forward (+ bias, relu) and the input gradient.
      tf.fused.conv2d({ x: tf.randomNormal([9, 14, 14, 32], 0, 1, 'float32', 15), filter: tf.randomNormal([3, 3, 32, 64], 0, 0.1, 'float32', 16), strides: 1, pad: 'same', bias: tf.randomNormal([64], 0, 1, 'float32', 17), activation: 'relu' }),
      tf.grad((x) => tf.sum(tf.mul(tf.conv2d(x, tf.randomNormal([3, 3, 32, 64], 0, 0.1, 'float32', 18), 1, 'same'), tf.randomNormal([9, 14, 14, 64], 0, 1, 'float32', 19))))(tf.randomNormal([9, 14, 14, 32], 0, 1, 'float32', 20)),
      // The fused conv -> ReLU -> max-pool stages of convEncoder (direct and Winograd), with gradients.
      ...(() => {
        const encoder = convEncoder({ seed: 3 });
        const images = tf.randomUniform([24, 28, 28, 1], 0, 1, 'float32', 21);
        const { value, grads } = tf.variableGrads(() => tf.sum(tf.square(encoder.apply(images, { training: true }))), encoder.trainableVariables);
        return [value, ...encoder.trainableVariables.map((v) => grads[v.name])];
      })(),
      // The fused Adam step (its elements shared in ranges), two steps.
      ...(() => {
        const v = tf.variable(tf.randomNormal([3136, 128], 0, 0.1, 'float32', 22));
        const optimizer = adam(1e-3, 0.9, 0.999, 1e-8);
        for (let s = 0; s < 2; s++) optimizer.applyGradients([{ name: v.name, tensor: tf.randomNormal([3136, 128], 0, 0.01, 'float32', 23 + s) }]);
        return [v];
      })(),
      // The bilinear crop (boxes shared in ranges): 300 boxes of 28 x 28 from 8 images.
      (() => {
        const lines = (boxes, out, size, seed) => {
          const low = new Int32Array(boxes * out), high = new Int32Array(boxes * out), weight = new Float32Array(boxes * out);
          for (let i = 0; i < low.length; i++) {
            const p = ((i * 7919 + seed) % 1000) / 1000 * (size + 1) - 1;
            low[i] = p < 0 ? -1 : Math.floor(p);
            high[i] = p < 0 ? -1 : Math.min(size - 1, Math.ceil(p));
            weight[i] = p < 0 ? 0 : p - Math.floor(p);
          }
          return { low, high, weight };
        };
        const sources = Array.from({ length: 300 }, (_, i) => i % 8);
        return bilinearCropNative(tf.randomUniform([8, 28, 28, 1], 0, 1, 'float32', 25), sources, lines(300, 28, 28, 1), lines(300, 28, 28, 2), [28, 28]);
      })(),
    ];
    const nativeValues = chunked.flatMap((t) => Array.from(t.dataSync()));
    console.log(JSON.stringify({ threads: wasm.getThreadsCount(), values, pooled, filterGrads, nativeValues, fma: selection.fma, sizes: { values: out.map((t) => t.size), filterGrads: filterSizes, nativeValues: chunked.map((t) => t.size) } }));
  `;
  // No process.exit in the child: it must end on its own (the pool threads must not hold it).
  const result = spawnSync(process.execPath, [...nodeFlags, '--input-type=module', '-e', source], { cwd: packageDir, encoding: 'utf8', timeout: 60_000, maxBuffer: 64 * 1024 * 1024 });
  if (result.status !== 0) throw new Error(`child (threads ${threads}) exited with ${result.status ?? result.signal}: ${result.stderr}`);
  return JSON.parse(result.stdout.trim().split('\n').pop() as string) as ChildResult;
}

describe('selectBackend({ wasmThreads }) in Node.js', () => {
  it('runs the threaded wasm build with 2 threads, the same results as 1 thread (within 1e-5; the native filter gradient, row-chunked kernels, the fused Adam step and the bilinear crop bit-identical, on its own second thread), and exits by itself', () => {
    const one = child(1);
    const two = child(2, [], 2);
    expect(one.threads).toBe(1);
    expect(two.threads).toBe(2);
    expect(two.values.length).toBe(one.values.length);
    let worst = 0;
    two.values.forEach((value, i) => {
      const reference = one.values[i] as number;
      worst = Math.max(worst, Math.abs(value - reference) / Math.max(1, Math.abs(reference)));
    });
    expect(worst).toBeLessThanOrEqual(1e-5);
    // The native filter gradient splits the batch the same way on one thread or two: bit-identical.
    expect(one.pooled).toBe(false);
    expect(two.pooled).toBe(true);
    expect(two.filterGrads.length).toBe(3 * 3 * 32 * 64 + 3 * 3 * 32 + 3 * 3 * 5 * 7);
    expect(two.filterGrads).toEqual(one.filterGrads);
    // Row- and tile-chunked kernels (matMul, Gram, InfoNCE and hard-negative rows and their gradients, G + Gᵀ, the
    // Winograd convolutions, transposes; the filter gradient above is Winograd's for the 32 -> 64 case): bit-identical too.
    expect(two.nativeValues.length).toBe(300 * 300 + 333 * 301 + 300 + 300 * 300 + 300 + 300 * 300 + 300 + 300 * 300 + 300 * 300 + 300 * 300 + 300 * 517 + 1024 * 256 + 300 * 64 + 300 * 64 + 16 * 28 * 28 * 8 + 9 * 14 * 14 * 64 + 9 * 14 * 14 * 32 + 1 + 420352 + 3136 * 128 + 300 * 28 * 28);
    expect(two.nativeValues).toEqual(one.nativeValues);
    // ... and they are the right values: the fractional-scale Gram matrix is 1 / 0.07 times the plain one.
    const offset = 300 * 300 + 333 * 301 + 300 + 300 * 300 + 300 + 300 * 300 + 300 + 300 * 300 + 300 * 300 + 300 * 517 + 1024 * 256;
    let scaleError = 0;
    for (let i = 0; i < 300 * 300; i++) {
      const expected = (two.nativeValues[i] as number) / 10 / 0.07;
      scaleError = Math.max(scaleError, Math.abs((two.nativeValues[offset + i] as number) - expected) / Math.max(1, Math.abs(expected)));
    }
    expect(scaleError).toBeLessThan(1e-5);
  }, 120_000);

  it('by default (xnnpackThreads = wasmThreads - 1): XNNPACK on one thread, the toolkit kernels still on two, the same results', () => {
    const one = child(1);
    const split = child(2);
    expect(split.threads).toBe(1);
    expect(split.pooled).toBe(true);
    expect(split.nativeValues).toEqual(one.nativeValues);
    expect(split.filterGrads).toEqual(one.filterGrads);
  }, 120_000);

  it('fma: true runs the relaxed-SIMD build (fused multiply-adds; Node 20 behind its V8 flag): within 1e-5 of the standard build, and the same on 1 or 2 threads bit for bit', () => {
    const standard = child(1, [], undefined, false);
    const one = child(1, [], undefined, true);
    const two = child(2, [], 2, true);
    expect(standard.fma).toBe(false);
    expect(one.fma).toBe(true);
    expect(two.fma).toBe(true);
    expect(two.pooled).toBe(true);
    // Thread-independent under FMA too: each element is summed by one thread, in the same order.
    expect(two.nativeValues).toEqual(one.nativeValues);
    expect(two.filterGrads).toEqual(one.filterGrads);
    // Within 1e-5 of the multiply-then-add build on every product (matMul, Gram matrices, the
    // Winograd and direct convolutions, their input and filter gradients, the fused conv stages
    // and the encoder's gradients through them), relative to each tensor's largest magnitude (at
    // least 1): a sum of ~1,000 unit products that cancels to near 0 carries rounding of the
    // terms' size in either build. Kernels without products (G + Gᵀ, the transposes, the max-pool gradient, the
    // Adam step, the crop) are bit-identical. The InfoNCE / hard-negative rows and the contrastive
    // gradient read the Gram block at scale 10: logits of ±100s turn its last-bit changes into
    // relative changes of ~1e-5 in the softmax (as any reordering of the products would), so they
    // are checked bit for bit across threads above, not against the other build.
    const rowConsumers = new Set([2, 3, 4, 5, 6, 7, 12]);
    const parts = one.sizes.nativeValues.length;
    const noProducts = new Set([8, 9, 10, 14, parts - 2, parts - 1]);
    let worst = 0;
    let differing = 0;
    for (const part of ['values', 'filterGrads', 'nativeValues'] as const) {
      const ours = one[part];
      const reference = standard[part];
      expect(ours.length).toBe(reference.length);
      expect(one.sizes[part].reduce((a, b) => a + b, 0)).toBe(reference.length);
      let start = 0;
      one.sizes[part].forEach((size, index) => {
        const kind = part !== 'nativeValues' ? 'products' : rowConsumers.has(index) ? 'rows' : noProducts.has(index) ? 'exact' : 'products';
        if (kind === 'exact') expect(ours.slice(start, start + size)).toEqual(reference.slice(start, start + size));
        if (kind === 'products') {
          let scale = 1;
          for (let i = start; i < start + size; i++) scale = Math.max(scale, Math.abs(reference[i] as number));
          for (let i = start; i < start + size; i++) {
            if (ours[i] !== reference[i]) differing++;
            worst = Math.max(worst, Math.abs((ours[i] as number) - (reference[i] as number)) / scale);
          }
        }
        start += size;
      });
    }
    expect(worst).toBeLessThanOrEqual(1e-5);
    expect(differing).toBeGreaterThan(1000);
  }, 120_000);

  it('starts its workers when Node runs with V8 heap flags (which a worker may not inherit)', () => {
    const flagged = child(2, ['--max-old-space-size=3000'], 2);
    expect(flagged.threads).toBe(2);
    expect(flagged.pooled).toBe(true);
  }, 120_000);
});
