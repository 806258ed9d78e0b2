import * as tf from '@tensorflow/tfjs-core';
import { convEncoder, cosineSimilarity, embedDataset, mlpEncoder, projectionHead, selectBackend, train } from '@contrastive/core';
import { clipLoss } from '@contrastive/losses';
import { shuffledBatchSampler } from '@contrastive/samplers';
import { loadMnist, samplerBatches, toTensors } from '@contrastive/data';

await selectBackend({ log: false });
const { train: digits, test } = await loadMnist({ trainLimit: 2000 });

// The second modality: captions of the digits, as L2-normalised bag-of-words vectors.
const WORDS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'];
const TEMPLATES = ['a photo of the digit {}', 'the number {}', 'a handwritten {}', '{}'];
const captions = WORDS.flatMap((word) => TEMPLATES.map((template) => template.replace('{}', word)));
const vocabulary = [...new Set(captions.flatMap((caption) => caption.split(' ')))];
function bagOfWords(texts: readonly string[]): tf.Tensor2D {
  const counts = texts.map((text) => vocabulary.map((word) => text.split(' ').filter((w) => w === word).length));
  return tf.tidy(() => {
    const bags = tf.tensor2d(counts);
    return tf.div(bags, tf.norm(bags, 2, 1, true));
  });
}
const captionBags = bagOfWords(captions); // caption c describes digit floor(c / TEMPLATES.length)

// Two encoders into one 64-d space: images (CNN + head) and texts (an MLP over the bag of words).
const imageEncoder = convEncoder({ seed: 0 });
const imageHead = projectionHead({ outputDim: 64, seed: 1 });
const textEncoder = mlpEncoder({ inputDim: vocabulary.length, hiddenDims: [64], outputDim: 64, outputActivation: 'linear', seed: 2 });
const loss = clipLoss({ learnableScale: true }); // Radford et al. 2021: symmetric InfoNCE, learned logit scale

await train({
  encoder: imageEncoder, head: imageHead, loss, epochs: 3, seed: 0, optimizer: tf.train.adam(1e-3),
  data: samplerBatches(digits, shuffledBatchSampler({ size: digits.count, batchSize: 64 })),
  // Each image gets one of its digit's captions at random: the labels become caption ids.
  views: (batch, rng) => {
    const digitsOfBatch = batch.labels.dataSync();
    const captionIds = Int32Array.from(digitsOfBatch, (digit) => digit * TEMPLATES.length + rng.int(TEMPLATES.length));
    return { inputs: tf.clone(batch.inputs), labels: tf.tensor1d(captionIds, 'int32') };
  },
  // The loss compares the image embeddings z with their captions' text embeddings (the `ref`).
  hooks: {
    lossInput: ({ embeddings, labels }) => ({
      embeddings,
      labels,
      ref: { embeddings: textEncoder.apply(tf.gather(captionBags, labels), { training: true }), labels },
    }),
  },
  // The text encoder and the logit scale are trained (and checkpointed) with the image side.
  variables: [...textEncoder.trainableVariables, ...loss.trainableVariables],
  callbacks: { onEpochEnd: ({ epoch, meanLoss }) => console.log(`epoch ${epoch + 1}: loss ${meanLoss.toFixed(3)}`) },
});

// Zero-shot classification: each test image goes to the digit whose prompt embeds closest.
const prompts = bagOfWords(WORDS.map((word) => `a photo of the digit ${word}`));
const testSet = toTensors(test);
const accuracy = tf.tidy(() => {
  const images = imageHead.apply(embedDataset(imageEncoder, testSet.images));
  const classes = textEncoder.apply(prompts);
  const predicted = tf.argMax(cosineSimilarity().pairwise(images, classes), 1);
  return tf.mean(tf.cast(tf.equal(predicted, testSet.labels), 'float32')).dataSync()[0]!;
});
console.log(`zero-shot top-1: ${(100 * accuracy).toFixed(2)}%, logit scale ${Math.exp(loss.logitScale!.dataSync()[0]!).toFixed(1)}`);
loss.dispose();
tf.dispose([captionBags, prompts, testSet.images, testSet.labels]);
