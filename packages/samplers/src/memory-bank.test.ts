import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@contrastive/core';
import { expectContrastiveError, expectNoLeak, expectTensorClose, useTestBackend } from '@contrastive/core/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { MemoryBank } from './memory-bank.js';

beforeAll(async () => {
  await useTestBackend();
});

type Rows = number[][];

function readBank(bank: MemoryBank): Rows {
  const { embeddings, labels } = bank.reference();
  try {
    return embeddings.arraySync();
  } finally {
    tf.dispose([embeddings, labels]);
  }
}

/** Float64 reference of one update: v_i <- normalize(m v_i + (1 - m) mean(f of i)), written as loops. */
function referenceUpdate(bank: Rows, indices: number[], features: Rows, momentum: number): Rows {
  const next = bank.map((row) => [...row]);
  const groups = new Map<number, number[]>();
  indices.forEach((index, row) => groups.set(index, [...(groups.get(index) ?? []), row]));
  for (const [index, rows] of groups) {
    const dim = bank[index]!.length;
    const blended: number[] = [];
    for (let j = 0; j < dim; j++) {
      let mean = 0;
      for (const row of rows) mean += features[row]![j]! / rows.length;
      blended.push(momentum * bank[index]![j]! + (1 - momentum) * mean);
    }
    const norm = Math.sqrt(blended.reduce((sum, value) => sum + value * value, 0));
    next[index] = blended.map((value) => value / Math.max(norm, 1e-12));
  }
  return next;
}

function randomRows(rng: Rng, n: number, dim: number, normalize = true): Rows {
  return Array.from({ length: n }, () => {
    const row = Array.from({ length: dim }, () => rng.normal());
    const norm = normalize ? Math.hypot(...row) : 1;
    return row.map((value) => value / norm);
  });
}

describe('MemoryBank', () => {
  it('starts with seeded random unit entries labelled by dataset index', () => {
    const bank = new MemoryBank({ size: 7, dim: 5, rng: new Rng(1) });
    expect(bank.momentum).toBe(0.5);
    const { embeddings, labels } = bank.reference();
    expect(embeddings.shape).toEqual([7, 5]);
    expect(Array.from(labels.dataSync())).toEqual([0, 1, 2, 3, 4, 5, 6]);
    for (const row of embeddings.arraySync()) expect(Math.hypot(...row)).toBeCloseTo(1, 6);
    const again = new MemoryBank({ size: 7, dim: 5, rng: new Rng(1) });
    expect(readBank(again)).toEqual(embeddings.arraySync());
    const other = new MemoryBank({ size: 7, dim: 5, rng: new Rng(2) });
    expect(readBank(other)).not.toEqual(embeddings.arraySync());
    tf.dispose([embeddings, labels]);
    for (const b of [bank, again, other]) b.dispose();
  });

  it.each([0.5, 0, 0.9, 1])('momentum %f: updates match a float64 reference over an epoch that cycles through the bank', (momentum) => {
    const size = 10;
    const dim = 4;
    const bank = new MemoryBank({ size, dim, momentum, rng: new Rng(5) });
    let expected = readBank(bank);
    const rng = new Rng(9);
    // Three epochs of batches of 4 indices from a permutation: every entry is updated each epoch.
    for (let epoch = 0; epoch < 3; epoch++) {
      const order = Array.from(rng.permutation(size));
      for (let start = 0; start < size; start += 4) {
        const indices = order.slice(start, start + 4);
        const features = randomRows(rng, indices.length, dim);
        const indexTensor = tf.tensor1d(indices, 'int32');
        const featureTensor = tf.tensor2d(features);
        const previous = readBank(bank);
        bank.update(indexTensor, featureTensor);
        tf.dispose([indexTensor, featureTensor]);
        expected = referenceUpdate(expected, indices, features, momentum);
        const got = readBank(bank);
        // Entries outside the batch are untouched, bit for bit.
        got.forEach((row, i) => {
          if (!indices.includes(i)) expect(row).toEqual(previous[i]);
        });
      }
    }
    const { embeddings, labels } = bank.reference();
    expectTensorClose(embeddings, expected);
    tf.dispose([embeddings, labels]);
    bank.dispose();
  });

  it('averages the features of an index listed twice in one update', () => {
    const bank = new MemoryBank({ size: 4, dim: 3, momentum: 0.5, rng: new Rng(3) });
    const before = readBank(bank);
    const features = [
      [1, 0, 0],
      [0, 1, 0],
      [0, 0, 1],
    ];
    const indices = tf.tensor1d([2, 0, 2], 'int32');
    const featureTensor = tf.tensor2d(features);
    bank.update(indices, featureTensor);
    const { embeddings, labels } = bank.reference();
    expectTensorClose(embeddings, referenceUpdate(before, [2, 0, 2], features, 0.5));
    tf.dispose([indices, featureTensor, embeddings, labels]);
    bank.dispose();
  });

  it('gets entries as detached copies, and updates inside the gradient change no gradient', () => {
    const bank = new MemoryBank({ size: 3, dim: 2, momentum: 0, rng: new Rng(0) });
    const x = tf.tensor2d([[3, 4], [0, -2]]);
    const c = tf.tensor2d([[1, 2], [-1, 0.5]]);
    const indices = tf.tensor1d([2, 0], 'int32');
    const grad = tf.grad((input: tf.Tensor) => {
      bank.update(indices, input as tf.Tensor2D);
      const entries = bank.get(indices);
      const all = bank.reference();
      return tf.add(tf.sum(tf.mul(input, c)), tf.add(tf.sum(entries), tf.sum(all.embeddings))) as tf.Scalar;
    })(x);
    expectTensorClose(grad, [[1, 2], [-1, 0.5]]);
    // Momentum 0: the entries are the normalised features.
    const got = bank.get(indices);
    expectTensorClose(got, [[0.6, 0.8], [0, -1]]);
    tf.dispose([x, c, indices, grad, got]);
    bank.dispose();
  });

  it('samples negatives uniformly with its generator, labelled by index, honouring exclude', () => {
    const bank = new MemoryBank({ size: 6, dim: 3, rng: new Rng(11) });
    const exclude = tf.tensor1d([1, 4], 'int32');
    const counts = new Map<number, number>();
    const draws = 6000;
    const { embeddings, labels } = bank.sampleNegatives(draws, { exclude });
    const values = Array.from(labels.dataSync());
    expect(embeddings.shape).toEqual([draws, 3]);
    for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
    expect([...counts.keys()].sort()).toEqual([0, 2, 3, 5]);
    // Each of the 4 allowed entries: 1500 expected, standard deviation ~33.
    for (const count of counts.values()) expect(Math.abs(count - 1500)).toBeLessThan(200);
    // The embeddings are the entries of the labels.
    const bankRows = readBank(bank);
    const rows = embeddings.arraySync();
    values.slice(0, 50).forEach((index, k) => expect(rows[k]).toEqual(bankRows[index]));
    tf.dispose([embeddings, labels]);
    // Without replacement: distinct; with an array exclude.
    const distinct = bank.sampleNegatives(5, { exclude: [3], replace: false });
    expect(new Set(distinct.labels.dataSync()).size).toBe(5);
    expect(Array.from(distinct.labels.dataSync())).not.toContain(3);
    const none = bank.sampleNegatives(0);
    expect(none.embeddings.shape).toEqual([0, 3]);
    tf.dispose([exclude, distinct.embeddings, distinct.labels, none.embeddings, none.labels]);
    // Same seed, same draws.
    const a = new MemoryBank({ size: 50, dim: 2, rng: new Rng(4) });
    const b = new MemoryBank({ size: 50, dim: 2, rng: new Rng(4) });
    const sa = a.sampleNegatives(20);
    const sb = b.sampleNegatives(20);
    expect(Array.from(sa.labels.dataSync())).toEqual(Array.from(sb.labels.dataSync()));
    tf.dispose([sa.embeddings, sa.labels, sb.embeddings, sb.labels]);
    for (const m of [bank, a, b]) m.dispose();
  });

  it('leaks no tensor over 1,000 updates, gets and samples', async () => {
    const bank = new MemoryBank({ size: 100, dim: 8, rng: new Rng(0) });
    const rng = new Rng(1);
    const features = tf.randomNormal([16, 8]) as tf.Tensor2D;
    const batches = Array.from({ length: 20 }, () => tf.tensor1d(rng.choice(100, 16), 'int32'));
    await expectNoLeak(() => {
      for (let i = 0; i < 1000; i++) {
        const indices = batches[i % batches.length] as tf.Tensor1D;
        bank.update(indices, features);
        if (i % 10 === 0) {
          const entries = bank.get(indices);
          const negatives = bank.sampleNegatives(32, { exclude: indices });
          tf.dispose([entries, negatives.embeddings, negatives.labels]);
        }
      }
    });
    tf.dispose([features, ...batches]);
    bank.dispose();
  });

  it('round-trips its state: entries and the generator of sampleNegatives', () => {
    // 7 x 3 = 21 normal draws at construction leave a cached spare normal in the generator state.
    const bank = new MemoryBank({ size: 7, dim: 3, momentum: 0.3, rng: new Rng(8) });
    const indices = tf.tensor1d([3, 6], 'int32');
    const features = tf.tensor2d([[1, 0, 0], [0, 1, 0]]);
    bank.update(indices, features);
    bank.sampleNegatives(5).labels.dispose();
    const state = bank.state();
    expect(state.map((t) => t.dtype)).toEqual(['float32', 'int32']);
    const restored = new MemoryBank({ size: 7, dim: 3, momentum: 0.3, rng: new Rng(99) });
    restored.load(state);
    tf.dispose(state);
    expect(readBank(restored)).toEqual(readBank(bank));
    const drawn = bank.sampleNegatives(10);
    const again = restored.sampleNegatives(10);
    expect(Array.from(again.labels.dataSync())).toEqual(Array.from(drawn.labels.dataSync()));
    // Neither a reference nor the loaded state changes when the banks are updated.
    const view = bank.reference();
    const viewRows = view.embeddings.arraySync();
    const source = restored.state();
    const sourceRows = source[0]!.arraySync();
    const copy = new MemoryBank({ size: 7, dim: 3, momentum: 0.3 });
    copy.load(source);
    bank.update(indices, features);
    restored.update(indices, features);
    copy.update(indices, features);
    expect(readBank(restored)).toEqual(readBank(bank));
    expect(readBank(copy)).toEqual(readBank(bank));
    expect(view.embeddings.arraySync()).toEqual(viewRows);
    expect(source[0]!.arraySync()).toEqual(sourceRows);
    tf.dispose([view.embeddings, view.labels, ...source]);
    copy.dispose();
    tf.dispose([indices, features, drawn.embeddings, drawn.labels, again.embeddings, again.labels]);
    bank.dispose();
    restored.dispose();
  });

  it('checks indices on the host before any write and rejects bad input with named errors', () => {
    expectContrastiveError(() => new MemoryBank({ size: 0, dim: 2 }), 'INVALID_ARGUMENT', /'size' passed to 'MemoryBank' must be an integer >= 1, got 0/);
    expectContrastiveError(() => new MemoryBank({ size: 3, dim: 2, momentum: 1.5 }), 'INVALID_ARGUMENT', /'momentum' .* must be a finite number >= 0 and <= 1, got 1.5/);
    const bank = new MemoryBank({ size: 10, dim: 2, rng: new Rng(0) });
    const before = readBank(bank);
    const features = tf.tensor2d([[1, 0], [0, 1]]);
    const outOfRange = tf.tensor1d([3, 10], 'int32');
    expectContrastiveError(() => bank.update(outOfRange, features), 'INVALID_ARGUMENT', /'indices' passed to 'MemoryBank.update' must hold dataset indices in \[0, 10\), got 10 at position 1/);
    const negative = tf.tensor1d([-1, 2], 'int32');
    expectContrastiveError(() => bank.update(negative, features), 'INVALID_ARGUMENT', /got -1 at position 0/);
    expectContrastiveError(() => bank.get(outOfRange), 'INVALID_ARGUMENT', /'indices' passed to 'MemoryBank.get' .* got 10/);
    expect(readBank(bank)).toEqual(before);
    const floatIndices = tf.tensor1d([1, 2]);
    expectContrastiveError(() => bank.update(floatIndices as tf.Tensor1D, features), 'DTYPE_MISMATCH', /'indices' .* must have dtype int32, got float32/);
    const ok = tf.tensor1d([1, 2], 'int32');
    const wide = tf.zeros([2, 3]) as tf.Tensor2D;
    expectContrastiveError(() => bank.update(ok, wide), 'SHAPE_MISMATCH', /'embeddings' .* must have 2 columns \(the bank's dim\), got 3/);
    const three = tf.zeros([3, 2]) as tf.Tensor2D;
    expectContrastiveError(() => bank.update(ok, three), 'SHAPE_MISMATCH', /'embeddings' .* must have 2 rows \(one per index\), got 3/);
    expectContrastiveError(() => bank.sampleNegatives(1.5), 'INVALID_ARGUMENT', /'count' .* must be an integer >= 0, got 1.5/);
    expectContrastiveError(() => bank.sampleNegatives(2, { exclude: [0, 10] }), 'INVALID_ARGUMENT', /'exclude' .* got 10 at position 1/);
    expectContrastiveError(() => bank.sampleNegatives(2, { exclude: [...Array(10).keys()] }), 'INVALID_ARGUMENT', /excludes all 10 entries/);
    expectContrastiveError(() => bank.sampleNegatives(9, { exclude: [0, 1], replace: false }), 'INVALID_ARGUMENT', /'count' .* must be <= 8 .* got 9/);
    const state = bank.state();
    const small = new MemoryBank({ size: 5, dim: 2 });
    expectContrastiveError(() => small.load(state), 'SHAPE_MISMATCH', /'state\[0\]' passed to 'MemoryBank.load' must have shape \[5, 2\], got \[10, 2\]/);
    expectContrastiveError(() => small.load([state[0]!]), 'INVALID_ARGUMENT', /must be an array of 2 tensors/);
    bank.dispose();
    expectContrastiveError(() => bank.update(ok, features), 'STATE', /'MemoryBank.update' was called after dispose\(\)/);
    tf.dispose([features, outOfRange, negative, floatIndices, ok, wide, three, ...state]);
    small.dispose();
  });
});
