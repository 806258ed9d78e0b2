import * as tf from '@tensorflow/tfjs-core';
import { convEncoder, embedDataset, l2Normalize, projectionHead, selectBackend, train } from '@contrastive/core';
import type { Encoder } from '@contrastive/core';
import { recipeAugmentation, viewGenerator } from '@contrastive/augment';
import { supConLoss, tripletMarginLoss } from '@contrastive/losses';
import { batchHardMiner, mPerClassSampler } from '@contrastive/samplers';
import { loadMnist, samplerBatches, toTensors } from '@contrastive/data';
import { retrievalMetrics } from '@contrastive/eval';

await selectBackend({ log: false });
const { train: digits, test } = await loadMnist({ trainLimit: 2000 });
// Every batch: 8 digits of each of 10 classes, so every anchor has positives (PML's MPerClassSampler).
const sampler = mPerClassSampler({ labels: digits.labels, m: 8, batchSize: 80 });

// 1. SupCon (Khosla et al. 2020): two augmented views per image, labelled by class, so every view
//    of the same digit is a positive.
const supconEncoder = convEncoder({ seed: 0 });
const head = projectionHead({ seed: 1 });
const twoViews = viewGenerator({ augmentation: recipeAugmentation(), views: 2 });
await train({
  encoder: supconEncoder, head, epochs: 3, seed: 0, optimizer: tf.train.adam(1e-3),
  data: samplerBatches(digits, sampler),
  views: (batch, rng) => ({ inputs: twoViews.generate(batch.inputs as tf.Tensor4D, rng), labels: tf.concat([batch.labels, batch.labels]) }),
  loss: supConLoss({ temperature: 0.1 }),
});

// 2. Triplets (Schroff et al. 2015) with batch-hard mining (Hermans et al. 2017): for each anchor
//    the farthest positive and the closest negative of the batch. No head, no views: the loss
//    sees h itself, on the Euclidean distance of L2-normalised rows (the loss's default distance).
const tripletEncoder = convEncoder({ seed: 0 });
await train({
  encoder: tripletEncoder, epochs: 3, seed: 0, optimizer: tf.train.adam(1e-3),
  data: samplerBatches(digits, sampler),
  loss: tripletMarginLoss({ margin: 0.2 }),
  miner: batchHardMiner(),
});

// Retrieval on the test digits (each query against the others): P@1 and MAP@R (Musgrave et al. 2020).
const testSet = toTensors(test);
async function retrieval(name: string, encoder: Encoder): Promise<void> {
  const embeddings = tf.tidy(() => l2Normalize(embedDataset(encoder, testSet.images)));
  const result = await retrievalMetrics({ query: embeddings, queryLabels: testSet.labels, metrics: ['precisionAtOne', 'meanAveragePrecisionAtR'] });
  console.log(`${name}: P@1 ${result.precisionAtOne?.toFixed(3)}, MAP@R ${result.meanAveragePrecisionAtR?.toFixed(3)}`);
  embeddings.dispose();
}
await retrieval('SupCon', supconEncoder);
await retrieval('triplet + batch-hard', tripletEncoder);
const untrained = convEncoder({ seed: 0 });
await retrieval('untrained', untrained);
untrained.dispose();
tf.dispose([testSet.images, testSet.labels]);
