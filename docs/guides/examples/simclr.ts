import * as tf from '@tensorflow/tfjs-core';
import { convEncoder, embedDataset, projectionHead, selectBackend, train, viewLabels } from '@contrastive/core';
import { recipeAugmentation, viewGenerator } from '@contrastive/augment';
import { ntXentLoss } from '@contrastive/losses';
import { shuffledBatchSampler } from '@contrastive/samplers';
import { loadMnist, samplerBatches, toTensors } from '@contrastive/data';
import { knnEvaluate } from '@contrastive/eval';

await selectBackend(); // tfjs-node if installed, else wasm, else cpu — and says which
const { train: digits, test } = await loadMnist({ trainLimit: 2000 }); // 200 per digit; test: 2,000
const encoder = convEncoder({ seed: 0 }); // e: X -> V, the representation h [n, 128]
const head = projectionHead({ seed: 1 }); // f: V -> Z, the loss sees z [n, 64]
const twoViews = viewGenerator({ augmentation: recipeAugmentation(), views: 2 });
await train({
  encoder, head, epochs: 5, seed: 0, loss: ntXentLoss({ temperature: 0.5 }), optimizer: tf.train.adam(1e-3),
  data: samplerBatches(digits, shuffledBatchSampler({ size: digits.count, batchSize: 128 })),
  views: (batch, rng) => ({ inputs: twoViews.generate(batch.inputs as tf.Tensor4D, rng), labels: viewLabels(batch.labels.shape[0], 2) }),
  callbacks: { onEpochEnd: ({ epoch, meanLoss }) => console.log(`epoch ${epoch + 1}: loss ${meanLoss.toFixed(3)}`) },
});

// How good is h? Weighted kNN of the test digits against the train digits (Wu et al. 2018).
const [trainSet, testSet] = [toTensors(digits), toTensors(test)];
const trainFeatures = embedDataset(encoder, trainSet.images);
const testFeatures = embedDataset(encoder, testSet.images);
const { top1 } = await knnEvaluate({ trainFeatures, trainLabels: trainSet.labels, testFeatures, testLabels: testSet.labels });
console.log(`kNN top-1: ${(100 * top1).toFixed(2)}%`);
tf.dispose([trainSet.images, trainSet.labels, testSet.images, testSet.labels, trainFeatures, testFeatures]);
