/**
 * One training run of the page, composed only from the public APIs of the Contrastive packages:
 * MNIST digits from `@contrastive/data`, the recipe's two-view augmentation from
 * `@contrastive/augment`, NT-Xent (SimCLR) or SupCon from `@contrastive/losses`, the shuffled
 * sampler of `@contrastive/samplers`, core's encoders and `train` loop, and the kNN monitor and
 * exports of `@contrastive/eval`.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  convEncoder,
  cosineSimilarity,
  embedDataset,
  l2Normalize,
  mlpEncoder,
  projectionHead,
  Rng,
  train,
  viewLabels,
} from '@contrastive/core';
import type { Encoder, Loss, ViewGenerator } from '@contrastive/core';
import { recipeAugmentation, viewGenerator } from '@contrastive/augment';
import { ntXentLoss, supConLoss } from '@contrastive/losses';
import { shuffledBatchSampler } from '@contrastive/samplers';
import { gatherBatch, loadMnist, roundRobinLimit, samplerBatches, toTensors } from '@contrastive/data';
import type { ImageDataset, ImageTensors } from '@contrastive/data';
import { embeddingReport, knnEvaluate, projectorExport } from '@contrastive/eval';
import type { ProjectorFiles } from '@contrastive/eval';
import { pca2d } from './pca.js';
import type { Projection2d } from './pca.js';

export type Method = 'simclr' | 'supcon';
export type EncoderKind = 'cnn' | 'mlp';

export interface Settings {
  /** SimCLR (instance labels, NT-Xent, τ 0.5) or SupCon (class labels, τ 0.1), as the CLI recipes. */
  readonly method: Method;
  /** Train images, taken class by class in round-robin order (balanced). */
  readonly trainCount: number;
  /** Test images shown on the map and scored by kNN, spread evenly over the test split. */
  readonly testCount: number;
  readonly epochs: number;
  readonly batchSize: number;
  readonly learningRate: number;
  readonly seed: number;
  /** The reference CNN, or a small MLP (the CNN's gradients are slow on the plain cpu backend). */
  readonly encoder: EncoderKind;
}

export interface StepUpdate {
  readonly epoch: number;
  readonly step: number;
  readonly stepsPerEpoch: number;
  readonly loss: number;
}

export interface EpochUpdate {
  /** 0 before training (the untrained encoder), then 1, 2, ... */
  readonly epoch: number;
  /** Mean training loss of the epoch; undefined for epoch 0. */
  readonly meanLoss: number | undefined;
  readonly seconds: number | undefined;
  /** Weighted kNN top-1 (k = min(20, train), τ 0.07) of the test images against the train images, on h. */
  readonly knnTop1: number;
  /** 2-D PCA of the L2-normalised test features. */
  readonly projection: Projection2d;
}

export interface SessionEvents {
  onStep(update: StepUpdate): void | Promise<void>;
  onEpoch(update: EpochUpdate): void | Promise<void>;
}

export interface Neighbour {
  /** Row among the test images of the map. */
  readonly index: number;
  readonly label: number;
  readonly similarity: number;
}

let mnist: Promise<ImageDataset> | undefined;

/** The 10,000 embedded digits, parsed once per page. */
function digits(): Promise<ImageDataset> {
  mnist ??= loadMnist();
  return mnist;
}

/** Let the browser paint and handle input between training steps. */
function yieldToBrowser(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

export class PlaygroundSession {
  readonly settings: Settings;
  /** Pixels of the map's test images, `testCount * 784`, for the gallery. */
  readonly testPixels: Float32Array;
  /** Labels of the map's test images. */
  readonly testLabels: Int32Array;
  readonly classNames: readonly string[];
  private readonly trainSet: ImageDataset['train'];
  private readonly trainTensors: ImageTensors;
  private readonly testTensors: ImageTensors;
  private readonly encoder: Encoder;
  private readonly head: Encoder;
  private readonly optimizer: tf.Optimizer;
  /** `[testCount, d]` L2-normalised test features of the latest evaluation. */
  private features: tf.Tensor2D | undefined;
  private disposed = false;

  private constructor(settings: Settings, dataset: ImageDataset, trainSet: ImageDataset['train'], testIndices: Int32Array) {
    this.settings = settings;
    this.classNames = dataset.classNames;
    this.trainSet = trainSet;
    this.testLabels = Int32Array.from(testIndices, (index) => dataset.test.labels[index]!);
    const pixels = dataset.test.shape[0] * dataset.test.shape[1] * dataset.test.shape[2];
    this.testPixels = new Float32Array(testIndices.length * pixels);
    testIndices.forEach((index, row) => this.testPixels.set(dataset.test.images.subarray(index * pixels, (index + 1) * pixels), row * pixels));
    this.trainTensors = toTensors(trainSet);
    this.testTensors = gatherBatch(dataset.test, testIndices);
    const rng = new Rng(settings.seed);
    this.encoder =
      settings.encoder === 'cnn'
        ? convEncoder({ inputShape: trainSet.shape, rng })
        : mlpEncoder({ inputDim: pixels, hiddenDims: [256], outputDim: 128, rng });
    this.head = projectionHead({ inputDim: this.encoder.outputDim, hiddenDim: 128, outputDim: 64, rng });
    this.optimizer = tf.train.adam(settings.learningRate, 0.9, 0.999, 1e-8);
  }

  static async create(settings: Settings): Promise<PlaygroundSession> {
    const dataset = await digits();
    const trainSet = roundRobinLimit(dataset.train, settings.trainCount);
    const testCount = Math.min(settings.testCount, dataset.test.count);
    // Evenly spaced rows of the (digit-ordered) test split: every digit appears.
    const testIndices = Int32Array.from({ length: testCount }, (_, i) => Math.floor((i * dataset.test.count) / testCount));
    return new PlaygroundSession(settings, dataset, trainSet, testIndices);
  }

  get outputDim(): number {
    return this.encoder.outputDim;
  }

  /** Evaluate the untrained encoder, train, and evaluate after every epoch. */
  async run(events: SessionEvents, signal?: AbortSignal): Promise<{ stopped: boolean }> {
    const { method, epochs, batchSize, seed } = this.settings;
    await events.onEpoch({ epoch: 0, meanLoss: undefined, seconds: undefined, ...(await this.evaluate()) });
    const generator = viewGenerator({ augmentation: recipeAugmentation(), views: 2 });
    const views: ViewGenerator = (batch, rng) => {
      const n = batch.labels.shape[0];
      return {
        inputs: generator.generate(batch.inputs as tf.Tensor4D, rng),
        // Views are labels: SimCLR's positives are the other view of the same image, SupCon's
        // every view of the same digit.
        labels: method === 'simclr' ? viewLabels(n, 2) : tf.concat([batch.labels, batch.labels]),
      };
    };
    const loss: Loss = method === 'simclr' ? ntXentLoss({ temperature: 0.5 }) : supConLoss({ temperature: 0.1 });
    const data = samplerBatches(this.trainSet, shuffledBatchSampler({ size: this.trainSet.count, batchSize: Math.min(batchSize, this.trainSet.count) }));
    const result = await train({
      encoder: this.encoder,
      head: this.head,
      data,
      views,
      loss,
      optimizer: this.optimizer,
      epochs,
      seed,
      readLossEvery: 1,
      ...(signal === undefined ? {} : { signal }),
      callbacks: {
        onStepEnd: async ({ epoch, step, stepsPerEpoch, loss: value }) => {
          await events.onStep({ epoch, step, stepsPerEpoch, loss: value });
          await yieldToBrowser();
        },
        onEpochEnd: async ({ epoch, meanLoss, seconds }) => {
          const evaluation = await this.evaluate();
          await events.onEpoch({ epoch: epoch + 1, meanLoss, seconds, ...evaluation });
          await yieldToBrowser();
        },
      },
    });
    return { stopped: result.stopped };
  }

  /** kNN accuracy and the 2-D map of the current encoder. */
  private async evaluate(): Promise<{ knnTop1: number; projection: Projection2d }> {
    const trainFeatures = embedDataset(this.encoder, this.trainTensors.images, { batchSize: 250 });
    const testFeatures = embedDataset(this.encoder, this.testTensors.images, { batchSize: 250 });
    try {
      const { top1 } = await knnEvaluate(
        { trainFeatures, trainLabels: this.trainTensors.labels, testFeatures, testLabels: this.testTensors.labels },
        { k: Math.min(20, this.trainSet.count) },
      );
      const unit = l2Normalize(testFeatures);
      this.features?.dispose();
      this.features = unit;
      const [rows, dims] = unit.shape;
      const projection = pca2d((await unit.data()) as Float32Array, rows, dims);
      return { knnTop1: top1, projection };
    } finally {
      tf.dispose([trainFeatures, testFeatures]);
    }
  }

  /** The `k` test images most cosine-similar to test image `index` (itself excluded), best first. */
  async neighbours(index: number, k: number): Promise<Neighbour[]> {
    const features = this.current();
    const rows = features.shape[0];
    const { values, indices } = tf.tidy(() => {
      const query = tf.slice(features, [index, 0], [1, -1]);
      return tf.topk(cosineSimilarity().pairwise(query, features), Math.min(k + 1, rows));
    });
    try {
      const [similarities, order] = await Promise.all([values.data(), indices.data()]);
      const result: Neighbour[] = [];
      order.forEach((row, i) => {
        if (row !== index && result.length < k) result.push({ index: row, label: this.testLabels[row]!, similarity: similarities[i]! });
      });
      return result;
    } finally {
      tf.dispose([values, indices]);
    }
  }

  /** Download the trained encoder `e: X -> V` in the TF.js layers format (model.json + weights.bin). */
  async saveEncoder(): Promise<void> {
    this.current();
    await this.encoder.model.save('downloads://contrastive-encoder');
  }

  /** TensorBoard-projector TSVs of the map's test features `h / ||h||`, labelled by digit. */
  projectorFiles(): ProjectorFiles {
    return projectorExport(this.current(), {
      columns: [{ name: 'label', values: Array.from(this.testLabels, (label) => this.classNames[label] ?? String(label)) }],
    });
  }

  /** eval's self-contained HTML report of the map's test features, with the training curves. */
  report(history: { epochs: number[]; loss: number[]; knn: number[] }): Promise<string> {
    const { method, trainCount, epochs } = this.settings;
    return embeddingReport({
      embeddings: this.current(),
      labels: this.testLabels,
      classNames: this.classNames,
      history: { epochs: history.epochs, loss: history.loss, metrics: { 'kNN top-1': history.knn } },
      title: `${method === 'simclr' ? 'SimCLR' : 'SupCon'} in the browser: ${trainCount} digits, ${epochs} epochs`,
    });
  }

  private current(): tf.Tensor2D {
    if (this.disposed || this.features === undefined) throw new Error('the session has no embeddings yet (or was disposed)');
    return this.features;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    tf.dispose([this.trainTensors.images, this.trainTensors.labels, this.testTensors.images, this.testTensors.labels]);
    this.features?.dispose();
    this.encoder.dispose();
    this.head.dispose();
    this.optimizer.dispose();
  }
}
