/**
 * Soak test (issue 9): 1,000 training steps through every library package at once — an MLP encoder
 * (core) on augmented inputs (augment's `gaussianNoise`), a cross-batch memory `MemoryQueue` and a
 * `batchHardMiner` (samplers) feeding a `tripletMarginLoss` (losses), inside `optimizer.minimize` —
 * must hold memory flat: the live tensors and bytes after step 1 (when Adam has made its moment
 * estimates and the queue its buffers) equal those after step 1,000.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Rng, l2Normalize, mlpEncoder } from '@contrastive/core';
import { useTestBackend } from '@contrastive/core/testing';
import { gaussianNoise } from '@contrastive/augment';
import { tripletMarginLoss } from '@contrastive/losses';
import { MemoryQueue, batchHardMiner } from '@contrastive/samplers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const STEPS = 1000;
const BATCH = 32;
const SIDE = 8; // inputs are 8 x 8 x 1 = 64 values, flattened by the MLP
const POOL = 1024;
const CLASSES = 8;

let backend: string;

beforeAll(async () => {
  backend = await useTestBackend();
});

const disposables: { dispose(): void }[] = [];
afterAll(() => {
  for (const item of disposables.splice(0)) item.dispose();
});

/** `POOL` inputs around `CLASSES` random centres, with their class labels. */
function syntheticPool(rng: Rng): { inputs: tf.Tensor4D; labels: tf.Tensor1D } {
  const dims = SIDE * SIDE;
  const centres = Array.from({ length: CLASSES }, () => Float32Array.from({ length: dims }, () => rng.normal()));
  const values = new Float32Array(POOL * dims);
  const labels = new Int32Array(POOL);
  for (let i = 0; i < POOL; i++) {
    const label = i % CLASSES;
    labels[i] = label;
    const centre = centres[label] as Float32Array;
    for (let j = 0; j < dims; j++) values[i * dims + j] = (centre[j] as number) + 2 * rng.normal();
  }
  return { inputs: tf.tensor4d(values, [POOL, SIDE, SIDE, 1]), labels: tf.tensor1d(labels, 'int32') };
}

describe('soak: 1,000 steps through core, augment, samplers and losses', () => {
  it(`memory after step 1 equals memory after step ${STEPS} (numTensors and numBytes)`, async () => {
    const rng = new Rng(9);
    const pool = syntheticPool(rng);
    disposables.push(pool.inputs, pool.labels);
    const encoder = mlpEncoder({ inputDim: SIDE * SIDE, hiddenDims: [32], outputDim: 16, outputActivation: 'linear', rng });
    disposables.push(encoder);
    const queue = new MemoryQueue({ size: 4 * BATCH, dim: 16 });
    disposables.push(queue);
    const optimizer = tf.train.adam(1e-3);
    disposables.push(optimizer);
    const noise = gaussianNoise({ probability: 1, std: 0.1 });
    const miner = batchHardMiner();
    const loss = tripletMarginLoss({ margin: 0.5 });

    const losses: number[] = [];
    const step = (index: number): void => {
      const batch = tf.tensor1d(rng.choice(POOL, BATCH), 'int32');
      const inputs = tf.gather(pool.inputs, batch) as tf.Tensor4D;
      const labels = tf.gather(pool.labels, batch) as tf.Tensor1D;
      const augmented = noise.apply(inputs, rng);
      try {
        const readLoss = index === 0 || (index + 1) % 100 === 0;
        const cost = optimizer.minimize(
          () => {
            const embeddings = l2Normalize(encoder.apply(augmented, { training: true }));
            // Cross-batch memory (XBM): enqueue the batch's detached keys, then mine the batch
            // against the queue and compute the loss on the mined triplets.
            queue.enqueue(embeddings, labels);
            const ref = queue.reference();
            const tuples = miner.mine({ embeddings, labels, ref });
            return loss.compute({ embeddings, labels, tuples, ref });
          },
          readLoss,
          encoder.trainableVariables,
        );
        if (cost !== null) {
          losses.push(cost.dataSync()[0] as number);
          cost.dispose();
        }
      } finally {
        tf.dispose([batch, inputs, labels, augmented]);
      }
    };

    const started = performance.now();
    step(0);
    const afterFirst = tf.memory();
    const first = { numTensors: afterFirst.numTensors, numBytes: afterFirst.numBytes };
    for (let index = 1; index < STEPS; index++) step(index);
    const afterLast = tf.memory();
    const seconds = (performance.now() - started) / 1000;
    console.info(`soak on ${backend}: ${STEPS} steps in ${seconds.toFixed(1)} s (${((1000 * seconds) / STEPS).toFixed(1)} ms a step), ${first.numTensors} tensors / ${first.numBytes} bytes alive`);

    expect({ numTensors: afterLast.numTensors, numBytes: afterLast.numBytes }).toEqual(first);
    expect(queue.length).toBe(queue.size);
    expect(losses).toHaveLength(1 + STEPS / 100);
    for (const value of losses) expect(Number.isFinite(value)).toBe(true);
    // It trained: the mean loss of the last five readings (steps 600 .. 1,000) is below step 1's.
    const recent = losses.slice(-5).reduce((sum, value) => sum + value, 0) / 5;
    expect(recent).toBeLessThan(losses[0] as number);
    expect(recent).toBeGreaterThan(0); // still above 0: the gradient graph was exercised to the end
  });
});
