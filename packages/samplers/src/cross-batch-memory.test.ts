import * as tf from '@tensorflow/tfjs-core';
import { Rng, disposeTrainState, mlpEncoder, train } from '@contrastive/core';
import type { BatchSource, Miner, MinerInput, TrainState, Tuples } from '@contrastive/core';
import { checkGradients, expectContrastiveError, expectNoLeak, expectTensorClose, useTestBackend } from '@contrastive/core/testing';
import { contrastiveLoss, tripletMarginLoss } from '@contrastive/losses';
import { beforeAll, describe, expect, it } from 'vitest';
import { crossBatchMemory } from './cross-batch-memory.js';

beforeAll(async () => {
  await useTestBackend();
});

type Rows = number[][];

// ---------------------------------------------------------------------------------------------
// Float64 references, written as obvious loops.
// ---------------------------------------------------------------------------------------------

/** PML's default LpDistance: Euclidean distance of L2-normalised rows. */
function distance(a: number[], b: number[]): number {
  const na = Math.hypot(...a);
  const nb = Math.hypot(...b);
  let sum = 0;
  for (let j = 0; j < a.length; j++) sum += (a[j]! / na - b[j]! / nb) ** 2;
  return Math.sqrt(sum);
}

function meanNonZero(values: number[]): number {
  const nonZero = values.filter((value) => value > 0);
  return nonZero.length === 0 ? 0 : nonZero.reduce((sum, value) => sum + value, 0) / nonZero.length;
}

/** A plain-JS model of the memory: storage order, ring buffer, the batch's own slots. */
class ModelMemory {
  rows: Rows = [];
  labels: number[] = [];
  head = 0;
  constructor(readonly size: number) {}
  /** Enqueues a batch (as float32 values) and returns the slot of each row's copy (-1 if overwritten). */
  enqueue(rows: Rows, labels: number[]): number[] {
    const slots = rows.map(() => -1);
    rows.forEach((row, i) => {
      const slot = this.head;
      this.rows[slot] = Array.from(Float32Array.from(row));
      this.labels[slot] = labels[i]!;
      slots.forEach((s, k) => {
        if (s === slot) slots[k] = -1;
      });
      slots[i] = slot;
      this.head = (this.head + 1) % this.size;
    });
    return slots;
  }
}

/** All pairs of the batch with the memory, minus each row with its own copy. */
function memoryPairs(labels: number[], memoryLabels: number[], slots: number[]): { positives: [number, number][]; negatives: [number, number][] } {
  const positives: [number, number][] = [];
  const negatives: [number, number][] = [];
  labels.forEach((label, i) =>
    memoryLabels.forEach((other, j) => {
      if (other === label) {
        if (j !== slots[i]) positives.push([i, j]);
      } else negatives.push([i, j]);
    }),
  );
  return { positives, negatives };
}

function referenceContrastive(rows: Rows, labels: number[], memoryRows: Rows, memoryLabels: number[], slots: number[]): number {
  const { positives, negatives } = memoryPairs(labels, memoryLabels, slots);
  const positive = positives.map(([i, j]) => Math.max(0, distance(rows[i]!, memoryRows[j]!) - 0));
  const negative = negatives.map(([i, j]) => Math.max(0, 1 - distance(rows[i]!, memoryRows[j]!)));
  return meanNonZero(positive) + meanNonZero(negative);
}

function referenceTriplet(rows: Rows, labels: number[], memoryRows: Rows, memoryLabels: number[], slots: number[], margin = 0.05): number {
  const losses: number[] = [];
  labels.forEach((label, a) => {
    memoryLabels.forEach((positiveLabel, p) => {
      if (positiveLabel !== label || p === slots[a]) return;
      memoryLabels.forEach((negativeLabel, n) => {
        if (negativeLabel === label) return;
        losses.push(Math.max(0, distance(rows[a]!, memoryRows[p]!) - distance(rows[a]!, memoryRows[n]!) + margin));
      });
    });
  });
  return meanNonZero(losses);
}

function randomRows(rng: Rng, n: number, dim: number): Rows {
  return Array.from({ length: n }, () => Array.from({ length: dim }, () => rng.normal()));
}

// ---------------------------------------------------------------------------------------------
// Test miners (the package's miners are tested on their own): every pair / every triplet of the
// batch against the reference, self-comparisons included.
// ---------------------------------------------------------------------------------------------

function allPairsMiner(): Miner {
  return {
    name: 'allPairsMiner',
    mine({ labels, ref }: MinerInput): Tuples {
      const rowLabels = Array.from(labels.dataSync());
      const columnLabels = Array.from((ref?.labels ?? labels).dataSync());
      const ap: number[] = [];
      const p: number[] = [];
      const an: number[] = [];
      const n: number[] = [];
      rowLabels.forEach((label, i) =>
        columnLabels.forEach((other, j) => {
          if (ref === undefined && i === j) return;
          if (other === label) {
            ap.push(i);
            p.push(j);
          } else {
            an.push(i);
            n.push(j);
          }
        }),
      );
      const t = (values: number[]): tf.Tensor1D => tf.tensor1d(values, 'int32');
      return { kind: 'pairs', anchorPos: t(ap), positive: t(p), anchorNeg: t(an), negative: t(n) };
    },
  };
}

function allTripletsMiner(): Miner {
  return {
    name: 'allTripletsMiner',
    mine({ labels, ref }: MinerInput): Tuples {
      const rowLabels = Array.from(labels.dataSync());
      const columnLabels = Array.from((ref?.labels ?? labels).dataSync());
      const a: number[] = [];
      const p: number[] = [];
      const n: number[] = [];
      rowLabels.forEach((label, i) =>
        columnLabels.forEach((positive, j) => {
          if (positive !== label) return;
          columnLabels.forEach((negative, k) => {
            if (negative === label) return;
            a.push(i);
            p.push(j);
            n.push(k);
          });
        }),
      );
      const t = (values: number[]): tf.Tensor1D => tf.tensor1d(values, 'int32');
      return { kind: 'triplets', anchor: t(a), positive: t(p), negative: t(n) };
    },
  };
}

function computeValue(loss: { compute: (input: { embeddings: tf.Tensor2D; labels: tf.Tensor1D }) => tf.Scalar }, rows: Rows, labels: number[]): number {
  return tf.tidy(() => loss.compute({ embeddings: tf.tensor2d(rows), labels: tf.tensor1d(labels, 'int32') }).dataSync()[0] as number);
}

describe('crossBatchMemory', () => {
  const batchLabels = [
    [0, 1, 2, 0],
    [1, 1, 2, 0],
    [2, 0, 0, 1],
    [0, 2, 1, 1],
    [1, 0, 2, 2],
  ];

  it.each([
    ['contrastiveLoss, no miner', 'contrastive', false],
    ['contrastiveLoss, all-pairs miner', 'contrastive', true],
    ['tripletMarginLoss, no miner', 'triplet', false],
    ['tripletMarginLoss, all-triplets miner', 'triplet', true],
  ] as const)('%s: equals the loss of the batch against the memory without self-pairs, across wrap-around', (_, kind, useMiner) => {
    const size = 6;
    const miner = useMiner ? (kind === 'contrastive' ? allPairsMiner() : allTripletsMiner()) : undefined;
    const wrapped = kind === 'contrastive' ? contrastiveLoss() : tripletMarginLoss();
    const loss = crossBatchMemory(wrapped, miner === undefined ? { size } : { size, miner });
    expect(loss.name).toBe(`crossBatchMemory(${wrapped.name})`);
    const model = new ModelMemory(size);
    const rng = new Rng(7);
    for (const labels of batchLabels) {
      const rows = randomRows(rng, labels.length, 3);
      const value = computeValue(loss, rows, labels);
      const slots = model.enqueue(rows, labels);
      const reference = kind === 'contrastive' ? referenceContrastive : referenceTriplet;
      expect(value).toBeCloseTo(reference(rows, labels, model.rows, model.labels, slots), 5);
      // The memory holds the model's rows and labels, in storage order (label alignment).
      const { embeddings, labels: memoryLabels } = loss.memory.reference();
      expectTensorClose(embeddings, model.rows);
      expect(Array.from(memoryLabels.dataSync())).toEqual(model.labels);
      tf.dispose([embeddings, memoryLabels]);
    }
    expect(loss.memory.length).toBe(size);
    loss.dispose();
  });

  it('with and without an all-pairs miner gives the same loss (the self-pairs are removed either way)', () => {
    const plain = crossBatchMemory(contrastiveLoss(), { size: 5 });
    const mined = crossBatchMemory(contrastiveLoss(), { size: 5, miner: allPairsMiner() });
    const rng = new Rng(3);
    for (const labels of batchLabels) {
      const rows = randomRows(rng, 4, 2);
      expect(computeValue(mined, rows, labels)).toBeCloseTo(computeValue(plain, rows, labels), 6);
    }
    plain.dispose();
    mined.dispose();
  });

  it('keeps the newest rows of a batch larger than the memory and pairs the others with all of it', () => {
    const loss = crossBatchMemory(contrastiveLoss(), { size: 3 });
    const model = new ModelMemory(3);
    const rng = new Rng(12);
    for (const labels of [[0, 1, 0, 1, 0], [1, 1, 0, 0, 1]]) {
      const rows = randomRows(rng, 5, 2);
      const value = computeValue(loss, rows, labels);
      const slots = model.enqueue(rows, labels);
      expect(slots.slice(0, 2)).toEqual([-1, -1]);
      expect(value).toBeCloseTo(referenceContrastive(rows, labels, model.rows, model.labels, slots), 5);
    }
    loss.dispose();
  });

  it('passes gradients into the batch embeddings only: the memory is a constant', () => {
    const size = 8;
    const loss = crossBatchMemory(contrastiveLoss(), { size, dim: 3 });
    const model = new ModelMemory(size);
    const rng = new Rng(21);
    const labels = [0, 1, 0, 2];
    for (let step = 0; step < 3; step++) {
      const rows = randomRows(rng, 4, 3);
      computeValue(loss, rows, labels);
      model.enqueue(rows, labels);
    }
    const point = randomRows(rng, 4, 3);
    const before = new ModelMemory(size);
    Object.assign(before, { rows: model.rows.map((row) => [...row]), labels: [...model.labels], head: model.head });
    const slots = before.enqueue(point, labels);
    const labelTensor = tf.tensor1d(labels, 'int32');
    checkGradients(
      (x) => loss.compute({ embeddings: x, labels: labelTensor }),
      // The memory (including the detached copies of `point`) is held constant.
      (x) => referenceContrastive(x, labels, before.rows, before.labels, slots),
      point,
    );
    labelTensor.dispose();
    loss.dispose();
  });

  it('leaks no tensor over 1,000 computes inside optimizer.minimize, and trains', async () => {
    const rng = new Rng(5);
    const weights = tf.variable(tf.tensor2d(randomRows(rng, 4, 3)));
    const inputs = tf.tensor2d(randomRows(rng, 8, 4));
    const labels = tf.tensor1d([0, 0, 1, 1, 2, 2, 3, 3], 'int32');
    const loss = crossBatchMemory(contrastiveLoss(), { size: 32, dim: 3 });
    const optimizer = tf.train.sgd(0.05);
    const values: number[] = [];
    await expectNoLeak(() => {
      for (let step = 0; step < 1000; step++) {
        const value = optimizer.minimize(() => loss.compute({ embeddings: tf.matMul(inputs, weights), labels }), true, [weights]);
        if (step % 100 === 0) values.push(value!.dataSync()[0] as number);
        value?.dispose();
      }
    });
    expect(loss.memory.length).toBe(32);
    expect(values.every(Number.isFinite)).toBe(true);
    expect(values[values.length - 1]!).toBeLessThan(values[0]!);
    optimizer.dispose();
    loss.dispose();
    tf.dispose([weights, inputs, labels]);
  });

  it("checkpoints its memory through the training loop's hooks: a resumed run continues exactly", async () => {
    const data: BatchSource = {
      stepsPerEpoch: 4,
      batch: (_epoch, _step, rng) => ({
        inputs: tf.tensor2d(rng.normalArray(8 * 4), [8, 4]),
        labels: tf.tensor1d([0, 0, 1, 1, 2, 2, 3, 3], 'int32'),
      }),
    };
    const clone = (state: TrainState): TrainState => ({
      ...state,
      encoderWeights: state.encoderWeights.map((t) => tf.clone(t)),
      headWeights: state.headWeights.map((t) => tf.clone(t)),
      optimizer: {
        ...state.optimizer,
        weights: state.optimizer.weights.map(({ name, tensor }) => ({ name, tensor: tf.clone(tensor) })),
        accumulators: state.optimizer.accumulators.map(({ name, tensor }) => ({ name, tensor: tf.clone(tensor) })),
      },
      extra: Object.fromEntries(Object.entries(state.extra).map(([key, tensors]) => [key, tensors.map((t) => tf.clone(t))])),
    });
    const run = async (epochs: number, options: { resumeFrom?: TrainState; saved?: TrainState[]; initSeed: number }) => {
      const encoder = mlpEncoder({ inputDim: 4, hiddenDims: [8], outputDim: 3, seed: options.initSeed });
      const loss = crossBatchMemory(contrastiveLoss(), { size: 20, dim: 3 });
      const optimizer = tf.train.sgd(0.1);
      const saved = options.saved;
      const result = await train({
        encoder,
        data,
        loss,
        optimizer,
        epochs,
        seed: 3,
        hooks: {
          saveState: () => ({ memory: loss.memory.state() }),
          loadState: (state) => loss.memory.load(state['memory'] ?? []),
        },
        ...(saved === undefined ? {} : { checkpoint: { save: async (state: TrainState) => void saved.push(clone(state)) } }),
        ...(options.resumeFrom === undefined ? {} : { resumeFrom: options.resumeFrom }),
      });
      const memory = loss.memory.reference();
      const rows = memory.embeddings.arraySync();
      tf.dispose([memory.embeddings, memory.labels]);
      loss.dispose();
      optimizer.dispose();
      encoder.dispose();
      return { losses: result.epochs.map(({ losses }) => losses), rows };
    };
    const saved: TrainState[] = [];
    const full = await run(2, { saved, initSeed: 0 });
    expect(saved.map(({ epoch }) => epoch)).toEqual([1, 2]);
    const resumed = await run(2, { resumeFrom: saved[0]!, initSeed: 5 });
    expect(resumed.losses).toEqual(full.losses.slice(1));
    expect(resumed.rows).toEqual(full.rows);
    for (const state of saved) disposeTrainState(state);
  });

  it('reset() empties the memory; dispose() frees it', async () => {
    const loss = crossBatchMemory(contrastiveLoss(), { size: 4 });
    const rows = [
      [1, 0],
      [0, 1],
    ];
    computeValue(loss, rows, [0, 1]);
    computeValue(loss, [[0.8, 0.6], [0, 1]], [0, 1]);
    expect(loss.memory.length).toBe(4);
    loss.reset();
    expect(loss.memory.length).toBe(0);
    // Alone in the memory again: only its own copies, whose self-pairs are dropped.
    expect(computeValue(loss, rows, [0, 1])).toBe(0);
    expect(computeValue(loss, [[0.8, 0.6], [0, 1]], [0, 1])).toBeCloseTo(Math.sqrt(0.4) + (1 - Math.sqrt(0.8)), 6);
    const live = tf.memory().numTensors;
    loss.dispose();
    loss.dispose();
    expect(tf.memory().numTensors).toBe(live - 2);
    await Promise.resolve();
  });

  it('rejects bad arguments and input with named errors', () => {
    expectContrastiveError(() => crossBatchMemory(null as never), 'INVALID_ARGUMENT', /'loss' passed to 'crossBatchMemory' must be a Loss, got null/);
    expectContrastiveError(() => crossBatchMemory(contrastiveLoss(), { size: 0 }), 'INVALID_ARGUMENT', /'size' .* must be an integer >= 1, got 0/);
    expectContrastiveError(() => crossBatchMemory(contrastiveLoss(), { miner: {} as never }), 'INVALID_ARGUMENT', /'miner' .* must be a Miner/);
    const loss = crossBatchMemory(contrastiveLoss(), { size: 4 });
    expectContrastiveError(() => loss.memory, 'STATE', /does not exist before the first compute: pass 'dim'/);
    const embeddings = tf.tensor2d([[1, 0], [0, 1]]);
    const labels = tf.tensor1d([0, 1], 'int32');
    const floatLabels = tf.tensor1d([0, 1]);
    expectContrastiveError(() => loss.compute({ embeddings, labels: floatLabels as tf.Tensor1D }), 'DTYPE_MISMATCH', /'labels' passed to 'crossBatchMemory.compute' must have dtype int32/);
    expectContrastiveError(() => loss.compute({ embeddings, labels, ref: { embeddings, labels } }), 'INVALID_ARGUMENT', /'ref' .* is not supported/);
    const tuples: Tuples = { kind: 'triplets', anchor: labels, positive: labels, negative: labels };
    expectContrastiveError(() => loss.compute({ embeddings, labels, tuples }), 'INVALID_ARGUMENT', /'tuples' .* is not supported: .*pass a 'miner'/);
    loss.compute({ embeddings, labels }).dispose();
    const wide = tf.zeros([2, 3]) as tf.Tensor2D;
    expectContrastiveError(() => loss.compute({ embeddings: wide, labels }), 'SHAPE_MISMATCH', /'embeddings' .* must have 2 columns \(the memory's dim\), got 3/);
    expect(loss.memory.length).toBe(2);
    loss.dispose();
    expectContrastiveError(() => loss.compute({ embeddings, labels }), 'STATE', /'crossBatchMemory.compute' was called after dispose\(\)/);
    tf.dispose([embeddings, labels, floatLabels, wide]);
  });
});
