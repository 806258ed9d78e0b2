// Child process of checkpoint-crash.test.ts. It imports the BUILT package (packages/core/dist,
// through the package's own exports) and trains a tiny MLP + head with `train`, saving a checkpoint
// after every epoch into one directory, resuming from that directory's checkpoint when there is
// one. The parent SIGKILLs it at random moments during a save.
//
//   node checkpoint-crash-child.mjs <mode: crash | reference> <dir> <backend: cpu | wasm> <epochs> <payload floats>
//
// stdout: one JSON object per line:
//   { event: 'start', epoch }                 the epoch training starts at (0, or the checkpoint's)
//   { event: 'saveBegin', epoch, hash }       a save of the state after `epoch` epochs is starting; `hash` is
//                                             the SHA-256 of its weights, optimizer state and generator state
//   { event: 'saveEnd', epoch, ms }           that save returned (the file is renamed into place)
//   { event: 'done', epoch }                  all epochs ran
// In `reference` mode nothing is written: only `saveBegin` is printed for every epoch.
import { createHash } from 'node:crypto';
import * as tf from '@tensorflow/tfjs-core';
import { Rng, l2Normalize, mlpEncoder, projectionHead, selectBackend, train, disposeTrainState } from '@contrastive/core';
import { hasCheckpoint, loadCheckpoint, saveCheckpoint } from '@contrastive/core/node';

const [mode, dir, backend, epochsText, payloadText] = process.argv.slice(2);
const epochs = Number(epochsText);
const payloadFloats = Number(payloadText);

function emit(event) {
  process.stdout.write(`${JSON.stringify(event)}\n`);
}

/** The hash the parent recomputes from a loaded checkpoint (keep in sync with checkpoint-crash.test.ts). */
function stateHash(state) {
  const hash = createHash('sha256');
  const tensors = [
    ...state.encoderWeights,
    ...state.headWeights,
    ...state.optimizer.weights.map(({ tensor }) => tensor),
    ...state.optimizer.accumulators.map(({ tensor }) => tensor),
  ];
  for (const tensor of tensors) {
    const values = tensor.dataSync();
    hash.update(`${tensor.dtype}[${tensor.shape.join(',')}]`);
    hash.update(Buffer.from(values.buffer, values.byteOffset, values.byteLength));
  }
  hash.update(JSON.stringify(state.rng));
  return hash.digest('hex');
}

await selectBackend({ preference: backend, log: false });

// Data: 64 points in 8 dimensions around 4 centres; batches of 16 drawn with the loop's generator.
const points = new Rng(7).normalArray(64 * 8);
const data = {
  stepsPerEpoch: 2,
  batch(_epoch, _step, rng) {
    const indices = rng.choice(64, 16);
    const values = new Float32Array(16 * 8);
    indices.forEach((index, row) => values.set(points.subarray(index * 8, index * 8 + 8), row * 8));
    return { inputs: tf.tensor2d(values, [16, 8]), labels: tf.tensor1d(Array.from(indices, (index) => index % 4), 'int32') };
  },
};
// Two noisy views per sample, view-major, labels repeated (SupCon-style).
function views(batch, rng) {
  const noise = tf.tensor2d(rng.normalArray(2 * batch.inputs.size, 0, 0.1), [32, 8]);
  const out = tf.tidy(() => ({
    inputs: tf.add(tf.concat([batch.inputs, batch.inputs], 0), noise),
    labels: tf.concat([batch.labels, batch.labels], 0),
  }));
  noise.dispose();
  return out;
}
// Supervised contrastive loss written with tf ops (temperature 0.5).
const loss = {
  name: 'supcon-inline',
  compute: ({ embeddings, labels }) =>
    tf.tidy(() => {
      const z = l2Normalize(embeddings);
      const n = z.shape[0];
      const eye = tf.eye(n);
      const logits = tf.sub(tf.div(tf.matMul(z, tf.transpose(z)), 0.5), tf.mul(eye, 1e9));
      const logProb = tf.sub(logits, tf.logSumExp(logits, 1, true));
      const positives = tf.sub(tf.cast(tf.equal(tf.expandDims(labels, 1), tf.expandDims(labels, 0)), 'float32'), eye);
      return tf.neg(tf.mean(tf.div(tf.sum(tf.mul(positives, logProb), 1), tf.maximum(tf.sum(positives, 1), 1))));
    }),
};

const encoder = mlpEncoder({ inputDim: 8, hiddenDims: [16], outputDim: 8, seed: 0 });
const head = projectionHead({ inputDim: 8, hiddenDim: 8, outputDim: 4, seed: 1 });
const optimizer = tf.train.adam(1e-2, 0.9, 0.999, 1e-8);

let resumeFrom;
if (mode === 'crash' && (await hasCheckpoint(dir))) resumeFrom = await loadCheckpoint(dir);
let completed = resumeFrom?.epoch ?? 0;
emit({ event: 'start', epoch: completed });

// A payload saved with every checkpoint (as a memory queue would be), so that saves take long
// enough to be interrupted; every value equals the epoch, so a torn payload would show.
const hooks =
  mode === 'crash'
    ? {
        saveState: () => ({ payload: [tf.fill([payloadFloats], completed)] }),
        loadState: (state) => {
          const [payload] = state.payload ?? [];
          const values = payload?.dataSync() ?? [];
          if (values.length !== payloadFloats || values.some((value) => value !== completed)) {
            process.stderr.write(`payload of the checkpoint after epoch ${completed} is damaged\n`);
            process.exit(3);
          }
        },
      }
    : {};

const checkpoint = {
  async save(state) {
    emit({ event: 'saveBegin', epoch: state.epoch, hash: stateHash(state) });
    if (mode !== 'crash') return;
    const started = performance.now();
    await saveCheckpoint(dir, state);
    emit({ event: 'saveEnd', epoch: state.epoch, ms: performance.now() - started });
  },
};

await train({
  encoder,
  head,
  data,
  views,
  loss,
  optimizer,
  epochs,
  seed: 11,
  hooks,
  checkpoint,
  callbacks: {
    onEpochEnd: ({ epoch }) => {
      completed = epoch + 1;
    },
  },
  ...(resumeFrom === undefined ? {} : { resumeFrom }),
});
if (resumeFrom !== undefined) disposeTrainState(resumeFrom);
emit({ event: 'done', epoch: completed });
