import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { mlpEncoder, projectionHead } from '../encoders.js';
import type { Encoder } from '../encoders.js';
import { isContrastiveError } from '../errors.js';
import { l2Normalize } from '../math.js';
import { MomentumEncoder } from '../momentum.js';
import { Rng } from '../rng.js';
import { expectNoLeak, useTestBackend } from '../testing/index.js';
import { disposeTrainState, train } from '../train.js';
import type { Batch, BatchSource, TrainState } from '../train.js';
import type { Loss } from '../types.js';
import {
  CHECKPOINT_FILE_NAME,
  CHECKPOINT_FORMAT_VERSION,
  directoryCheckpointer,
  hasCheckpoint,
  loadCheckpoint,
  saveCheckpoint,
} from './index.js';

let root = '';

beforeAll(async () => {
  await useTestBackend('cpu');
  root = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'contrastive-checkpoint-'));
});

afterAll(async () => {
  await fs.promises.rm(root, { recursive: true, force: true });
});

afterEach(() => {
  vi.restoreAllMocks();
});

let dirCounter = 0;
function freshDir(): string {
  return path.join(root, `run-${dirCounter++}`);
}

/** NT-Xent-style loss with an optional reference alignment term. */
const loss: Loss = {
  name: 'test-loss',
  compute: ({ embeddings, labels, ref }) =>
    tf.tidy(() => {
      const z = l2Normalize(embeddings);
      const n = z.shape[0];
      const eye = tf.eye(n);
      const logits = tf.sub(tf.div(tf.matMul(z, z, false, true), 0.5), tf.mul(eye, 1e9));
      const logProb = tf.sub(logits, tf.logSumExp(logits, 1, true));
      const positives = tf.sub(tf.cast(tf.equal(tf.expandDims(labels, 1), tf.expandDims(labels, 0)), 'float32'), eye);
      const base = tf.neg(tf.mean(tf.div(tf.sum(tf.mul(positives, logProb), 1), tf.maximum(tf.sum(positives, 1), 1))));
      if (ref === undefined) return base as tf.Scalar;
      return tf.sub(base, tf.mean(tf.sum(tf.mul(z, l2Normalize(ref.embeddings)), 1))) as tf.Scalar;
    }),
};

function source(steps: number): BatchSource {
  const data = new Rng(99);
  const points = data.normalArray(48 * 6);
  return {
    stepsPerEpoch: steps,
    batch(_epoch, _step, rng): Batch {
      const indices = rng.choice(48, 12);
      const values = new Float32Array(12 * 6);
      indices.forEach((index, row) => values.set(points.subarray(index * 6, index * 6 + 6), row * 6));
      return { inputs: tf.tensor2d(values, [12, 6]), labels: tf.tensor1d(Array.from(indices, (index) => index % 3), 'int32') };
    },
  };
}

function views(batch: Batch, rng: Rng): Batch {
  const noise = tf.tensor2d(rng.normalArray(2 * batch.inputs.size, 0, 0.1), [2 * (batch.inputs.shape[0] as number), 6]);
  const out = tf.tidy(() => ({
    inputs: tf.add(tf.concat([batch.inputs, batch.inputs], 0), noise),
    labels: tf.concat([batch.labels, batch.labels], 0) as tf.Tensor1D,
  }));
  noise.dispose();
  return out;
}

function bits(tensors: readonly tf.Tensor[]): string[] {
  return tensors.map((tensor) => {
    const values = tensor.dataSync() as Float32Array | Int32Array | Uint8Array;
    return `${tensor.dtype}[${tensor.shape.join(',')}]${Buffer.from(values.buffer, values.byteOffset, values.byteLength).toString('hex')}`;
  });
}

function weightBits(encoder: Encoder): string[] {
  const weights = encoder.getWeights();
  const out = bits(weights);
  tf.dispose(weights);
  return out;
}

interface RunOptions {
  readonly epochs: number;
  readonly dir?: string;
  readonly resumeFrom?: TrainState;
  readonly initSeed?: number;
}

/** A MoCo-flavoured run: encoder + head, momentum key encoder as the reference, its weights in the checkpoint. */
async function run({ epochs, dir, resumeFrom, initSeed = 0 }: RunOptions) {
  const encoder = mlpEncoder({ inputDim: 6, hiddenDims: [10], outputDim: 8, seed: initSeed });
  const head = projectionHead({ inputDim: 8, hiddenDim: 8, outputDim: 4, seed: initSeed + 1 });
  const keyEncoder = new MomentumEncoder(encoder, { head, momentum: 0.9 });
  const optimizer = tf.train.adam(1e-2, 0.9, 0.999, 1e-8);
  const result = await train({
    encoder,
    head,
    data: source(10),
    views,
    loss,
    optimizer,
    epochs,
    seed: 4,
    hooks: {
      lossInput: ({ inputs, labels, embeddings }) => ({ embeddings, labels, ref: { embeddings: keyEncoder.apply(inputs), labels } }),
      afterStep: () => keyEncoder.update(),
      saveState: () => ({ keyEncoder: keyEncoder.getWeights() }),
      loadState: (state) => keyEncoder.setWeights(state['keyEncoder'] ?? []),
    },
    ...(dir === undefined ? {} : { checkpoint: directoryCheckpointer(dir) }),
    ...(resumeFrom === undefined ? {} : { resumeFrom }),
  });
  const weights = [...weightBits(encoder), ...weightBits(head), ...bits(keyEncoder.getWeights())];
  keyEncoder.dispose();
  optimizer.dispose();
  encoder.dispose();
  head.dispose();
  return { losses: result.epochs.map(({ losses }) => losses), weights, history: result.history };
}

/** A small hand-made state with every tensor kind. */
function makeState(epoch: number): TrainState {
  return {
    epoch,
    encoderWeights: [tf.tensor2d([[1.5, -2], [0.25, 3]]), tf.tensor1d([Math.PI, -0])],
    headWeights: [tf.tensor1d([7])],
    optimizer: {
      className: 'Adam',
      weights: [
        { name: 'iter', tensor: tf.scalar(12, 'int32') },
        { name: 'w/m', tensor: tf.tensor1d([1e-30, 3.4e38]) },
      ],
      accumulators: [{ name: 'accBeta1', tensor: tf.scalar(0.28242954) }],
    },
    rng: new Rng(5).state(),
    history: [{ epoch: 0, meanLoss: 1.2345678901234567, seconds: 0.5 }],
    extra: { queue: [tf.tensor2d([[1, 2, 3]]), tf.tensor1d([true, false], 'bool')], empty: [] },
  };
}

async function expectCheckpointError(promise: Promise<unknown>, message: RegExp): Promise<void> {
  try {
    await promise;
  } catch (error) {
    expect(isContrastiveError(error)).toBe(true);
    expect((error as { code: string }).code).toBe('CHECKPOINT');
    expect((error as Error).message).toMatch(message);
    return;
  }
  throw new Error('expected a CHECKPOINT error');
}

describe('saveCheckpoint / loadCheckpoint', () => {
  it('round-trips every field bit for bit, without leaks', async () => {
    const dir = freshDir();
    const state = makeState(3);
    expect(await hasCheckpoint(dir)).toBe(false);
    const file = await expectNoLeak(() => saveCheckpoint(dir, state));
    expect(file).toBe(path.join(dir, CHECKPOINT_FILE_NAME));
    expect(await hasCheckpoint(dir)).toBe(true);
    const loaded = await expectNoLeak(() => loadCheckpoint(dir), 8);
    expect(loaded.epoch).toBe(3);
    expect(loaded.rng).toEqual(state.rng);
    expect(loaded.history).toEqual(state.history);
    expect(loaded.optimizer.className).toBe('Adam');
    expect(loaded.optimizer.weights.map(({ name }) => name)).toEqual(['iter', 'w/m']);
    expect(bits(loaded.optimizer.weights.map(({ tensor }) => tensor))).toEqual(bits(state.optimizer.weights.map(({ tensor }) => tensor)));
    expect(bits(loaded.optimizer.accumulators.map(({ tensor }) => tensor))).toEqual(bits(state.optimizer.accumulators.map(({ tensor }) => tensor)));
    expect(bits(loaded.encoderWeights)).toEqual(bits(state.encoderWeights));
    expect(bits(loaded.headWeights)).toEqual(bits(state.headWeights));
    expect(Object.keys(loaded.extra)).toEqual(['queue', 'empty']);
    expect(bits(loaded.extra['queue'] ?? [])).toEqual(bits(state.extra['queue'] ?? []));
    // The generator continues the same stream.
    expect(Rng.fromState(loaded.rng).uniform()).toBe(Rng.fromState(state.rng).uniform());
    await expectNoLeak(() => disposeTrainState(loaded), -8);
    disposeTrainState(state);
  });

  it('a crash between writing and renaming leaves the previous checkpoint loadable', async () => {
    const dir = freshDir();
    const first = makeState(1);
    const second = makeState(2);
    await saveCheckpoint(dir, first);
    const rename = vi.spyOn(fs.promises, 'rename').mockRejectedValueOnce(new Error('simulated crash before rename'));
    await expectCheckpointError(
      saveCheckpoint(dir, second),
      new RegExp(`Checkpoint '.*${CHECKPOINT_FILE_NAME}' could not be written \\(the previous checkpoint, if any, is intact\\): simulated crash before rename`),
    );
    expect(rename).toHaveBeenCalledTimes(1);
    // The failed save cleaned its temporary file, and the old checkpoint is intact.
    expect(await fs.promises.readdir(dir)).toEqual([CHECKPOINT_FILE_NAME]);
    const loaded = await loadCheckpoint(dir);
    expect(loaded.epoch).toBe(1);
    disposeTrainState(loaded);
    // The next save succeeds.
    await saveCheckpoint(dir, second);
    const again = await loadCheckpoint(dir);
    expect(again.epoch).toBe(2);
    for (const state of [first, second, again]) disposeTrainState(state);
  });

  it('a process killed mid-write leaves a truncated temporary file that is ignored', async () => {
    const dir = freshDir();
    const first = makeState(4);
    const file = await saveCheckpoint(dir, first);
    // What a SIGKILL half-way through writing the next save leaves behind: a partial temp file.
    const bytes = await fs.promises.readFile(file);
    await fs.promises.writeFile(path.join(dir, `.${CHECKPOINT_FILE_NAME}.4242.0.0.tmp`), bytes.subarray(0, bytes.length >> 1));
    const loaded = await loadCheckpoint(dir);
    expect(loaded.epoch).toBe(4);
    expect(bits(loaded.encoderWeights)).toEqual(bits(first.encoderWeights));
    for (const state of [first, loaded]) disposeTrainState(state);
  });

  it('the next save removes temporary files of killed writers, and only theirs', async () => {
    const dir = freshDir();
    const state = makeState(1);
    // A pid that surely no longer runs: a child that has exited.
    const { spawnSync } = await import('node:child_process');
    const dead = spawnSync(process.execPath, ['-e', '0']).pid as number;
    const stale = path.join(dir, `.${CHECKPOINT_FILE_NAME}.${dead}.0.0.tmp`);
    const live = path.join(dir, `.${CHECKPOINT_FILE_NAME}.${process.ppid}.0.0.tmp`); // the parent runs
    const other = path.join(dir, `.other.ckpt.${dead}.0.0.tmp`); // another checkpoint's
    await fs.promises.mkdir(dir, { recursive: true });
    for (const name of [stale, live, other]) await fs.promises.writeFile(name, 'partial');
    await saveCheckpoint(dir, state);
    expect(fs.existsSync(stale)).toBe(false);
    expect(fs.existsSync(live)).toBe(true);
    expect(fs.existsSync(other)).toBe(true);
    disposeTrainState(state);
  });

  it('rejects truncated, corrupted, other-version and missing files, naming the file', async () => {
    const dir = freshDir();
    const state = makeState(1);
    const file = await saveCheckpoint(dir, state);
    disposeTrainState(state);
    const good = await fs.promises.readFile(file);
    const name = CHECKPOINT_FILE_NAME.replace('.', '\\.');
    const write = (bytes: Uint8Array) => fs.promises.writeFile(file, bytes);

    await write(good.subarray(0, good.length - 10));
    await expectCheckpointError(loadCheckpoint(dir), new RegExp(`Checkpoint '.*${name}' is truncated: ${good.length - 10} bytes, expected ${good.length}`));
    await write(good.subarray(0, 20));
    await expectCheckpointError(loadCheckpoint(dir), /is truncated: 20 bytes, its header alone needs/);
    await write(good.subarray(0, 5));
    await expectCheckpointError(loadCheckpoint(dir), /is truncated: 5 bytes/);

    const otherVersion = Buffer.from(good);
    otherVersion.writeUInt32LE(CHECKPOINT_FORMAT_VERSION + 1, 8);
    await write(otherVersion);
    await expectCheckpointError(
      loadCheckpoint(dir),
      new RegExp(`'.*${name}' has format version ${CHECKPOINT_FORMAT_VERSION + 1}; this build of @contrastive/core reads version ${CHECKPOINT_FORMAT_VERSION}`),
    );

    const flipped = Buffer.from(good);
    flipped[good.length - 40] = (flipped[good.length - 40] as number) ^ 0xff; // inside the tensor data
    await write(flipped);
    await expectCheckpointError(loadCheckpoint(dir), /is corrupted: its SHA-256 checksum does not match/);

    await write(Buffer.from('not a checkpoint at all'));
    await expectCheckpointError(loadCheckpoint(dir), /is not a Contrastive checkpoint/);

    await expectCheckpointError(loadCheckpoint(freshDir()), new RegExp(`Checkpoint '.*${name}' does not exist`));
  });

  it('validates its arguments', async () => {
    const state = makeState(0);
    await expect(saveCheckpoint(freshDir(), state, { fileName: '../escape.ckpt' })).rejects.toThrow(/Argument 'fileName' passed to 'saveCheckpoint' must be a plain file name/);
    expect(() => directoryCheckpointer(freshDir(), { every: 0 })).toThrow(/Argument 'every' passed to 'directoryCheckpointer' must be an integer >= 1, got 0/);
    disposeTrainState(state);
  });
});

describe('resume from a checkpoint file', () => {
  it('continues bit-identically to an uninterrupted run (weights, Adam state, RNG, hook state)', async () => {
    const uninterrupted = await run({ epochs: 3 });
    // "Crash" after epoch 2: train to epoch 2 with checkpoints, then start over from the file in new objects.
    const dir = freshDir();
    const partial = await run({ epochs: 2, dir });
    expect(partial.losses).toEqual(uninterrupted.losses.slice(0, 2));
    const state = await loadCheckpoint(dir);
    expect(state.epoch).toBe(2);
    expect(Object.keys(state.extra)).toEqual(['keyEncoder']);
    const resumed = await run({ epochs: 3, resumeFrom: state, initSeed: 50 });
    disposeTrainState(state);
    expect(resumed.losses).toEqual(uninterrupted.losses.slice(2));
    expect(resumed.weights).toEqual(uninterrupted.weights);
    expect(resumed.history.map(({ epoch, meanLoss }) => [epoch, meanLoss])).toEqual(
      uninterrupted.history.map(({ epoch, meanLoss }) => [epoch, meanLoss]),
    );
  });
});
