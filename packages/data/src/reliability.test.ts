/**
 * Reliability battery of `@contrastive/data` (issue 9): every runtime export of the index has
 * bad-input cases (each a `ContrastiveError` with a stable code naming the argument, or `DATA`
 * naming the file) or a reason to be exempt; fast-check properties fuzz the IDX parser and the
 * batch gatherer. The file loaders of `@contrastive/data/node` are in `node/reliability.test.ts`,
 * malformed files in `corrupt-data.test.ts`.
 */
import fc from 'fast-check';
import * as tf from '@tensorflow/tfjs-core';
import { Rng, isContrastiveError } from '@contrastive/core';
import type { BatchSampler } from '@contrastive/core';
import { expectRejectsContrastive, exportCoverageGaps, useTestBackend } from '@contrastive/core/testing';
import type { BadInputCase, ExportCoverage } from '@contrastive/core/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import * as api from './index.js';
import type { IdxArray, ImageSplit } from './index.js';

beforeAll(async () => {
  await useTestBackend();
});

/** `count` 2x2x1 images with labels `i mod 3`. */
function synthetic(count: number, overrides: Partial<Record<keyof ImageSplit, unknown>> = {}): ImageSplit {
  return {
    images: new Float32Array(count * 4).map((_, i) => i / (count * 4)),
    labels: Int32Array.from({ length: count }, (_, i) => i % 3),
    count,
    shape: [2, 2, 1],
    ...overrides,
  } as ImageSplit;
}

/** A sampler returning the given batches every epoch. */
function fixedSampler(batches: number[][], batchesPerEpoch = batches.length): BatchSampler {
  return { name: 'fixed', batchesPerEpoch, epoch: () => batches.map((batch) => Int32Array.from(batch)) };
}

/** A uint8 IDX buffer: magic `0x00 0x00 0x08 ndims`, big-endian dims, then `values`. */
function idx(shape: number[], values: number[], type = 0x08): Uint8Array {
  const header = 4 + 4 * shape.length;
  const bytes = new Uint8Array(header + values.length);
  const view = new DataView(bytes.buffer);
  bytes.set([0, 0, type, shape.length]);
  shape.forEach((dim, d) => view.setUint32(4 + 4 * d, dim, false));
  bytes.set(values, header);
  return bytes;
}

const images3 = (): IdxArray => api.readIdx(idx([3, 2, 2], new Array(12).fill(7)));
const labels3 = (): IdxArray => api.readIdx(idx([3], [0, 1, 2]));

/** Run `source.batch(0, step)` of a `samplerBatches` source and dispose what it returns. */
async function batchOf(split: ImageSplit, sampler: BatchSampler, step: number): Promise<void> {
  const batch = await api.samplerBatches(split, sampler).batch(0, step, new Rng(0));
  tf.dispose([batch.inputs, batch.labels, ...(batch.indices === undefined ? [] : [batch.indices])]);
}

const coverage: Record<keyof typeof api, ExportCoverage> = {
  MNIST_CLASS_NAMES: { exempt: 'a frozen array of strings' },
  MNIST_TRAIN_PER_CLASS: { exempt: 'a number constant' },
  FASHION_MNIST_CLASS_NAMES: { exempt: 'a frozen array of strings' },
  loadMnist: [
    { what: 'trainLimit 0', run: () => api.loadMnist({ trainLimit: 0 }), code: 'INVALID_ARGUMENT', argument: 'trainLimit' },
    { what: 'non-integer trainLimit', run: () => api.loadMnist({ trainLimit: 2.5 }), code: 'INVALID_ARGUMENT', argument: 'trainLimit' },
    { what: 'NaN trainLimit', run: () => api.loadMnist({ trainLimit: NaN }), code: 'INVALID_ARGUMENT', argument: 'trainLimit' },
    { what: 'options not an object', run: () => api.loadMnist(null as unknown as object), code: 'INVALID_ARGUMENT', argument: 'options' },
  ],
  parseCsv: [
    { what: 'text not a string', run: () => api.parseCsv(5 as unknown as string), code: 'INVALID_ARGUMENT', argument: 'text' },
    { what: 'options not an object', run: () => api.parseCsv('a,b\n1,0\n', null as unknown as object), code: 'INVALID_ARGUMENT', argument: 'options' },
    { what: 'header not a boolean or auto', run: () => api.parseCsv('a,b\n1,0\n', { header: 'yes' as unknown as boolean }), code: 'INVALID_ARGUMENT', argument: 'header' },
    { what: 'an empty delimiter', run: () => api.parseCsv('a,b\n1,0\n', { delimiter: '' }), code: 'INVALID_ARGUMENT', argument: 'delimiter' },
    { what: 'a label column past the table', run: () => api.parseCsv('1,2,0\n', { labelColumn: 3 }), code: 'INVALID_ARGUMENT', argument: 'labelColumn' },
    { what: 'a label column name not in the header', run: () => api.parseCsv('a,b\n1,0\n', { labelColumn: 'class' }), code: 'INVALID_ARGUMENT', argument: 'labelColumn' },
    { what: 'a fractional label column', run: () => api.parseCsv('1,0\n', { labelColumn: 0.5 }), code: 'INVALID_ARGUMENT', argument: 'labelColumn' },
    { what: 'an empty text', run: () => api.parseCsv(''), code: 'DATA', argument: null },
    { what: 'a ragged row', run: () => api.parseCsv('1,2,0\n1,0\n'), code: 'DATA', argument: null },
  ],
  readIdx: [
    { what: 'bytes as a plain array', run: () => api.readIdx([0, 0, 8, 1, 0, 0, 0, 0] as unknown as Uint8Array), code: 'INVALID_ARGUMENT', argument: 'bytes' },
    { what: 'bytes null', run: () => api.readIdx(null as unknown as Uint8Array), code: 'INVALID_ARGUMENT', argument: 'bytes' },
    { what: 'options not an object', run: () => api.readIdx(idx([1], [1]), null as unknown as object), code: 'INVALID_ARGUMENT', argument: 'options' },
    { what: 'name not a string', run: () => api.readIdx(idx([1], [1]), { name: 5 as unknown as string }), code: 'INVALID_ARGUMENT', argument: 'name' },
    { what: 'an empty buffer', run: () => api.readIdx(new Uint8Array(0)), code: 'DATA', argument: null },
    { what: 'a truncated header', run: () => api.readIdx(idx([3, 2, 2], []).subarray(0, 9)), code: 'DATA', argument: null },
    { what: 'a wrong magic number', run: () => api.readIdx(new Uint8Array([0, 1, 8, 1, 0, 0, 0, 0])), code: 'DATA', argument: null },
    { what: 'dimensions claiming more bytes than there are', run: () => api.readIdx(idx([3, 2, 2], new Array(11).fill(0))), code: 'DATA', argument: null },
    { what: 'dimensions claiming fewer bytes than there are', run: () => api.readIdx(idx([3, 2, 2], new Array(13).fill(0))), code: 'DATA', argument: null },
  ],
  idxSplit: [
    { what: 'images null', run: () => api.idxSplit(null as unknown as IdxArray, labels3()), code: 'INVALID_ARGUMENT', argument: 'images' },
    { what: 'labels not an IdxArray', run: () => api.idxSplit(images3(), { shape: [3] } as unknown as IdxArray), code: 'INVALID_ARGUMENT', argument: 'labels' },
    {
      what: 'images whose data disagree with their shape',
      run: () => api.idxSplit({ dtype: 'uint8', shape: [3, 2, 2], data: new Uint8Array(5) }, labels3()),
      code: 'SHAPE_MISMATCH',
      argument: 'images',
    },
    { what: 'options not an object', run: () => api.idxSplit(images3(), labels3(), null as unknown as object), code: 'INVALID_ARGUMENT', argument: 'options' },
    { what: 'numClasses 0', run: () => api.idxSplit(images3(), labels3(), { numClasses: 0 }), code: 'INVALID_ARGUMENT', argument: 'numClasses' },
    { what: 'NaN numClasses', run: () => api.idxSplit(images3(), labels3(), { numClasses: NaN }), code: 'INVALID_ARGUMENT', argument: 'numClasses' },
    { what: 'non-integer numClasses', run: () => api.idxSplit(images3(), labels3(), { numClasses: 2.5 }), code: 'INVALID_ARGUMENT', argument: 'numClasses' },
    { what: 'images of rank 2', run: () => api.idxSplit(api.readIdx(idx([3, 4], new Array(12).fill(0))), labels3()), code: 'DATA', argument: null },
    { what: 'images with a zero dimension', run: () => api.idxSplit(api.readIdx(idx([3, 0, 2], [])), labels3()), code: 'DATA', argument: null },
    { what: 'labels of rank 2', run: () => api.idxSplit(images3(), api.readIdx(idx([3, 1], [0, 1, 2]))), code: 'DATA', argument: null },
    { what: 'label count differing from the image count', run: () => api.idxSplit(images3(), api.readIdx(idx([2], [0, 1]))), code: 'DATA', argument: null },
    { what: 'float labels', run: () => api.idxSplit(images3(), { dtype: 'float32', shape: [3], data: new Float32Array([0, 1, 2]) }), code: 'DATA', argument: null },
    { what: 'int16 pixels', run: () => api.idxSplit({ dtype: 'int16', shape: [3, 2, 2], data: new Int16Array(12) }, labels3()), code: 'DATA', argument: null },
    { what: 'a negative label', run: () => api.idxSplit(images3(), { dtype: 'int8', shape: [3], data: new Int8Array([0, -1, 2]) }), code: 'DATA', argument: null },
    { what: 'a label >= numClasses', run: () => api.idxSplit(images3(), labels3(), { numClasses: 2 }), code: 'DATA', argument: null },
  ],
  roundRobinLimit: [
    { what: 'split null', run: () => api.roundRobinLimit(null as unknown as ImageSplit, 2), code: 'INVALID_ARGUMENT', argument: 'split' },
    { what: 'limit 0', run: () => api.roundRobinLimit(synthetic(4), 0), code: 'INVALID_ARGUMENT', argument: 'limit' },
    { what: 'non-integer limit', run: () => api.roundRobinLimit(synthetic(4), 1.5), code: 'INVALID_ARGUMENT', argument: 'limit' },
    { what: 'float labels', run: () => api.roundRobinLimit(synthetic(4, { labels: new Float32Array(4) }), 2), code: 'DTYPE_MISMATCH', argument: 'split' },
    { what: 'label count differing from count', run: () => api.roundRobinLimit(synthetic(4, { labels: new Int32Array(3) }), 2), code: 'LABEL_COUNT', argument: 'split' },
    { what: 'pixels disagreeing with count and shape', run: () => api.roundRobinLimit(synthetic(4, { images: new Float32Array(15) }), 2), code: 'SHAPE_MISMATCH', argument: 'split' },
  ],
  toTensors: [
    { what: 'split null', run: () => api.toTensors(null as unknown as ImageSplit), code: 'INVALID_ARGUMENT', argument: 'split' },
    { what: 'shape of rank 2', run: () => api.toTensors(synthetic(2, { shape: [2, 2] })), code: 'SHAPE_MISMATCH', argument: 'split' },
    { what: 'a zero in shape', run: () => api.toTensors(synthetic(2, { shape: [2, 0, 1] })), code: 'SHAPE_MISMATCH', argument: 'split' },
    { what: 'negative count', run: () => api.toTensors(synthetic(2, { count: -1 })), code: 'INVALID_ARGUMENT', argument: 'split' },
    { what: 'float64 images', run: () => api.toTensors(synthetic(2, { images: new Float64Array(8) })), code: 'DTYPE_MISMATCH', argument: 'split' },
  ],
  gatherBatch: [
    { what: 'an index past the end', run: () => api.gatherBatch(synthetic(4), [0, 4]), code: 'INVALID_ARGUMENT', argument: 'indices' },
    { what: 'a negative index', run: () => api.gatherBatch(synthetic(4), [-1]), code: 'INVALID_ARGUMENT', argument: 'indices' },
    { what: 'a non-integer index', run: () => api.gatherBatch(synthetic(4), [1.5]), code: 'INVALID_ARGUMENT', argument: 'indices' },
    { what: 'a NaN index', run: () => api.gatherBatch(synthetic(4), [NaN]), code: 'INVALID_ARGUMENT', argument: 'indices' },
    { what: 'any index into an empty split', run: () => api.gatherBatch(synthetic(0), [0]), code: 'INVALID_ARGUMENT', argument: 'indices' },
    { what: 'indices null', run: () => api.gatherBatch(synthetic(4), null as unknown as number[]), code: 'INVALID_ARGUMENT', argument: 'indices' },
    { what: 'split with a label count differing from count', run: () => api.gatherBatch(synthetic(4, { count: 5 }), [0]), code: 'LABEL_COUNT', argument: 'split' },
  ],
  samplerBatches: [
    { what: 'split null', run: () => api.samplerBatches(null as unknown as ImageSplit, fixedSampler([[0]])), code: 'INVALID_ARGUMENT', argument: 'split' },
    { what: 'sampler null', run: () => api.samplerBatches(synthetic(4), null as unknown as BatchSampler), code: 'INVALID_ARGUMENT', argument: 'sampler' },
    { what: 'sampler with batchesPerEpoch 0', run: () => api.samplerBatches(synthetic(4), fixedSampler([], 0)), code: 'INVALID_ARGUMENT', argument: 'sampler' },
    { what: 'batch step past the epoch', run: () => batchOf(synthetic(4), fixedSampler([[0, 1]]), 1), code: 'INVALID_ARGUMENT', argument: 'step' },
    { what: 'negative batch step', run: () => batchOf(synthetic(4), fixedSampler([[0, 1]]), -1), code: 'INVALID_ARGUMENT', argument: 'step' },
    { what: 'a sampler returning fewer batches than it promised', run: () => batchOf(synthetic(4), fixedSampler([[0]], 2), 1), code: 'INVALID_ARGUMENT', argument: 'sampler' },
    { what: 'a sampler returning an index out of range', run: () => batchOf(synthetic(4), fixedSampler([[0, 9]]), 0), code: 'INVALID_ARGUMENT', argument: 'indices' },
  ],
};

describe('data reliability battery', () => {
  it('every export of the index has a case (or a reason to be exempt)', () => {
    expect(exportCoverageGaps(api, coverage)).toEqual({ missing: [], stale: [] });
  });

  for (const [name, entry] of Object.entries(coverage)) {
    if (!Array.isArray(entry)) continue;
    for (const bad of entry as readonly BadInputCase[]) {
      it(`${name}: ${bad.what}`, async () => {
        const before = tf.memory().numTensors;
        await expectRejectsContrastive(bad.run, bad.code, bad.argument);
        expect(tf.memory().numTensors).toBe(before);
      });
    }
  }

  it('documented finite results: a batch of one, an empty batch, an empty split', () => {
    const before = tf.memory().numTensors;
    const one = api.gatherBatch(synthetic(4), [3]);
    expect([one.images.shape, one.labels.shape]).toEqual([[1, 2, 2, 1], [1]]);
    const none = api.gatherBatch(synthetic(4), []);
    expect([none.images.shape, none.labels.shape]).toEqual([[0, 2, 2, 1], [0]]);
    const empty = api.toTensors(synthetic(0));
    expect(empty.images.shape).toEqual([0, 2, 2, 1]);
    tf.dispose([one.images, one.labels, none.images, none.labels, empty.images, empty.labels]);
    expect(api.roundRobinLimit(synthetic(0), 5).count).toBe(0);
    expect(api.roundRobinLimit(synthetic(3), 10).count).toBe(3);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('data properties (fast-check)', () => {
  it('readIdx on arbitrary bytes returns a consistent array or throws DATA, never anything else', () => {
    const header = fc.tuple(fc.constantFrom(0, 1), fc.constantFrom(0, 0x08, 0x09, 0x0b, 0x0c, 0x0d, 0x0e, 0x07), fc.integer({ min: 0, max: 3 }));
    const bytes = fc.tuple(header, fc.uint8Array({ maxLength: 40 })).map(([[zero, type, ndims], rest]) => Uint8Array.from([0, zero, type, ndims, ...rest]));
    fc.assert(
      fc.property(fc.oneof(bytes, fc.uint8Array({ maxLength: 12 })), (input) => {
        try {
          const array = api.readIdx(input, { name: 'fuzz.idx' });
          expect(array.shape.reduce((product, dim) => product * dim, 1)).toBe(array.data.length);
        } catch (error) {
          if (!isContrastiveError(error) || error.code !== 'DATA') throw error;
          expect(error.message).toMatch(/^IDX file 'fuzz\.idx' .*byte offset \d+/);
        }
      }),
      { numRuns: 300, seed: 9 },
    );
  });

  it('every proper prefix of a valid IDX file is "truncated at byte offset <its length>", every extension has trailing bytes', () => {
    const file = idx([3, 2, 2], Array.from({ length: 12 }, (_, i) => i));
    fc.assert(
      fc.property(fc.integer({ min: 0, max: file.length - 1 }), fc.uint8Array({ minLength: 1, maxLength: 5 }), (cut, extra) => {
        expect(() => api.readIdx(file.subarray(0, cut), { name: 'f' })).toThrow(new RegExp(`^IDX file 'f' is truncated at byte offset ${cut}:`));
        expect(() => api.readIdx(Uint8Array.from([...file, ...extra]), { name: 'f' })).toThrow(
          new RegExp(`^IDX file 'f' has ${extra.length} unexpected trailing byte\\(s\\) from byte offset ${file.length}:`),
        );
      }),
      { numRuns: 30, seed: 9 },
    );
  });

  it('gatherBatch: indices in range give [b, h, w, c] + [b]; any other index gives INVALID_ARGUMENT naming indices', () => {
    const split = synthetic(5);
    const before = tf.memory().numTensors;
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.integer({ min: -2, max: 7 }), fc.double()), { maxLength: 6 }), (indices) => {
        const valid = indices.every((index) => Number.isInteger(index) && index >= 0 && index < 5);
        if (!valid) {
          expect(() => api.gatherBatch(split, indices)).toThrow(/Argument 'indices' passed to 'gatherBatch'/);
          return;
        }
        const batch = api.gatherBatch(split, indices);
        try {
          expect(batch.images.shape).toEqual([indices.length, 2, 2, 1]);
          expect(Array.from(batch.labels.dataSync())).toEqual(indices.map((index) => index % 3));
        } finally {
          tf.dispose([batch.images, batch.labels]);
        }
      }),
      { numRuns: 30, seed: 9 },
    );
    expect(tf.memory().numTensors).toBe(before);
  });
});
