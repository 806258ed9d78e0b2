import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@contrastive/core';
import { expectContrastiveError, expectNoLeak, expectTensorClose, useTestBackend } from '@contrastive/core/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { MemoryQueue, detachedCompute } from './memory-queue.js';

beforeAll(async () => {
  await useTestBackend();
});

/** A plain-JS model of the ring buffer: slot -> [row, label]. */
class ModelQueue {
  readonly rows: (number[] | undefined)[];
  readonly labels: (number | undefined)[];
  head = 0;
  length = 0;
  constructor(readonly size: number) {
    this.rows = new Array<number[] | undefined>(size).fill(undefined);
    this.labels = new Array<number | undefined>(size).fill(undefined);
  }
  enqueue(rows: number[][], labels: number[]): void {
    rows.forEach((row, i) => {
      this.rows[this.head] = row;
      this.labels[this.head] = labels[i] as number;
      this.head = (this.head + 1) % this.size;
      this.length = Math.min(this.size, this.length + 1);
    });
  }
}

/** Distinct, exactly representable rows keyed by a running id. */
function batchRows(start: number, count: number, dim: number): number[][] {
  return Array.from({ length: count }, (_, i) => Array.from({ length: dim }, (__, j) => (start + i) * 4 + j * 0.25));
}

function readReference(queue: MemoryQueue): { rows: number[][]; labels: number[] } {
  const { embeddings, labels } = queue.reference();
  try {
    return { rows: embeddings.arraySync(), labels: Array.from(labels.dataSync()) };
  } finally {
    tf.dispose([embeddings, labels]);
  }
}

describe('MemoryQueue', () => {
  it('is FIFO with wrap-around in storage order, and every key keeps its label', () => {
    const size = 5;
    const dim = 3;
    const queue = new MemoryQueue({ size, dim });
    const model = new ModelQueue(size);
    let id = 0;
    for (const b of [2, 2, 3, 1, 4, 5, 7, 3]) {
      const rows = batchRows(id, b, dim);
      const labels = rows.map((_, i) => 100 + id + i);
      id += b;
      const keys = tf.tensor2d(rows);
      const keyLabels = tf.tensor1d(labels, 'int32');
      queue.enqueue(keys, keyLabels);
      tf.dispose([keys, keyLabels]);
      model.enqueue(rows, labels);
      expect(queue.length).toBe(model.length);
      expect(queue.pointer).toBe(model.head);
      const got = readReference(queue);
      expect(got.rows).toEqual(model.rows.slice(0, model.length));
      expect(got.labels).toEqual(model.labels.slice(0, model.length));
      // Label alignment: each stored row is the row that was enqueued with that label.
      got.rows.forEach((row, slot) => expect((row[0] as number) / 4 + 100).toBe(got.labels[slot]));
    }
    queue.dispose();
  });

  it('keeps the newest `size` keys of a batch larger than the queue, at the slots they would reach', () => {
    const queue = new MemoryQueue({ size: 3, dim: 1 });
    queue.enqueue(tf.tensor2d([[1]]), tf.tensor1d([1], 'int32'));
    queue.enqueue(tf.tensor2d([[2], [3], [4], [5], [6]]), tf.tensor1d([2, 3, 4, 5, 6], 'int32'));
    // Keys 2..6 go to slots 1, 2, 0, 1, 2: the last three (4, 5, 6) survive in slots 0, 1, 2.
    expect(readReference(queue)).toEqual({ rows: [[4], [5], [6]], labels: [4, 5, 6] });
    expect(queue.pointer).toBe(0);
    expect(queue.length).toBe(3);
    queue.dispose();
  });

  it('ignores an empty batch and handles a batch of one and a queue of one', () => {
    const queue = new MemoryQueue({ size: 1, dim: 2 });
    queue.enqueue(tf.zeros([0, 2]) as tf.Tensor2D, tf.zeros([0], 'int32') as tf.Tensor1D);
    expect(queue.length).toBe(0);
    expect(readReference(queue)).toEqual({ rows: [], labels: [] });
    queue.enqueue(tf.tensor2d([[1, 2]]), tf.tensor1d([7], 'int32'));
    queue.enqueue(tf.tensor2d([[3, 4]]), tf.tensor1d([8], 'int32'));
    expect(readReference(queue)).toEqual({ rows: [[3, 4]], labels: [8] });
    expect(queue.pointer).toBe(0);
    queue.dispose();
  });

  it('labels unlabelled keys -1, -2, ... in order of arrival, never equal to a label >= 0', () => {
    const queue = new MemoryQueue({ size: 4, dim: 1 });
    queue.enqueue(tf.tensor2d([[1], [2]]));
    queue.enqueue(tf.tensor2d([[3]]), tf.tensor1d([0], 'int32'));
    queue.enqueue(tf.tensor2d([[4], [5]]));
    expect(readReference(queue)).toEqual({ rows: [[5], [2], [3], [4]], labels: [-4, -2, 0, -3] });
    queue.clear();
    expect(queue.length).toBe(0);
    expect(queue.pointer).toBe(0);
    queue.enqueue(tf.tensor2d([[6]]));
    expect(readReference(queue)).toEqual({ rows: [[6]], labels: [-1] });
    queue.dispose();
  });

  it("starts full of seeded random unit keys labelled -1..-size with initialize 'random' (MoCo)", () => {
    const queue = new MemoryQueue({ size: 6, dim: 4, initialize: 'random', rng: new Rng(3) });
    expect(queue.length).toBe(6);
    expect(queue.pointer).toBe(0);
    const { rows, labels } = readReference(queue);
    expect(labels).toEqual([-1, -2, -3, -4, -5, -6]);
    for (const row of rows) expect(Math.hypot(...row)).toBeCloseTo(1, 6);
    const again = new MemoryQueue({ size: 6, dim: 4, initialize: 'random', rng: new Rng(3) });
    expect(readReference(again).rows).toEqual(rows);
    const other = new MemoryQueue({ size: 6, dim: 4, initialize: 'random', rng: new Rng(4) });
    expect(readReference(other).rows).not.toEqual(rows);
    // Unlabelled keys continue the sentinels.
    queue.enqueue(tf.tensor2d([[1, 0, 0, 0]]));
    expect(readReference(queue).labels).toEqual([-7, -2, -3, -4, -5, -6]);
    for (const q of [queue, again, other]) q.dispose();
  });

  it('returns references owned by the caller that later enqueues do not change', () => {
    const queue = new MemoryQueue({ size: 2, dim: 1 });
    queue.enqueue(tf.tensor2d([[1], [2]]), tf.tensor1d([1, 2], 'int32'));
    const first = queue.reference();
    queue.enqueue(tf.tensor2d([[3]]), tf.tensor1d([3], 'int32'));
    expectTensorClose(first.embeddings, [[1], [2]]);
    expect(Array.from(first.labels.dataSync())).toEqual([1, 2]);
    tf.dispose([first.embeddings, first.labels]);
    expect(readReference(queue)).toEqual({ rows: [[3], [2]], labels: [3, 2] });
    queue.dispose();
    // A partially filled queue's reference (a slice) too.
    const partial = new MemoryQueue({ size: 4, dim: 1 });
    partial.enqueue(tf.tensor2d([[1], [2]]), tf.tensor1d([1, 2], 'int32'));
    const slice = partial.reference();
    partial.enqueue(tf.tensor2d([[3], [4], [5]]), tf.tensor1d([3, 4, 5], 'int32'));
    expectTensorClose(slice.embeddings, [[1], [2]]);
    expect(Array.from(slice.labels.dataSync())).toEqual([1, 2]);
    expect(readReference(partial)).toEqual({ rows: [[5], [2], [3], [4]], labels: [5, 2, 3, 4] });
    tf.dispose([slice.embeddings, slice.labels]);
    partial.dispose();
  });

  it('copies keys detached: an enqueue inside the gradient changes no gradient', () => {
    const queue = new MemoryQueue({ size: 4, dim: 2 });
    queue.enqueue(tf.tensor2d([[10, 20]]), tf.tensor1d([0], 'int32'));
    const x = tf.tensor2d([[1, 2], [3, 4]]);
    const c = tf.tensor2d([[0.5, -1], [2, 3]]);
    const { value, grad } = tf.valueAndGrad((input: tf.Tensor) => {
      const keys = tf.mul(input, 2) as tf.Tensor2D;
      queue.enqueue(keys, tf.tensor1d([1, 2], 'int32'));
      // The memory now holds 2x: using it in the loss must not add gradient through the copy.
      const memory = queue.reference();
      return tf.add(tf.sum(tf.mul(input, c)), tf.sum(memory.embeddings)) as tf.Scalar;
    })(x);
    expectTensorClose(grad, [[0.5, -1], [2, 3]]);
    // value = sum(x * c) + (10 + 20 + 2 * (1 + 2 + 3 + 4)) = 16.5 + 50
    expectTensorClose(value, 66.5);
    expect(readReference(queue).rows).toEqual([[10, 20], [2, 4], [6, 8]]);
    tf.dispose([value, grad, x, c]);
    queue.dispose();
  });

  it('works inside optimizer.minimize: same update with and without the enqueue, no leak', async () => {
    const run = async (withQueue: boolean): Promise<number[][]> => {
      const weights = tf.variable(tf.tensor2d([[1, -1], [0.5, 2]]));
      const inputs = tf.tensor2d([[1, 2], [3, -1], [0, 1]]);
      const queue = new MemoryQueue({ size: 4, dim: 2 });
      const optimizer = tf.train.sgd(0.1);
      await expectNoLeak(() => {
        for (let step = 0; step < 5; step++) {
          const loss = optimizer.minimize(
            () => {
              const embeddings = tf.matMul(inputs, weights) as tf.Tensor2D;
              if (withQueue) queue.enqueue(embeddings);
              return tf.sum(tf.square(embeddings)) as tf.Scalar;
            },
            true,
            [weights],
          );
          loss?.dispose();
        }
      });
      const result = weights.arraySync();
      if (withQueue) {
        expect(queue.length).toBe(4);
        // The last step's keys were computed with the weights before its update.
      }
      queue.dispose();
      optimizer.dispose();
      tf.dispose([weights, inputs]);
      return result;
    };
    expect(await run(true)).toEqual(await run(false));
  });

  it('leaks no tensor over 1,000 enqueues and references', async () => {
    const queue = new MemoryQueue({ size: 64, dim: 8 });
    const keys = tf.randomNormal([24, 8]) as tf.Tensor2D;
    const labels = tf.range(0, 24, 1, 'int32') as tf.Tensor1D;
    await expectNoLeak(() => {
      for (let i = 0; i < 1000; i++) {
        queue.enqueue(keys, i % 2 === 0 ? labels : undefined);
        const ref = queue.reference();
        tf.dispose([ref.embeddings, ref.labels]);
      }
    });
    await expectNoLeak(() => tf.tidy(() => queue.enqueue(keys)));
    expect(queue.length).toBe(64);
    expect(queue.pointer).toBe((1001 * 24) % 64);
    tf.dispose([keys, labels]);
    queue.dispose();
  });

  it('round-trips its state: contents, pointer, length and the next unlabelled label', () => {
    const queue = new MemoryQueue({ size: 5, dim: 2 });
    queue.enqueue(tf.tensor2d([[1, 1], [2, 2], [3, 3]]));
    queue.enqueue(tf.tensor2d([[4, 4], [5, 5], [6, 6]]), tf.tensor1d([4, 5, 6], 'int32'));
    const state = queue.state();
    expect(state.map((t) => t.shape)).toEqual([[5, 2], [5], [3]]);
    expect(Array.from(state[2]!.dataSync())).toEqual([1, 5, -4]);
    const restored = new MemoryQueue({ size: 5, dim: 2 });
    restored.load(state);
    tf.dispose(state);
    expect(readReference(restored)).toEqual(readReference(queue));
    expect([restored.pointer, restored.length]).toEqual([queue.pointer, queue.length]);
    queue.enqueue(tf.tensor2d([[7, 7]]));
    restored.enqueue(tf.tensor2d([[7, 7]]));
    expect(readReference(restored)).toEqual(readReference(queue));
    expect(readReference(restored).labels).toEqual([6, -4, -3, 4, 5]);
    // Neither the saved state nor the loaded one shares storage with the queues.
    const saved = queue.state();
    const savedRows = saved[0]!.arraySync();
    const fresh = new MemoryQueue({ size: 5, dim: 2 });
    fresh.load(saved);
    queue.enqueue(tf.tensor2d([[8, 8], [9, 9]]));
    fresh.enqueue(tf.tensor2d([[8, 8], [9, 9]]));
    expect(saved[0]!.arraySync()).toEqual(savedRows);
    tf.dispose(saved);
    expect(readReference(fresh)).toEqual(readReference(queue));
    fresh.dispose();
    // A partially filled queue too.
    const partial = new MemoryQueue({ size: 5, dim: 2 });
    partial.enqueue(tf.tensor2d([[9, 9]]), tf.tensor1d([3], 'int32'));
    const partialState = partial.state();
    restored.load(partialState);
    tf.dispose(partialState);
    expect(readReference(restored)).toEqual({ rows: [[9, 9]], labels: [3] });
    for (const q of [queue, restored, partial]) q.dispose();
  });

  it('rejects bad options, keys, labels and states with named errors', () => {
    expectContrastiveError(() => new MemoryQueue({ size: 0, dim: 2 }), 'INVALID_ARGUMENT', /'size' passed to 'MemoryQueue' must be an integer >= 1, got 0/);
    expectContrastiveError(() => new MemoryQueue({ size: 4, dim: 1.5 }), 'INVALID_ARGUMENT', /'dim' .* got 1.5/);
    expectContrastiveError(
      () => new MemoryQueue({ size: 4, dim: 2, initialize: 'zeros' as never }),
      'INVALID_ARGUMENT',
      /'initialize' .* must be one of "empty", "random", got "zeros"/,
    );
    expectContrastiveError(() => new MemoryQueue({ size: 4, dim: 2, rng: 1 as never }), 'INVALID_ARGUMENT', /'rng' .* must be an Rng/);
    const queue = new MemoryQueue({ size: 4, dim: 2 });
    const wide = tf.zeros([2, 3]) as tf.Tensor2D;
    expectContrastiveError(() => queue.enqueue(wide), 'SHAPE_MISMATCH', /'keys' passed to 'MemoryQueue.enqueue' must have 2 columns \(the queue's dim\), got 3/);
    const keys = tf.zeros([2, 2]) as tf.Tensor2D;
    const floatLabels = tf.tensor1d([0, 1]);
    expectContrastiveError(() => queue.enqueue(keys, floatLabels), 'DTYPE_MISMATCH', /'labels' .* must have dtype int32, got float32/);
    const threeLabels = tf.tensor1d([0, 1, 2], 'int32');
    expectContrastiveError(() => queue.enqueue(keys, threeLabels), 'LABEL_COUNT', /'labels' .* must have 2 entries/);
    const intKeys = tf.zeros([2, 2], 'int32') as tf.Tensor2D;
    expectContrastiveError(() => queue.enqueue(intKeys), 'DTYPE_MISMATCH', /'keys' .* must have dtype float32, got int32/);
    expect(queue.length).toBe(0);
    const state = queue.state();
    const other = new MemoryQueue({ size: 3, dim: 2 });
    expectContrastiveError(() => other.load(state), 'SHAPE_MISMATCH', /'state\[0\]' passed to 'MemoryQueue.load' must have shape \[3, 2\], got \[4, 2\]/);
    expectContrastiveError(() => other.load(state.slice(0, 2)), 'INVALID_ARGUMENT', /'state' .* must be an array of 3 tensors/);
    const badMeta = [state[0]!, state[1]!, tf.tensor1d([2, 1, -1], 'int32')];
    expectContrastiveError(() => queue.load(badMeta), 'INVALID_ARGUMENT', /'state\[2\]' .* \[pointer, length, next label\] .* got \[2, 1, -1\]/);
    queue.dispose();
    queue.dispose();
    expectContrastiveError(() => queue.enqueue(keys), 'STATE', /'MemoryQueue.enqueue' was called after dispose\(\)/);
    expectContrastiveError(() => queue.reference(), 'STATE', /'MemoryQueue.reference'/);
    tf.dispose([wide, keys, floatLabels, threeLabels, intKeys, badMeta[2]!, ...state]);
    other.dispose();
  });

  it('detachedCompute leaves nothing on the tape: its result has no gradient path', () => {
    const x = tf.tensor1d([1, 2]);
    const grad = tf.grad((input: tf.Tensor) => tf.add(tf.sum(input), tf.sum(detachedCompute(() => tf.mul(input, 5)))) as tf.Scalar)(x);
    expectTensorClose(grad, [1, 1]);
    tf.dispose([x, grad]);
  });

  it('enqueues 256 keys at a time into a full 65,536 x 128 queue (timings are printed, not asserted)', () => {
    const queue = new MemoryQueue({ size: 65536, dim: 128, initialize: 'random' });
    const keys = tf.randomNormal([256, 128]) as tf.Tensor2D;
    queue.enqueue(keys);
    const times: number[] = [];
    for (let i = 0; i < 20; i++) {
      const started = performance.now();
      queue.enqueue(keys);
      times.push(performance.now() - started);
    }
    times.sort((a, b) => a - b);
    const median = times[10] as number;
    const started = performance.now();
    const ref = queue.reference();
    const referenceMs = performance.now() - started;
    tf.dispose([ref.embeddings, ref.labels]);
    console.log(
      `MemoryQueue.enqueue(256) into a full 65536 x 128 queue on ${tf.getBackend()}: median ${median.toFixed(2)} ms; reference() ${referenceMs.toFixed(2)} ms`,
    );
    expect(queue.length).toBe(65536);
    expect(Number.isFinite(median)).toBe(true);
    keys.dispose();
    queue.dispose();
  });
});
