import * as tf from '@tensorflow/tfjs-core';
import {
  ContrastiveError,
  Rng,
  assertNumber,
  assertOneOf,
  convEncoder,
  disposeTrainState,
  embedDataset,
  projectionHead,
  train,
  viewLabels,
} from '@contrastive/core';
import type { EpochSummary, TrainState } from '@contrastive/core';
import { directoryCheckpointer, hasCheckpoint, loadCheckpoint } from '@contrastive/core/node';
import { recipeAugmentation, viewGenerator } from '@contrastive/augment';
import { samplerBatches, toTensors } from '@contrastive/data';
import type { ImageDataset } from '@contrastive/data';
import { knnEvaluate, linearProbe } from '@contrastive/eval';
import { ntXentLoss } from '@contrastive/losses';
import { shuffledBatchSampler } from '@contrastive/samplers';
import type { Progress } from '../progress.js';

/** kNN and linear-probe top-1 of one representation. @category CLI */
export interface RepresentationMetrics {
  /** Weighted kNN top-1 (k 20, T 0.07, cosine; Wu et al. 2018). */
  readonly knnTop1: number;
  /** Linear-probe top-1 (full-batch Adam, 500 steps, RECIPE.md's `linear_adam_top1`). */
  readonly linearTop1: number;
  /** Seconds the two evaluations took. */
  readonly seconds: number;
}

/** Settings of {@link runSimclr}. @category CLI */
export interface SimclrSettings {
  readonly dataset: ImageDataset;
  /** Mirror crops (Fashion-MNIST yes, digits no). */
  readonly flip: boolean;
  readonly epochs: number;
  readonly batchSize: number;
  readonly seed: number;
  readonly temperature: number;
  readonly learningRate: number;
  /** Directory of the run's checkpoint. */
  readonly runDir: string;
  /** Continue from the run directory's checkpoint, if any. */
  readonly resume: boolean;
  readonly progress: Progress;
}

/** What {@link runSimclr} measured. @category CLI */
export interface SimclrOutcome {
  readonly epochs: readonly EpochSummary[];
  readonly resumedFromEpoch: number | null;
  readonly trainSeconds: number;
  readonly learned: RepresentationMetrics;
  readonly randomInit: RepresentationMetrics;
  readonly rawPixels: RepresentationMetrics;
  readonly parameters: number;
}

/**
 * kNN and linear probe of features computed for the train (memory / probe-train) and test (query)
 * splits, as RECIPE.md's evaluation: on `h`, never on the projection `z`.
 */
async function evaluate(trainFeatures: tf.Tensor2D, trainLabels: tf.Tensor1D, testFeatures: tf.Tensor2D, testLabels: tf.Tensor1D): Promise<RepresentationMetrics> {
  const started = performance.now();
  const split = { trainFeatures, trainLabels, testFeatures, testLabels };
  const knn = await knnEvaluate(split, { k: 20, temperature: 0.07 });
  const probe = await linearProbe(split, { method: 'adam', steps: 500, learningRate: 1e-2, l2: 1e-4 });
  return { knnTop1: knn.top1, linearTop1: probe.top1, seconds: (performance.now() - started) / 1000 };
}

function flatten(images: tf.Tensor4D): tf.Tensor2D {
  return tf.reshape(images, [images.shape[0], -1]);
}

const FN = 'runSimclr';

function invalid(argument: string, expected: string, value: unknown): ContrastiveError {
  const got = value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;
  return new ContrastiveError('INVALID_ARGUMENT', `Argument '${argument}' passed to '${FN}' must be ${expected}, got ${got}`);
}

/** Throws unless `settings` are {@link SimclrSettings} in range; runs before anything is built. */
function assertSettings(settings: unknown): asserts settings is SimclrSettings {
  if (settings === null || typeof settings !== 'object') throw invalid('settings', 'an object (SimclrSettings)', settings);
  const value = settings as Partial<Record<keyof SimclrSettings, unknown>>;
  const dataset = value.dataset as { train?: unknown; test?: unknown } | null | undefined;
  if (dataset === null || typeof dataset !== 'object') throw invalid('settings.dataset', 'an ImageDataset { train, test, classNames }', dataset);
  for (const split of ['train', 'test'] as const) {
    if (dataset[split] === null || typeof dataset[split] !== 'object') throw invalid(`settings.dataset.${split}`, 'an ImageSplit', dataset[split]);
  }
  const train = dataset.train as { shape?: unknown; count?: unknown };
  const test = dataset.test as { shape?: unknown };
  if (!Array.isArray(train.shape) || !Array.isArray(test.shape) || train.shape.join(',') !== test.shape.join(',')) {
    throw new ContrastiveError(
      'SHAPE_MISMATCH',
      `Argument 'settings.dataset.test' passed to '${FN}' must hold images of the train shape ${JSON.stringify(train.shape)}, got ${JSON.stringify(test.shape)}`,
    );
  }
  assertNumber(value.epochs, 'settings.epochs', FN, { integer: true, min: 0 });
  const count = typeof train.count === 'number' && Number.isInteger(train.count) ? train.count : undefined;
  assertNumber(value.batchSize, 'settings.batchSize', FN, { integer: true, min: 2, ...(count === undefined ? {} : { max: count }) });
  assertNumber(value.seed, 'settings.seed', FN, { integer: true, min: 0 });
  assertNumber(value.temperature, 'settings.temperature', FN, { min: 0, exclusiveMin: true });
  assertNumber(value.learningRate, 'settings.learningRate', FN, { min: 0, exclusiveMin: true });
  if (typeof value.runDir !== 'string' || value.runDir === '') throw invalid('settings.runDir', 'a non-empty string', value.runDir);
  assertOneOf(value.flip, [true, false] as const, 'settings.flip', FN);
  assertOneOf(value.resume, [true, false] as const, 'settings.resume', FN);
  const progress = value.progress as Partial<Record<keyof Progress, unknown>> | null | undefined;
  if (progress === null || typeof progress !== 'object' || (['startEpoch', 'step', 'endEpoch', 'log'] as const).some((method) => typeof progress[method] !== 'function')) {
    throw invalid('settings.progress', 'a Progress { startEpoch, step, endEpoch, log }', progress);
  }
}

/**
 * SimCLR (Chen et al. 2020) as RECIPE.md runs it: the reference CNN `h` and a 128-128-64 head `z`,
 * two augmented views per image in one batch (rows `0..N-1` view 1, `N..2N-1` view 2), NT-Xent on
 * `z`, Adam (eps 1e-8), the train set reshuffled every epoch with the last partial batch dropped.
 * Evaluates the untrained encoder, the trained one and raw pixels with the same kNN and probe.
 *
 * @param settings - data, hyper-parameters, run directory and progress display.
 * @returns per-epoch losses and times, and the three sets of metrics.
 * @throws `ContrastiveError` naming the setting (`settings.batchSize`, ...) before anything is
 * built: `INVALID_ARGUMENT` for a value out of range (`batchSize` outside `[2, train images]`,
 * `temperature <= 0`, ...) or of the wrong kind, `SHAPE_MISMATCH` when the test images differ in
 * shape from the train images; the errors of `toTensors` for a malformed split.
 * @category CLI
 */
export async function runSimclr(settings: SimclrSettings): Promise<SimclrOutcome> {
  assertSettings(settings);
  const { dataset, progress } = settings;
  // The splits first: toTensors validates them, and nothing else exists yet to free if it throws.
  const trainTensors = toTensors(dataset.train);
  let testTensors: ReturnType<typeof toTensors>;
  try {
    testTensors = toTensors(dataset.test);
  } catch (error) {
    tf.dispose([trainTensors.images, trainTensors.labels]);
    throw error;
  }
  const initRng = new Rng(settings.seed);
  const encoder = convEncoder({ inputShape: dataset.train.shape, rng: initRng });
  const head = projectionHead({ inputDim: encoder.outputDim, hiddenDim: 128, outputDim: 64, rng: initRng });
  const optimizer = tf.train.adam(settings.learningRate, 0.9, 0.999, 1e-8);
  let resumeFrom: TrainState | undefined;
  try {
    const parameters = [...encoder.trainableVariables, ...head.trainableVariables].reduce((sum, v) => sum + v.size, 0);
    const features = async (): Promise<RepresentationMetrics> => {
      const trainFeatures = embedDataset(encoder, trainTensors.images, { batchSize: 500 });
      const testFeatures = embedDataset(encoder, testTensors.images, { batchSize: 500 });
      try {
        return await evaluate(trainFeatures, trainTensors.labels, testFeatures, testTensors.labels);
      } finally {
        tf.dispose([trainFeatures, testFeatures]);
      }
    };

    progress.log('evaluating raw pixels and the untrained encoder ...');
    const rawTrain = flatten(trainTensors.images);
    const rawTest = flatten(testTensors.images);
    let rawPixels: RepresentationMetrics;
    try {
      rawPixels = await evaluate(rawTrain, trainTensors.labels, rawTest, testTensors.labels);
    } finally {
      tf.dispose([rawTrain, rawTest]);
    }
    const randomInit = await features();
    progress.log(
      `raw pixels: kNN ${percent(rawPixels.knnTop1)}, linear ${percent(rawPixels.linearTop1)} | ` +
        `untrained encoder: kNN ${percent(randomInit.knnTop1)}, linear ${percent(randomInit.linearTop1)}`,
    );

    if (settings.resume && (await hasCheckpoint(settings.runDir))) {
      resumeFrom = await loadCheckpoint(settings.runDir);
      progress.log(`resuming after epoch ${resumeFrom.epoch} from ${settings.runDir}`);
    }

    const source = samplerBatches(dataset.train, shuffledBatchSampler({ size: dataset.train.count, batchSize: settings.batchSize }));
    const twoViews = viewGenerator({ augmentation: recipeAugmentation({ flip: settings.flip }), views: 2 });

    const started = performance.now();
    const result = await train({
      encoder,
      head,
      data: source,
      views: (batch, rng) => ({
        inputs: twoViews.generate(batch.inputs as tf.Tensor4D, rng),
        labels: viewLabels(batch.labels.shape[0], 2),
      }),
      loss: ntXentLoss({ temperature: settings.temperature }),
      optimizer,
      epochs: settings.epochs,
      seed: settings.seed,
      checkpoint: directoryCheckpointer(settings.runDir),
      ...(resumeFrom === undefined ? {} : { resumeFrom }),
      readLossEvery: 1,
      callbacks: {
        onEpochBegin: ({ epoch, epochs, stepsPerEpoch }) => progress.startEpoch(epoch + 1, epochs, stepsPerEpoch),
        onStepEnd: ({ loss }) => progress.step(loss),
        onEpochEnd: ({ epoch, epochs, meanLoss, seconds }) =>
          progress.endEpoch(`epoch ${epoch + 1}/${epochs}: loss ${meanLoss.toFixed(4)} (${seconds.toFixed(1)} s)`),
      },
    });
    const trainSeconds = (performance.now() - started) / 1000;

    progress.log('evaluating the learned representation ...');
    const learned = await features();
    return {
      epochs: result.history,
      resumedFromEpoch: resumeFrom?.epoch ?? null,
      trainSeconds,
      learned,
      randomInit,
      rawPixels,
      parameters,
    };
  } finally {
    if (resumeFrom !== undefined) disposeTrainState(resumeFrom);
    tf.dispose([trainTensors.images, trainTensors.labels, testTensors.images, testTensors.labels]);
    optimizer.dispose();
    encoder.dispose();
    head.dispose();
  }
}

/** `0.9475` → `'94.75%'`. @internal */
export function percent(value: number): string {
  return `${(100 * value).toFixed(2)}%`;
}
