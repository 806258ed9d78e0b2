import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { convEncoder, mlpEncoder, projectionHead } from './encoders.js';
import type { Encoder } from './encoders.js';
import { isContrastiveError } from './errors.js';
import { l2Normalize } from './math.js';
import { MomentumEncoder } from './momentum.js';
import { Rng } from './rng.js';
import { expectNoLeak, expectTensorClose, useTestBackend } from './testing/index.js';
import { disposeTrainState, embedDataset, train } from './train.js';
import type { Batch, BatchSource, Checkpointer, TrainState, ViewGenerator } from './train.js';
import type { Loss, Miner } from './types.js';

/** SupCon-style loss (NT-Xent when every sample has its own label), as plain tf ops. */
function contrastiveLoss(temperature = 0.5): Loss {
  return {
    name: 'test-supcon',
    compute: ({ embeddings, labels, ref }) =>
      tf.tidy(() => {
        const z = l2Normalize(embeddings);
        const n = z.shape[0];
        const eye = tf.eye(n);
        const logits = tf.sub(tf.div(tf.matMul(z, z, false, true), temperature), tf.mul(eye, 1e9));
        const logProb = tf.sub(logits, tf.logSumExp(logits, 1, true));
        const same = tf.cast(tf.equal(tf.expandDims(labels, 1), tf.expandDims(labels, 0)), 'float32');
        const positives = tf.sub(same, eye);
        const perAnchor = tf.div(tf.sum(tf.mul(positives, logProb), 1), tf.maximum(tf.sum(positives, 1), 1));
        const base = tf.neg(tf.mean(perAnchor));
        // A reference (MoCo keys) just adds an alignment term in this test loss.
        if (ref === undefined) return base as tf.Scalar;
        const alignment = tf.mean(tf.sum(tf.mul(z, l2Normalize(ref.embeddings)), 1));
        return tf.sub(base, alignment) as tf.Scalar;
      }),
  };
}

/** Fixed clustered points (4 classes in R^dim), batches drawn with the loop's rng. */
function clusterSource(options: { samples?: number; dim?: number; batch?: number; steps?: number; shape?: number[] } = {}): BatchSource & {
  calls: string[];
} {
  const { samples = 64, dim = 8, batch = 16, steps = 4 } = options;
  const shape = options.shape ?? [dim];
  const data = new Rng(1234);
  const centers = Array.from({ length: 4 }, () => Array.from(data.normalArray(dim)));
  const points = new Float32Array(samples * dim);
  const labels = new Int32Array(samples);
  for (let i = 0; i < samples; i++) {
    labels[i] = i % 4;
    for (let j = 0; j < dim; j++) points[i * dim + j] = (centers[i % 4]?.[j] as number) + 0.3 * data.normal();
  }
  const calls: string[] = [];
  return {
    stepsPerEpoch: steps,
    calls,
    beginEpoch(epoch) {
      calls.push(`begin ${epoch}`);
    },
    batch(epoch, step, rng) {
      calls.push(`batch ${epoch}.${step}`);
      const indices = rng.choice(samples, batch);
      const values = new Float32Array(batch * dim);
      const batchLabels = new Int32Array(batch);
      indices.forEach((index, row) => {
        values.set(points.subarray(index * dim, (index + 1) * dim), row * dim);
        batchLabels[row] = labels[index] as number;
      });
      return { inputs: tf.tensor(values, [batch, ...shape]), labels: tf.tensor1d(batchLabels, 'int32') };
    },
  };
}

/** Two noisy views, view-major, labels repeated (SupCon). */
const noisyViews: ViewGenerator = (batch: Batch, rng: Rng) => {
  const size = batch.inputs.size;
  const noise = tf.tensor(rng.normalArray(2 * size, 0, 0.1), [2 * batch.inputs.shape[0], ...batch.inputs.shape.slice(1)]);
  const result = tf.tidy(() => ({
    inputs: tf.add(tf.concat([batch.inputs, batch.inputs], 0), noise),
    labels: tf.concat([batch.labels, batch.labels], 0) as tf.Tensor1D,
  }));
  noise.dispose();
  return result;
};

function mlpPair(seed = 0, dim = 8): { encoder: Encoder; head: Encoder } {
  return {
    encoder: mlpEncoder({ inputDim: dim, hiddenDims: [16], outputDim: 12, seed }),
    head: projectionHead({ inputDim: 12, hiddenDim: 12, outputDim: 6, seed: seed + 1 }),
  };
}

const adam = (): tf.Optimizer => tf.train.adam(1e-2, 0.9, 0.999, 1e-8);

function weightBits(encoder: Encoder): string[] {
  const weights = encoder.getWeights();
  const out = weights.map((weight) => Buffer.from((weight.dataSync() as Float32Array).buffer).toString('hex'));
  tf.dispose(weights);
  return out;
}

/** Keeps copies of the saved states (the loop frees its own after `save`). */
function memoryCheckpointer(every = 1): Checkpointer & { states: TrainState[] } {
  const states: TrainState[] = [];
  return {
    every,
    states,
    async save(state) {
      const copy = (tensors: readonly tf.Tensor[]) => tensors.map((tensor) => tf.clone(tensor));
      states.push({
        ...state,
        encoderWeights: copy(state.encoderWeights),
        headWeights: copy(state.headWeights),
        optimizer: {
          className: state.optimizer.className,
          weights: state.optimizer.weights.map(({ name, tensor }) => ({ name, tensor: tf.clone(tensor) })),
          accumulators: state.optimizer.accumulators.map(({ name, tensor }) => ({ name, tensor: tf.clone(tensor) })),
        },
        extra: Object.fromEntries(Object.entries(state.extra).map(([key, tensors]) => [key, copy(tensors)])),
      });
    },
  };
}

async function rejects(promise: Promise<unknown>, code: string, message: RegExp): Promise<void> {
  try {
    await promise;
  } catch (error) {
    expect(isContrastiveError(error)).toBe(true);
    expect((error as { code: string }).code).toBe(code);
    expect((error as Error).message).toMatch(message);
    return;
  }
  throw new Error('expected a ContrastiveError');
}

describe('train on the default test backend', () => {
  it('trains an MLP + head: the loss falls, callbacks fire in order, the epoch mean and seconds are reported', async () => {
    await useTestBackend();
    const { encoder, head } = mlpPair();
    const data = clusterSource();
    const optimizer = adam();
    const events: string[] = [];
    const stepLosses: number[] = [];
    const result = await train({
      encoder,
      head,
      data,
      views: noisyViews,
      loss: contrastiveLoss(),
      optimizer,
      epochs: 6,
      seed: 1,
      callbacks: {
        onEpochBegin: ({ epoch, epochs, stepsPerEpoch }) => void events.push(`begin ${epoch}/${epochs} x${stepsPerEpoch}`),
        onStepEnd: ({ epoch, step, loss }) => {
          events.push(`step ${epoch}.${step}`);
          stepLosses.push(loss);
        },
        onEpochEnd: ({ epoch, meanLoss, seconds, losses }) => {
          events.push(`end ${epoch}`);
          expect(losses).toHaveLength(4);
          expect(meanLoss).toBeCloseTo(losses.reduce((sum, value) => sum + value, 0) / 4, 12);
          expect(seconds).toBeGreaterThan(0);
        },
        onTrainEnd: (final) => void events.push(`done ${final.history.length}`),
      },
    });
    expect(events.slice(0, 6)).toEqual(['begin 0/6 x4', 'step 0.0', 'step 0.1', 'step 0.2', 'step 0.3', 'end 0']);
    expect(events.at(-1)).toBe('done 6');
    expect(data.calls.slice(0, 3)).toEqual(['begin 0', 'batch 0.0', 'batch 0.1']);
    expect(result.stopped).toBe(false);
    expect(result.history.map(({ epoch }) => epoch)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(result.epochs.flatMap(({ losses }) => losses)).toEqual(stepLosses);
    const first = result.history[0]?.meanLoss as number;
    const last = result.history[5]?.meanLoss as number;
    expect(last).toBeLessThan(first - 0.2);
    optimizer.dispose();
    encoder.dispose();
    head.dispose();
  });

  it('a full epoch leaves tf.memory().numTensors unchanged (after the optimizer has created its slots)', async () => {
    await useTestBackend();
    const { encoder, head } = mlpPair();
    const optimizer = adam();
    const options = { encoder, head, data: clusterSource(), views: noisyViews, loss: contrastiveLoss(), optimizer, epochs: 1, seed: 3 };
    await train(options); // warm-up: Adam creates its moment variables on the first step
    await expectNoLeak(() => train(options));
    await expectNoLeak(() => train({ ...options, readLossEvery: 3, callbacks: { onStepEnd: () => undefined } }));
    optimizer.dispose();
    encoder.dispose();
    head.dispose();
  });

  it('passes mined tuples to the loss and runs hooks (momentum encoder as reference)', async () => {
    await useTestBackend();
    const { encoder, head } = mlpPair();
    const optimizer = adam();
    let mined = 0;
    const miner: Miner = {
      name: 'all-triplets',
      mine: ({ embeddings }) => {
        mined++;
        const n = embeddings.shape[0];
        return { kind: 'triplets', anchor: tf.range(0, n, 1, 'int32') as tf.Tensor1D, positive: tf.range(0, n, 1, 'int32') as tf.Tensor1D, negative: tf.range(0, n, 1, 'int32') as tf.Tensor1D };
      },
    };
    let sawTuples = 0;
    const base = contrastiveLoss();
    const loss: Loss = {
      name: 'checks-tuples',
      compute: (input) => {
        if (input.tuples?.kind === 'triplets') sawTuples++;
        return base.compute(input);
      },
    };
    await expectNoLeak(async () => {
      await train({ encoder, head, data: clusterSource({ steps: 3 }), loss, miner, optimizer, epochs: 1 });
    }, 2 * 8); // Adam creates m and v for each of the 8 variables on its first step
    expect(mined).toBe(3);
    expect(sawTuples).toBe(3);

    const keyEncoder = new MomentumEncoder(encoder, { head, momentum: 0.9 });
    let updates = 0;
    await expectNoLeak(() =>
      train({
        encoder,
        head,
        data: clusterSource({ steps: 3 }),
        loss: contrastiveLoss(),
        optimizer,
        epochs: 1,
        hooks: {
          lossInput: ({ inputs, labels, embeddings }) => ({ embeddings, labels, ref: { embeddings: keyEncoder.apply(inputs), labels } }),
          afterStep: ({ step, loss: stepLoss }) => {
            expect(stepLoss.isDisposed).toBe(false);
            expect(step).toBe(updates);
            keyEncoder.update();
            updates++;
          },
        },
      }),
    );
    expect(updates).toBe(3);
    keyEncoder.dispose();
    optimizer.dispose();
    encoder.dispose();
    head.dispose();
  });

  it('throws NON_FINITE naming the step, without leaking', async () => {
    await useTestBackend();
    const { encoder } = mlpPair();
    const optimizer = tf.train.sgd(0.1);
    const nanLoss: Loss = { name: 'nan', compute: ({ embeddings }) => tf.mul(tf.sum(embeddings), NaN) };
    await expectNoLeak(() =>
      rejects(
        train({ encoder, data: clusterSource(), loss: nanLoss, optimizer, epochs: 1 }),
        'NON_FINITE',
        /'train': the loss of epoch 0, step 0 is NaN \(loss 'nan'\)/,
      ),
    );
    optimizer.dispose();
    encoder.dispose();
  });

  it('validates options and batches', async () => {
    await useTestBackend();
    const { encoder } = mlpPair();
    const optimizer = tf.train.sgd(0.1);
    const base = { encoder, data: clusterSource(), loss: contrastiveLoss(), optimizer, epochs: 1 };
    await rejects(train({ ...base, epochs: 0 }), 'INVALID_ARGUMENT', /Argument 'epochs' passed to 'train' must be an integer >= 1, got 0/);
    await rejects(train({ ...base, seed: 1, rng: new Rng(1) }), 'INVALID_ARGUMENT', /'seed' and 'rng' passed to 'train' are exclusive/);
    await rejects(train({ ...base, data: { stepsPerEpoch: 0, batch: () => ({}) as Batch } }), 'INVALID_ARGUMENT', /'data.stepsPerEpoch'/);
    await rejects(train({ ...base, loss: {} as Loss }), 'INVALID_ARGUMENT', /Argument 'loss' passed to 'train' must be a Loss/);
    const badLabels: BatchSource = {
      stepsPerEpoch: 1,
      batch: () => ({ inputs: tf.zeros([4, 8]), labels: tf.tensor1d([0, 1, 2], 'int32') }),
    };
    await expectNoLeak(() =>
      rejects(train({ ...base, data: badLabels }), 'LABEL_COUNT', /Argument 'data.batch\(\).labels' passed to 'train' must have 4 entries/),
    );
    const floatLabels: BatchSource = {
      stepsPerEpoch: 1,
      batch: () => ({ inputs: tf.zeros([4, 8]), labels: tf.tensor1d([0, 1, 2, 3]) }),
    };
    await rejects(train({ ...base, data: floatLabels }), 'DTYPE_MISMATCH', /must have dtype int32, got float32/);
    optimizer.dispose();
    encoder.dispose();
  });

  it('stops after the current step when the signal aborts', async () => {
    await useTestBackend();
    const { encoder } = mlpPair();
    const optimizer = tf.train.sgd(0.01);
    const controller = new AbortController();
    const result = await expectNoLeak(() =>
      train({
        encoder,
        data: clusterSource(),
        loss: contrastiveLoss(),
        optimizer,
        epochs: 3,
        signal: controller.signal,
        callbacks: { onStepEnd: ({ epoch, step }) => (epoch === 1 && step === 1 ? controller.abort() : undefined) },
      }),
    );
    expect(result.stopped).toBe(true);
    expect(result.history).toHaveLength(1);
    optimizer.dispose();
    encoder.dispose();
  });

  it('embedDataset computes [n, d] features in batches, equal to one big forward pass, without leaks', async () => {
    await useTestBackend();
    const { encoder } = mlpPair();
    const inputs = tf.randomNormal([10, 8], 0, 1, 'float32', 2);
    const whole = encoder.apply(inputs);
    const batched = await expectNoLeak(() => embedDataset(encoder, inputs, { batchSize: 3 }), 1);
    expect(batched.shape).toEqual([10, 12]);
    expectTensorClose(batched, whole, { atol: 1e-6, rtol: 1e-6 });
    const single = await expectNoLeak(() => embedDataset(encoder, inputs), 1);
    expectTensorClose(single, whole, { atol: 0, rtol: 0 });
    expect(() => embedDataset(encoder, inputs, { batchSize: 0 })).toThrow(/Argument 'batchSize' passed to 'embedDataset' must be an integer >= 1, got 0/);
    tf.dispose([inputs, whole, batched, single]);
    encoder.dispose();
  });
});

describe('train on cpu: determinism, resume, CNN', () => {
  async function run(
    seed: number,
    epochs: number,
    extra: { checkpoint?: Checkpointer; resumeFrom?: TrainState; initSeed?: number; steps?: number } = {},
  ) {
    const { encoder, head } = mlpPair(extra.initSeed ?? 0);
    const optimizer = adam();
    const result = await train({
      encoder,
      head,
      data: clusterSource({ steps: extra.steps ?? 4 }),
      views: noisyViews,
      loss: contrastiveLoss(),
      optimizer,
      epochs,
      seed,
      ...(extra.checkpoint === undefined ? {} : { checkpoint: extra.checkpoint }),
      ...(extra.resumeFrom === undefined ? {} : { resumeFrom: extra.resumeFrom }),
    });
    const weights = [...weightBits(encoder), ...weightBits(head)];
    optimizer.dispose();
    encoder.dispose();
    head.dispose();
    return { losses: result.epochs.map(({ losses }) => losses), history: result.history, weights };
  }

  it('the same seed gives bit-identical losses and weights; another seed differs', async () => {
    await useTestBackend('cpu');
    const a = await run(5, 2);
    const b = await run(5, 2);
    const c = await run(6, 2);
    expect(a.losses).toEqual(b.losses);
    expect(a.weights).toEqual(b.weights);
    expect(c.losses).not.toEqual(a.losses);
  });

  it('resuming from the state after epoch 2 continues bit-identically to an uninterrupted run', async () => {
    await useTestBackend('cpu');
    const saver = memoryCheckpointer();
    const full = await run(9, 3, { checkpoint: saver, steps: 10 });
    expect(saver.states.map(({ epoch }) => epoch)).toEqual([1, 2, 3]);
    // After 20 Adam steps, pow(0.999, 21) (what Adam.setWeights computes) differs in the last bit from
    // the running float32 product 0.999 * 0.999 * ...: the exact accumulators must be restored.
    const afterSecond = saver.states[1] as TrainState;
    expect(afterSecond.optimizer.className).toBe('Adam');
    expect(afterSecond.optimizer.accumulators.map(({ name }) => name)).toEqual(['accBeta1', 'accBeta2']);
    // Different initial weights and seed: everything must come from the state.
    const resumed = await run(123, 3, { resumeFrom: afterSecond, initSeed: 77, steps: 10 });
    expect(resumed.losses).toEqual(full.losses.slice(2));
    expect(resumed.weights).toEqual(full.weights);
    expect(resumed.history.map(({ meanLoss }) => meanLoss)).toEqual(full.history.map(({ meanLoss }) => meanLoss));
    for (const state of saver.states) disposeTrainState(state);
  });

  it('extra variables are optimised, checkpointed and restored; batch indices reach the hooks and are freed', async () => {
    await useTestBackend('cpu');
    // A learnable per-dimension scale of z (a stand-in for a text encoder or an extra head).
    const make = (initSeed: number) => {
      const { encoder, head } = mlpPair(initSeed);
      const scale = tf.variable(tf.ones([6]), true, `scale${initSeed}`);
      return { encoder, head, scale };
    };
    const seenIndices: number[][] = [];
    const indexedSource = (): BatchSource => {
      const inner = clusterSource({ steps: 3 });
      return {
        stepsPerEpoch: inner.stepsPerEpoch,
        async batch(epoch, step, rng) {
          const batch = await inner.batch(epoch, step, rng);
          return { ...batch, indices: tf.tensor1d([epoch, step, 7], 'int32') };
        },
      };
    };
    const run = async (epochs: number, extra: { checkpoint?: Checkpointer; resumeFrom?: TrainState; initSeed?: number }) => {
      const { encoder, head, scale } = make(extra.initSeed ?? 0);
      const before = tf.memory().numTensors;
      const optimizer = adam();
      const base = contrastiveLoss();
      const result = await train({
        encoder,
        head,
        data: indexedSource(),
        views: noisyViews,
        loss: { name: 'scaled', compute: (input) => base.compute(input) },
        variables: [scale],
        hooks: {
          lossInput: ({ embeddings, labels, indices }) => {
            seenIndices.push(Array.from(indices?.dataSync() ?? []));
            return { embeddings: tf.mul(embeddings, scale) as tf.Tensor2D, labels };
          },
          afterStep: ({ indices }) => expect(indices?.isDisposed).toBe(false),
        },
        optimizer,
        epochs,
        seed: 3,
        ...(extra.checkpoint === undefined ? {} : { checkpoint: extra.checkpoint }),
        ...(extra.resumeFrom === undefined ? {} : { resumeFrom: extra.resumeFrom }),
      });
      const values = Array.from(scale.dataSync());
      optimizer.dispose();
      const leaked = tf.memory().numTensors - before;
      encoder.dispose();
      head.dispose();
      scale.dispose();
      return { losses: result.epochs.map(({ losses }) => losses), values, leaked };
    };
    const saver = memoryCheckpointer();
    const full = await run(2, { checkpoint: saver });
    expect(seenIndices.slice(0, 4)).toEqual([[0, 0, 7], [0, 1, 7], [0, 2, 7], [1, 0, 7]]);
    expect(full.values.some((value) => value !== 1)).toBe(true); // the extra variable was trained
    const first = saver.states[0] as TrainState;
    expect(Object.keys(first.extra)).toEqual(['train.variables']);
    expect(first.extra['train.variables']?.[0]?.shape).toEqual([6]);
    const resumed = await run(2, { resumeFrom: first, initSeed: 5 });
    expect(resumed.losses).toEqual(full.losses.slice(1));
    expect(resumed.values).toEqual(full.values);
    expect(resumed.leaked).toBe(0); // the batches' index tensors were freed with them (no checkpointer copies here)
    // A state without the variables cannot resume a run that has them, and vice versa.
    const { encoder, head } = mlpPair(0);
    const optimizer = adam();
    await rejects(
      train({ encoder, head, data: clusterSource(), views: noisyViews, loss: contrastiveLoss(), optimizer, epochs: 2, resumeFrom: first }),
      'INVALID_ARGUMENT',
      /holds 1 extra variables, but 'variables' has 0/,
    );
    await rejects(
      train({ encoder, head, data: clusterSource(), loss: contrastiveLoss(), optimizer, epochs: 1, variables: [tf.ones([2]) as unknown as tf.Variable] }),
      'INVALID_ARGUMENT',
      /'variables' passed to 'train' must be an array of live tf.Variable/,
    );
    optimizer.dispose();
    encoder.dispose();
    head.dispose();
    for (const state of saver.states) disposeTrainState(state);
  });

  it('trains the CNN encoder (conv weight gradients) without leaks', async () => {
    await useTestBackend('cpu');
    const encoder = convEncoder({ inputShape: [8, 8, 1], filters: [4, 8], denseUnits: 16, seed: 0 });
    const head = projectionHead({ inputDim: 16, hiddenDim: 16, outputDim: 8, seed: 1 });
    const optimizer = adam();
    const before = weightBits(encoder);
    const options = {
      encoder,
      head,
      data: clusterSource({ dim: 64, shape: [8, 8, 1], steps: 3 }),
      views: noisyViews,
      loss: contrastiveLoss(),
      optimizer,
      epochs: 1,
      seed: 0,
    };
    const first = await train(options);
    expect(Number.isFinite(first.history[0]?.meanLoss)).toBe(true);
    const after = weightBits(encoder);
    after.forEach((bits, i) => expect(bits).not.toBe(before[i])); // every conv/dense weight moved
    await expectNoLeak(() => train(options));
    optimizer.dispose();
    encoder.dispose();
    head.dispose();
  });
});
