import { writeFile } from 'node:fs/promises';
import * as tf from '@tensorflow/tfjs-core';
import { convEncoder, embedDataset, l2Normalize, selectBackend } from '@contrastive/core';
import { loadMnist, toTensors } from '@contrastive/data';
import { clusterEmbeddings, embeddingReport, knnEvaluate, linearProbe, projectorExport, retrievalMetrics } from '@contrastive/eval';

await selectBackend({ log: false });
const { train: digits, test, classNames } = await loadMnist({ trainLimit: 2000 });
const [trainSet, testSet] = [toTensors(digits), toTensors(test)];
// The encoder under test: here an untrained CNN, the baseline every trained encoder must beat.
const encoder = convEncoder({ seed: 0 });
const trainFeatures = embedDataset(encoder, trainSet.images); // h [2000, 128]
const testFeatures = embedDataset(encoder, testSet.images); //   h [2000, 128]
const split = { trainFeatures, trainLabels: trainSet.labels, testFeatures, testLabels: testSet.labels };

// Classification from frozen features: weighted kNN (k 20, τ 0.07) and a linear probe.
const knn = await knnEvaluate(split);
const probe = await linearProbe(split, { method: 'lbfgs' });
console.log(`kNN top-1 ${knn.top1.toFixed(4)}, linear probe top-1 ${probe.top1.toFixed(4)}`);

// Retrieval: every test digit queries the train digits, cosine similarity.
const retrieval = await retrievalMetrics({
  query: testFeatures, queryLabels: testSet.labels, reference: trainFeatures, referenceLabels: trainSet.labels,
  distance: 'cosine', k: 10, metrics: ['precisionAtOne', 'recallAtK', 'meanAveragePrecisionAtR'],
});
console.log(`P@1 ${retrieval.precisionAtOne?.toFixed(4)}, Recall@10 ${retrieval.recallAtK?.toFixed(4)}, MAP@R ${retrieval.meanAveragePrecisionAtR?.toFixed(4)}`);

// Clustering: k-means with k = 10 on the test features against the digits.
const { nmi, ari } = clusterEmbeddings(testFeatures, testSet.labels, { metric: 'cosine' });
console.log(`k-means NMI ${nmi.toFixed(4)}, ARI ${ari.toFixed(4)}`);

// A self-contained HTML page (PCA map, neighbours) and the TensorBoard projector's two TSV files.
const unit = l2Normalize(testFeatures);
await writeFile('report.html', await embeddingReport({ embeddings: unit, labels: testSet.labels, classNames, title: 'Untrained CNN on MNIST' }));
const { vectors, metadata } = projectorExport(unit, { columns: [{ name: 'digit', values: Array.from(test.labels, (label) => classNames[label]!) }] });
await writeFile('vectors.tsv', vectors);
await writeFile('metadata.tsv', metadata!);
tf.dispose([trainSet.images, trainSet.labels, testSet.images, testSet.labels, trainFeatures, testFeatures, unit]);
