import * as tf from '@tensorflow/tfjs-core';
import { Rng, viewLabels } from '@contrastive/core';
import { expectContrastiveError, expectNoLeak, expectTensorClose, useTestBackend, valueRange } from '@contrastive/core/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Augmentation, compose } from './augmentation.js';
import { colorJitter } from './color-jitter.js';
import { gaussianNoise } from './gaussian-noise.js';
import { multiCrop } from './multi-crop.js';
import { randomResizedCrop } from './random-resized-crop.js';
import { viewGenerator } from './view-generator.js';

beforeAll(async () => {
  await useTestBackend();
});

const EXACT = { atol: 0, rtol: 0 };

describe('multiCrop', () => {
  it('hand-computed: full-image crops give the image (global) and its centre mean (1x1 local)', () => {
    // two 2x2 grey images [[0, 0.2], [0.4, 0.6]] and [[1, 0.5], [0.25, 0]]
    const images = tf.tensor4d([0, 0.2, 0.4, 0.6, 1, 0.5, 0.25, 0], [2, 2, 2, 1]);
    const crops = multiCrop({ globalCrops: 2, globalScale: [1, 1], localCrops: 3, localScale: [1, 1], localSize: [1, 1], ratio: [1, 1] });
    const views = crops.generate(images, new Rng(0));
    expect(views.global.length).toBe(2);
    expect(views.local.length).toBe(3);
    for (const view of views.global) {
      expect(view.shape).toEqual([2, 2, 2, 1]);
      expectTensorClose(view, images, { atol: 1e-7, rtol: 0 });
    }
    for (const view of views.local) {
      expect(view.shape).toEqual([2, 1, 1, 1]);
      expectTensorClose(view, [0.3, 0.4375], { atol: 1e-7, rtol: 0 });
    }
    tf.dispose([images, ...views.global, ...views.local]);
  });

  it('draws 5 uniforms per crop, globals view-major first, then locals; equals viewGenerator + compose (bit-exact)', () => {
    const images = tf.randomUniform([3, 12, 12, 1], 0, 1, 'float32', 1) as tf.Tensor4D;
    const augmentation = compose([colorJitter(), gaussianNoise()]);
    const options = { globalCrops: 2, globalScale: [0.4, 1] as const, localCrops: 3, localScale: [0.05, 0.4] as const, flipProbability: 0.5 };
    const crops = multiCrop({ ...options, augmentation });
    const rng = new Rng(11);
    const replay = rng.clone();
    const views = crops.generate(images, rng);
    const globalReference = viewGenerator({
      augmentation: compose([randomResizedCrop({ scale: options.globalScale, flipProbability: 0.5 }), augmentation]),
      views: 2,
    }).generate(images, replay);
    const localReference = viewGenerator({
      augmentation: compose([randomResizedCrop({ scale: options.localScale, flipProbability: 0.5, size: [5, 5] }), augmentation]),
      views: 3,
    }).generate(images, replay);
    expect(rng.state()).toEqual(replay.state());
    const globals = tf.concat(views.global);
    const locals = tf.concat(views.local);
    expect(locals.shape).toEqual([9, 5, 5, 1]); // 12 * 96 / 224 = 5.14 -> 5
    expectTensorClose(globals, globalReference, EXACT);
    expectTensorClose(locals, localReference, EXACT);
    // without augmentation (each view cropped on its own): exactly 5 (G + L) n uniforms, same crops
    const plain = new Rng(4);
    const plainViews = multiCrop({ globalCrops: 2, localCrops: 3 }).generate(images, plain);
    const counted = new Rng(4);
    for (let k = 0; k < 5 * 5 * 3; k++) counted.uniform();
    expect(plain.state()).toEqual(counted.state());
    const plainReplay = new Rng(4);
    const plainGlobal = viewGenerator({ augmentation: randomResizedCrop({ scale: [0.14, 1] }), views: 2 }).generate(images, plainReplay);
    const plainLocal = viewGenerator({ augmentation: randomResizedCrop({ scale: [0.05, 0.14], size: [5, 5] }), views: 3 }).generate(images, plainReplay);
    const plainGlobals = tf.concat(plainViews.global);
    const plainLocals = tf.concat(plainViews.local);
    expectTensorClose(plainGlobals, plainGlobal, EXACT);
    expectTensorClose(plainLocals, plainLocal, EXACT);
    tf.dispose([...plainViews.global, ...plainViews.local, plainGlobal, plainLocal, plainGlobals, plainLocals]);
    tf.dispose([images, globals, locals, globalReference, localReference, ...views.global, ...views.local]);
  });

  it('the crops of one image differ and each view has its own parameters (different seeds differ, same seed equal)', () => {
    const images = tf.randomUniform([4, 16, 16, 3], 0, 1, 'float32', 2) as tf.Tensor4D;
    const crops = multiCrop();
    const a = crops.generate(images, new Rng(5));
    const b = crops.generate(images, new Rng(5));
    const c = crops.generate(images, new Rng(6));
    a.global.forEach((view, v) => expectTensorClose(view, b.global[v] as tf.Tensor4D, EXACT));
    a.local.forEach((view, v) => expectTensorClose(view, b.local[v] as tf.Tensor4D, EXACT));
    expect(() => expectTensorClose(a.global[0] as tf.Tensor4D, c.global[0] as tf.Tensor4D, { atol: 1e-4, rtol: 0 })).toThrow();
    expect(() => expectTensorClose(a.global[0] as tf.Tensor4D, a.global[1] as tf.Tensor4D, { atol: 1e-4, rtol: 0 })).toThrow();
    expect(() => expectTensorClose(a.local[0] as tf.Tensor4D, a.local[1] as tf.Tensor4D, { atol: 1e-4, rtol: 0 })).toThrow();
    tf.dispose([images, ...a.global, ...a.local, ...b.global, ...b.local, ...c.global, ...c.local]);
  });

  it.each([
    [1, [28, 28], undefined, undefined, [28, 28], [12, 12]],
    [3, [32, 32], undefined, undefined, [32, 32], [14, 14]],
    [1, [28, 28], [20, 24] as const, undefined, [20, 24], [9, 10]],
    [3, [8, 8], [8, 8] as const, [3, 2] as const, [8, 8], [3, 2]],
    [4, [10, 6], undefined, undefined, [10, 6], [4, 3]],
  ])('sizes and dtype: c = %i, input %j, globalSize %j, localSize %j', (channels, [h, w], globalSize, localSize, expectedGlobal, expectedLocal) => {
    const images = tf.randomUniform([2, h as number, w as number, channels], 0, 1, 'float32', 3) as tf.Tensor4D;
    const views = multiCrop({ ...(globalSize ? { globalSize } : {}), ...(localSize ? { localSize } : {}) }).generate(images, new Rng(0));
    expect(views.global.length).toBe(2);
    expect(views.local.length).toBe(6);
    for (const view of views.global) expect(view.shape).toEqual([2, ...expectedGlobal, channels]);
    for (const view of views.local) expect(view.shape).toEqual([2, ...expectedLocal, channels]);
    for (const view of [...views.global, ...views.local]) {
      expect(view.dtype).toBe('float32');
      const [low, high] = valueRange(view);
      expect(low).toBeGreaterThanOrEqual(0);
      expect(high).toBeLessThanOrEqual(1);
    }
    tf.dispose([images, ...views.global, ...views.local]);
  });

  it('n = 1, one global crop and no local crop; 1x1 images', () => {
    const images = tf.fill([1, 1, 1, 3], 0.25) as tf.Tensor4D;
    const views = multiCrop({ globalCrops: 1, localCrops: 0 }).generate(images, new Rng(0));
    expect(views.local).toEqual([]);
    expect(views.global.length).toBe(1);
    expectTensorClose(views.global[0] as tf.Tensor4D, [0.25, 0.25, 0.25], EXACT);
    const both = multiCrop().generate(images, new Rng(0));
    expect(both.local[0]?.shape).toEqual([1, 1, 1, 3]); // local side max(1, round(1 * 96 / 224)) = 1
    tf.dispose([images, ...views.global, ...both.global, ...both.local]);
  });

  it('labels(n) = viewLabels(n, G + L); a loss sees globals then locals stacked view-major', () => {
    const crops = multiCrop({ globalCrops: 2, localCrops: 2 });
    const labels = crops.labels(3);
    expect(labels.dtype).toBe('int32');
    expect(Array.from(labels.dataSync())).toEqual([0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2]);
    expect(crops.globalCrops).toBe(2);
    expect(crops.localCrops).toBe(2);
    expect(crops.name).toBe('multiCrop');
    expectContrastiveError(() => crops.labels(0), 'INVALID_ARGUMENT', /'n' passed to 'multiCrop\.labels' must be an integer >= 1, got 0/);
    labels.dispose();
  });

  it('leaks nothing and never disposes its input, also when the augmentation throws or returns a bad shape', async () => {
    const images = tf.randomUniform([3, 10, 10, 1], 0, 1, 'float32', 4) as tf.Tensor4D;
    const failing: Augmentation = {
      name: 'failing',
      apply(x) {
        tf.add(x, 1);
        throw new Error('boom');
      },
    };
    let calls = 0;
    const failsOnLocals: Augmentation = {
      name: 'failsOnLocals',
      apply(x) {
        calls += 1;
        return calls === 1 ? (tf.clone(x) as tf.Tensor4D) : (tf.slice(x, [0, 0, 0, 0], [1, -1, -1, -1]) as tf.Tensor4D);
      },
    };
    const identity: Augmentation = { name: 'identity', apply: (x) => x };
    await expectNoLeak(() => {
      const views = multiCrop({ augmentation: colorJitter() }).generate(images, new Rng(0));
      tf.dispose([...views.global, ...views.local]);
      const same = multiCrop({ augmentation: identity }).generate(images, new Rng(0));
      tf.dispose([...same.global, ...same.local]);
      expect(() => multiCrop({ augmentation: failing }).generate(images, new Rng(0))).toThrow('boom');
      expectContrastiveError(
        () => multiCrop({ augmentation: failsOnLocals }).generate(images, new Rng(0)),
        'SHAPE_MISMATCH',
        /The augmentation 'failsOnLocals' applied by 'multiCrop\.generate' to 18 crops must return a \[18, h, w, c\] float32 tensor, got float32 \[1, 4, 4, 1\]/,
      );
    });
    expect(images.isDisposed).toBe(false);
    images.dispose();
  });

  it('rejects bad options and images with a named ContrastiveError', () => {
    expectContrastiveError(() => multiCrop({ globalCrops: 0 }), 'INVALID_ARGUMENT', /'globalCrops' passed to 'multiCrop' must be an integer >= 1, got 0/);
    expectContrastiveError(() => multiCrop({ localCrops: -1 }), 'INVALID_ARGUMENT', /'localCrops' passed to 'multiCrop' must be an integer >= 0, got -1/);
    expectContrastiveError(() => multiCrop({ globalScale: [0, 1] }), 'INVALID_ARGUMENT', /'globalScale\[0\]' passed to 'multiCrop' must be a finite number > 0 and <= 1, got 0/);
    expectContrastiveError(() => multiCrop({ localScale: [0.2, 0.1] }), 'INVALID_ARGUMENT', /'localScale' passed to 'multiCrop' must have low <= high, got \[0\.2, 0\.1\]/);
    expectContrastiveError(() => multiCrop({ ratio: [0, 1] }), 'INVALID_ARGUMENT', /'ratio\[0\]' passed to 'multiCrop'/);
    expectContrastiveError(() => multiCrop({ flipProbability: 2 }), 'INVALID_ARGUMENT', /'flipProbability' passed to 'multiCrop' must be a finite number >= 0 and <= 1, got 2/);
    expectContrastiveError(() => multiCrop({ globalSize: [0, 4] }), 'INVALID_ARGUMENT', /'globalSize\[0\]' passed to 'multiCrop' must be an integer >= 1, got 0/);
    expectContrastiveError(() => multiCrop({ localSize: [4] as never }), 'INVALID_ARGUMENT', /'localSize' passed to 'multiCrop' must be \[height, width\], got \[4\]/);
    expectContrastiveError(() => multiCrop({ augmentation: {} as Augmentation }), 'INVALID_ARGUMENT', /'augmentation' passed to 'multiCrop' must be an Augmentation/);
    expectContrastiveError(() => multiCrop(null as never), 'INVALID_ARGUMENT', /'options' passed to 'multiCrop' must be an object, got null/);
    const rank3 = tf.ones([2, 4, 4]);
    expectContrastiveError(() => multiCrop().generate(rank3 as never, new Rng(0)), 'SHAPE_MISMATCH', /'images' passed to 'multiCrop\.generate' must be rank 4, got rank 3/);
    rank3.dispose();
  });
});

describe('multiCrop.toViewGenerator', () => {
  it("'views': the global views of generate, stacked view-major, with viewLabels(n, G)", async () => {
    const inputs = tf.randomUniform([4, 12, 12, 1], 0, 1, 'float32', 5) as tf.Tensor4D;
    const labels = tf.tensor1d([7, 7, 3, 1], 'int32');
    const crops = multiCrop({ globalCrops: 3, augmentation: colorJitter() });
    const generator = crops.toViewGenerator();
    const rng = new Rng(9);
    const batch = await generator({ inputs, labels }, rng);
    const replay = new Rng(9);
    const views = crops.generate(inputs, replay);
    const stacked = tf.concat(views.global);
    expect(batch.inputs.shape).toEqual([12, 12, 12, 1]);
    expectTensorClose(batch.inputs, stacked, EXACT);
    expect(Array.from(batch.labels.dataSync())).toEqual(Array.from(viewLabels(4, 3).dataSync()));
    // only the global draws: the local ones are not made
    const globalsOnly = new Rng(9);
    tf.dispose(multiCrop({ globalCrops: 3, localCrops: 0, augmentation: colorJitter() }).generate(inputs, globalsOnly).global);
    expect(rng.state()).toEqual(globalsOnly.state());
    tf.dispose([inputs, labels, batch.inputs, batch.labels, stacked, ...views.global, ...views.local]);
  });

  it("'samples': the batch labels repeated G times; no leak; the batch is not disposed", async () => {
    const inputs = tf.randomUniform([3, 8, 8, 3], 0, 1, 'float32', 6) as tf.Tensor4D;
    const labels = tf.tensor1d([5, 2, 5], 'int32');
    await expectNoLeak(async () => {
      const batch = await multiCrop().toViewGenerator({ labels: 'samples' })({ inputs, labels }, new Rng(0));
      expect(batch.inputs.shape).toEqual([6, 8, 8, 3]);
      expect(Array.from(batch.labels.dataSync())).toEqual([5, 2, 5, 5, 2, 5]);
      const single = await multiCrop({ globalCrops: 1 }).toViewGenerator({ labels: 'samples' })({ inputs, labels }, new Rng(0));
      expect(single.labels).not.toBe(labels);
      expect(Array.from(single.labels.dataSync())).toEqual([5, 2, 5]);
      tf.dispose([batch.inputs, batch.labels, single.inputs, single.labels]);
    });
    expect(inputs.isDisposed || labels.isDisposed).toBe(false);
    tf.dispose([inputs, labels]);
  });

  it('rejects bad options and batches', () => {
    const crops = multiCrop();
    expectContrastiveError(() => crops.toViewGenerator({ labels: 'classes' as never }), 'INVALID_ARGUMENT', /'labels' passed to 'multiCrop\.toViewGenerator' must be one of "views", "samples", got "classes"/);
    const generator = crops.toViewGenerator({ labels: 'samples' });
    const flat = tf.ones([3, 16]);
    const images = tf.ones([3, 4, 4, 1]);
    const labels = tf.tensor1d([0, 1], 'int32');
    expectContrastiveError(() => generator({ inputs: flat, labels }, new Rng(0)), 'SHAPE_MISMATCH', /'batch\.inputs' passed to 'multiCrop\.viewGenerator' must be rank 4, got rank 2/);
    expectContrastiveError(() => generator({ inputs: images, labels }, new Rng(0)), 'LABEL_COUNT', /'batch\.labels' passed to 'multiCrop\.viewGenerator' must have 3 entries/);
    expectContrastiveError(() => generator(null as never, new Rng(0)), 'INVALID_ARGUMENT', /'batch' passed to 'multiCrop\.viewGenerator' must be a Batch/);
    tf.dispose([flat, images, labels]);
  });
});

describe('multiCrop across backends', () => {
  // The crop parameters are drawn on the host and identical; tf.image.cropAndResize (used by
  // randomResizedCrop as well) rounds its bilinear interpolation differently on cpu and wasm, by at
  // most 2 float32 ulps (measured 1.8e-7 on values in [0, 1]), so the views agree to 1e-6, not bitwise.
  it('same seed gives the same views on cpu and wasm (to 1e-6: cropAndResize rounding)', async () => {
    const original = tf.getBackend() as 'wasm' | 'cpu';
    const data = Float32Array.from({ length: 3 * 9 * 9 * 3 }, (_, i) => ((i * 53) % 97) / 96);
    const outputs: Float32Array[][] = [];
    for (const backend of ['cpu', 'wasm'] as const) {
      await useTestBackend(backend);
      expect(tf.getBackend()).toBe(backend);
      const images = tf.tensor4d(data, [3, 9, 9, 3]);
      const views = multiCrop({ flipProbability: 0.5 }).generate(images, new Rng(3));
      outputs.push([...views.global, ...views.local].map((view) => view.dataSync() as Float32Array));
      tf.dispose([images, ...views.global, ...views.local]);
    }
    await useTestBackend(original);
    const [cpu, wasm] = outputs as [Float32Array[], Float32Array[]];
    cpu.forEach((values, v) => {
      const other = wasm[v] as Float32Array;
      expect(other.length).toBe(values.length);
      let worst = 0;
      values.forEach((value, j) => {
        worst = Math.max(worst, Math.abs(value - (other[j] as number)));
      });
      expect(worst).toBeLessThan(1e-6);
    });
  });
});
