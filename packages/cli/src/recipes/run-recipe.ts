import * as tf from '@tensorflow/tfjs-core';
import {
  ContrastiveError,
  Rng,
  adam,
  assertNumber,
  assertOneOf,
  convEncoder,
  disposeTrainState,
  embedDataset,
  l2Normalize,
  mlpEncoder,
  projectionHead,
  train,
} from '@contrastive/core';
import type { EpochSummary, Encoder, TrainState } from '@contrastive/core';
import { directoryCheckpointer, hasCheckpoint, loadCheckpoint } from '@contrastive/core/node';
import { compose, recipeAugmentation, tabularNoise } from '@contrastive/augment';
import type { Augmentation } from '@contrastive/augment';
import { samplerBatches, toTensors } from '@contrastive/data';
import type { ImageDataset } from '@contrastive/data';
import { clusterEmbeddings, embeddingReport, knnEvaluate, linearProbe } from '@contrastive/eval';
import { shuffledBatchSampler } from '@contrastive/samplers';
import type { Progress } from '../progress.js';
import type { Recipe, RecipeOptions, RecipePlan } from './recipe.js';

/** Which linear probes a run fits. @category Recipes */
export type ProbeKind = 'adam' | 'lbfgs' | 'both';

/**
 * kNN, linear-probe and clustering figures of one representation (RECIPE.md's evaluation: on `h`,
 * L2-normalised; train split = memory / probe-train, test split = queries).
 * @category Recipes
 */
export interface RepresentationMetrics {
  /** Weighted kNN top-1 (k 20, T 0.07, cosine; Wu et al. 2018). */
  readonly knnTop1: number;
  /** Linear-probe top-1, full-batch Adam (500 steps, lr 1e-2, float32): RECIPE.md's `linear_adam_top1`. */
  readonly linearAdamTop1: number | undefined;
  /** Linear-probe top-1, L-BFGS to convergence (float64, ≤ 500 iterations): RECIPE.md's `linear_top1`. */
  readonly linearTop1: number | undefined;
  /** NMI of spherical k-means (k = classes, 10 restarts) on the test representation against its labels. */
  readonly clusterNmi: number | undefined;
  /** Seconds the evaluations took. */
  readonly seconds: number;
}

/** Settings of {@link runRecipe}. @category Recipes */
export interface RecipeSettings {
  /** The data (host arrays; a train and a test split of the same image shape). */
  readonly dataset: ImageDataset;
  /** Mirror crops: Fashion-MNIST yes, digits no. */
  readonly flip: boolean;
  readonly epochs: number;
  /** Images per batch (each recipe decides how many views it makes of them). */
  readonly batchSize: number;
  readonly seed: number;
  /** Adam learning rate (β 0.9 / 0.999, ε 1e-8). */
  readonly learningRate: number;
  /** The recipe's options; undefined fields take the recipe's defaults. */
  readonly options: RecipeOptions;
  /** Which linear probes to fit. @defaultValue 'both' */
  readonly probe?: ProbeKind;
  /** Evaluate raw pixels and the untrained encoder too. @defaultValue true */
  readonly baselines?: boolean;
  /** Directory of the run's checkpoint. */
  readonly runDir: string;
  /** Continue from the run directory's checkpoint, if any. */
  readonly resume: boolean;
  readonly progress: Progress;
}

/** What {@link runRecipe} measured. @category Recipes */
export interface RecipeOutcome {
  /** Every completed epoch, including those before a resume. */
  readonly epochs: readonly EpochSummary[];
  /** The epoch the run resumed after, or null. */
  readonly resumedFromEpoch: number | null;
  /** Seconds of training in this process. */
  readonly trainSeconds: number;
  /** The trained representation. */
  readonly learned: RepresentationMetrics;
  /** The untrained encoder (with the run's initial weights), when baselines were evaluated. */
  readonly randomInit: RepresentationMetrics | undefined;
  /** Raw pixels, when baselines were evaluated. */
  readonly rawPixels: RepresentationMetrics | undefined;
  /** The recipe's own figures (e.g. CLIP's zero-shot top-1). */
  readonly recipeMetrics: Readonly<Record<string, number>>;
  /** Trainable parameters of the encoder and head (the recipe's extra variables excluded). */
  readonly parameters: number;
  /** The options the recipe ran with (defaults filled in). */
  readonly options: RecipeOptions & { readonly strength: number };
  /** The self-contained HTML report of `@contrastive/eval` (`embeddingReport`) of the test representation. */
  readonly html: string;
}

const FN = 'runRecipe';

function invalid(argument: string, expected: string, value: unknown): ContrastiveError {
  const got = value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;
  return new ContrastiveError('INVALID_ARGUMENT', `Argument '${argument}' passed to '${FN}' must be ${expected}, got ${got}`);
}

function assertRecipe(recipe: unknown): asserts recipe is Recipe {
  const value = recipe as Partial<Recipe> | null;
  if (value === null || typeof value !== 'object' || typeof value.name !== 'string' || typeof value.plan !== 'function' || typeof value.defaults !== 'object') {
    throw invalid('recipe', 'a Recipe { name, title, defaults, plan }', recipe);
  }
}

/** Throws unless `settings` are {@link RecipeSettings} in range; runs before anything is built. */
function assertSettings(settings: unknown): asserts settings is RecipeSettings {
  if (settings === null || typeof settings !== 'object') throw invalid('settings', 'an object (RecipeSettings)', settings);
  const value = settings as Partial<Record<keyof RecipeSettings, unknown>>;
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
  assertNumber(value.learningRate, 'settings.learningRate', FN, { min: 0, exclusiveMin: true });
  if (value.options === null || typeof value.options !== 'object') throw invalid('settings.options', 'an object (RecipeOptions)', value.options);
  const options = value.options as RecipeOptions;
  if (options.temperature !== undefined) assertNumber(options.temperature, 'settings.options.temperature', FN, { min: 0, exclusiveMin: true });
  if (options.strength !== undefined) assertNumber(options.strength, 'settings.options.strength', FN, { min: 0, max: 1 });
  if (value.probe !== undefined) assertOneOf(value.probe, ['adam', 'lbfgs', 'both'] as const, 'settings.probe', FN);
  if (value.baselines !== undefined) assertOneOf(value.baselines, [true, false] as const, 'settings.baselines', FN);
  if (typeof value.runDir !== 'string' || value.runDir === '') throw invalid('settings.runDir', 'a non-empty string', value.runDir);
  assertOneOf(value.flip, [true, false] as const, 'settings.flip', FN);
  assertOneOf(value.resume, [true, false] as const, 'settings.resume', FN);
  const progress = value.progress as Partial<Record<keyof Progress, unknown>> | null | undefined;
  if (progress === null || typeof progress !== 'object' || (['startEpoch', 'step', 'endEpoch', 'log'] as const).some((method) => typeof progress[method] !== 'function')) {
    throw invalid('settings.progress', 'a Progress { startEpoch, step, endEpoch, log }', progress);
  }
}

/** True when the samples are images the reference CNN takes (at least 8 x 8 pixels). */
export function isImageShape(shape: readonly [number, number, number]): boolean {
  return shape[0] >= 8 && shape[1] >= 8;
}

/**
 * The view augmentation of a dataset at view strength `strength` (see {@link RecipeOptions.strength}):
 * RECIPE.md's crop, jitter and noise for images (0.5 = RECIPE.md exactly), Gaussian feature noise
 * (std `0.2 s` of the standardised scale) for tables.
 * @internal
 */
export function datasetAugmentation(shape: readonly [number, number, number], flip: boolean, strength: number): Augmentation {
  if (isImageShape(shape)) return recipeAugmentation({ flip, strength });
  const noise = tabularNoise({ std: 0.2 * strength });
  return compose([
    {
      name: 'tabularViews',
      apply: (images, rng) => tf.tidy(() => tf.reshape(noise.apply(tf.reshape(images, [images.shape[0], -1]) as tf.Tensor2D, rng), images.shape) as tf.Tensor4D),
    },
  ]);
}

/**
 * kNN, the linear probes and the clustering of one representation, as RECIPE.md's evaluation.
 * @internal
 */
export async function evaluateRepresentation(
  trainFeatures: tf.Tensor2D,
  trainLabels: tf.Tensor1D,
  testFeatures: tf.Tensor2D,
  testLabels: tf.Tensor1D,
  probe: ProbeKind,
  classes: number,
): Promise<RepresentationMetrics> {
  const started = performance.now();
  const split = { trainFeatures, trainLabels, testFeatures, testLabels };
  const knn = await knnEvaluate(split, { k: 20, temperature: 0.07 });
  const adam = probe === 'lbfgs' ? undefined : await linearProbe(split, { method: 'adam', steps: 500, learningRate: 1e-2, l2: 1e-4, numClasses: classes });
  const lbfgs = probe === 'adam' ? undefined : await linearProbe(split, { method: 'lbfgs', steps: 500, l2: 1e-4, numClasses: classes });
  // Spherical k-means needs non-zero rows; a dead (all-zero) representation row has no cluster.
  const norms = tf.tidy(() => tf.norm(testFeatures, 'euclidean', 1));
  const minNorm = (Array.from(await norms.data()) as number[]).reduce((low, value) => Math.min(low, value), Infinity);
  norms.dispose();
  const clusters = minNorm > 0 ? await clusterEmbeddings(testFeatures, testLabels, { k: classes, metric: 'cosine', rng: new Rng(0), restarts: 3 }) : undefined;
  return {
    knnTop1: knn.top1,
    linearAdamTop1: adam?.top1,
    linearTop1: lbfgs?.top1,
    clusterNmi: clusters?.nmi,
    seconds: (performance.now() - started) / 1000,
  };
}

/** `0.9475` → `'94.75%'`, `undefined` → `'–'`. @internal */
export function percent(value: number | undefined): string {
  return value === undefined ? '–' : `${(100 * value).toFixed(2)}%`;
}

/**
 * Run one recipe on the reference model (RECIPE.md): the CNN `h` (or, for a table, an MLP
 * 256-128) and a 128-128-64 head `z`, PyTorch's initialisation from the run's seed, Adam (ε 1e-8),
 * the train set reshuffled every epoch with the last partial batch dropped, a checkpoint after every
 * epoch (atomic) and exact resume. Evaluates raw pixels and the untrained encoder first (the
 * baselines), then the trained `h` with the same kNN, linear probes and clustering, and renders the
 * HTML report of the test representation.
 *
 * @param recipe - the method (e.g. {@link simclrRecipe}).
 * @param settings - data, hyper-parameters, run directory and progress display.
 * @returns losses and times per epoch, the metrics, and the HTML report.
 * @throws `ContrastiveError` naming the setting (`settings.batchSize`, ...) before anything is
 * built: `INVALID_ARGUMENT` for a value out of range or of the wrong kind, `SHAPE_MISMATCH` when the
 * test images differ in shape from the train images; `CHECKPOINT` for an unreadable checkpoint; the
 * errors of `toTensors`, of the recipe and of `train` (`NON_FINITE` when a loss diverges).
 * @category Recipes
 */
export async function runRecipe(recipe: Recipe, settings: RecipeSettings): Promise<RecipeOutcome> {
  assertRecipe(recipe);
  assertSettings(settings);
  const { dataset, progress } = settings;
  const probe = settings.probe ?? 'both';
  const options = { ...recipe.defaults, ...definedOnly(settings.options), strength: settings.options.strength ?? recipe.defaults.strength ?? 0.5 };
  recipe.check?.(options, { batchSize: settings.batchSize, trainCount: dataset.train.count });
  const trainTensors = toTensors(dataset.train);
  let testTensors: ReturnType<typeof toTensors>;
  try {
    testTensors = toTensors(dataset.test);
  } catch (error) {
    tf.dispose([trainTensors.images, trainTensors.labels]);
    throw error;
  }
  let largestLabel = 0;
  for (const labels of [dataset.train.labels, dataset.test.labels]) for (const label of labels) largestLabel = Math.max(largestLabel, label);
  const classes = Math.max(dataset.classNames.length, largestLabel + 1);
  const shape = dataset.train.shape;
  const initRng = new Rng(settings.seed);
  const owned: { dispose(): void }[] = [];
  let plan: RecipePlan | undefined;
  let resumeFrom: TrainState | undefined;
  try {
    const encoder: Encoder = isImageShape(shape)
      ? convEncoder({ inputShape: shape, rng: initRng })
      : mlpEncoder({ inputDim: shape[0] * shape[1] * shape[2], hiddenDims: [256], outputDim: 128, rng: initRng });
    owned.push(encoder);
    const head = projectionHead({ inputDim: encoder.outputDim, hiddenDim: 128, outputDim: 64, rng: initRng });
    owned.push(head);
    const optimizer = adam(settings.learningRate, 0.9, 0.999, 1e-8); // tf.train.adam's step, fused on wasm
    owned.push(optimizer);
    const parameters = [...encoder.trainableVariables, ...head.trainableVariables].reduce((sum, v) => sum + v.size, 0);
    const features = async (): Promise<RepresentationMetrics> => {
      const trainFeatures = embedDataset(encoder, trainTensors.images, { batchSize: 500 });
      const testFeatures = embedDataset(encoder, testTensors.images, { batchSize: 500 });
      try {
        return await evaluateRepresentation(trainFeatures, trainTensors.labels, testFeatures, testTensors.labels, probe, classes);
      } finally {
        tf.dispose([trainFeatures, testFeatures]);
      }
    };

    let rawPixels: RepresentationMetrics | undefined;
    let randomInit: RepresentationMetrics | undefined;
    if (settings.baselines ?? true) {
      progress.log('evaluating raw pixels and the untrained encoder ...');
      const rawTrain = tf.reshape(trainTensors.images, [dataset.train.count, -1]) as tf.Tensor2D;
      const rawTest = tf.reshape(testTensors.images, [dataset.test.count, -1]) as tf.Tensor2D;
      try {
        rawPixels = await evaluateRepresentation(rawTrain, trainTensors.labels, rawTest, testTensors.labels, probe, classes);
      } finally {
        tf.dispose([rawTrain, rawTest]);
      }
      randomInit = await features();
      progress.log(
        `raw pixels: kNN ${percent(rawPixels.knnTop1)}, linear ${percent(rawPixels.linearTop1 ?? rawPixels.linearAdamTop1)} | ` +
          `untrained encoder: kNN ${percent(randomInit.knnTop1)}, linear ${percent(randomInit.linearTop1 ?? randomInit.linearAdamTop1)}`,
      );
    }

    if (settings.resume && (await hasCheckpoint(settings.runDir))) {
      resumeFrom = await loadCheckpoint(settings.runDir);
      progress.log(`resuming after epoch ${resumeFrom.epoch} from ${settings.runDir}`);
    }

    plan = await recipe.plan({
      dataset,
      train: trainTensors,
      encoder,
      head,
      options,
      augmentation: datasetAugmentation(shape, settings.flip, options.strength),
      batchSize: settings.batchSize,
      epochs: settings.epochs,
      seed: settings.seed,
      rng: initRng,
      progress,
    });
    const data = plan.data ?? samplerBatches(dataset.train, shuffledBatchSampler({ size: dataset.train.count, batchSize: settings.batchSize }));
    const activePlan = plan;
    const started = performance.now();
    let history: readonly EpochSummary[] = resumeFrom?.history ?? [];
    if (settings.epochs > (resumeFrom?.epoch ?? 0)) {
      const result = await train({
        encoder,
        head,
        data,
        views: plan.views,
        loss: plan.loss,
        ...(plan.miner === undefined ? {} : { miner: plan.miner }),
        ...(plan.hooks === undefined ? {} : { hooks: plan.hooks }),
        ...(plan.variables === undefined ? {} : { variables: plan.variables }),
        optimizer,
        epochs: settings.epochs,
        seed: settings.seed,
        checkpoint: directoryCheckpointer(settings.runDir),
        ...(resumeFrom === undefined ? {} : { resumeFrom }),
        readLossEvery: 1,
        callbacks: {
          onEpochBegin: async ({ epoch, epochs, stepsPerEpoch }) => {
            await activePlan.beginEpoch?.(epoch);
            progress.startEpoch(epoch + 1, epochs, stepsPerEpoch);
          },
          onStepEnd: ({ loss }) => progress.step(loss),
          onEpochEnd: ({ epoch, epochs, meanLoss, seconds }) =>
            progress.endEpoch(`epoch ${epoch + 1}/${epochs}: loss ${meanLoss.toFixed(4)} (${seconds.toFixed(1)} s)`),
        },
      });
      history = result.history;
    } else if (resumeFrom !== undefined) {
      // Nothing left to train: evaluate the checkpoint's weights (and recipe state).
      encoder.setWeights(resumeFrom.encoderWeights);
      head.setWeights(resumeFrom.headWeights);
      const extra = resumeFrom.extra;
      const saved = extra['train.variables'] ?? [];
      plan.variables?.forEach((variable, i) => {
        const value = saved[i];
        if (value !== undefined) variable.assign(value);
      });
      const hookState = Object.fromEntries(Object.entries(extra).filter(([key]) => key !== 'train.variables'));
      if (Object.keys(hookState).length > 0) plan.hooks?.loadState?.(hookState);
    }
    const trainSeconds = (performance.now() - started) / 1000;

    progress.log('evaluating the learned representation ...');
    const learned = await features();
    const recipeMetrics = (await plan.metrics?.()) ?? {};
    const testFeatures = embedDataset(encoder, testTensors.images, { batchSize: 500 });
    let html: string;
    try {
      const unit = l2Normalize(testFeatures);
      try {
        html = await embeddingReport({
          embeddings: unit,
          labels: testTensors.labels,
          classNames: dataset.classNames,
          history: { epochs: history.map((summary) => summary.epoch + 1), loss: history.map((summary) => summary.meanLoss) },
          title: `${recipe.title}: ${settings.epochs} epochs, seed ${settings.seed}`,
        });
      } finally {
        unit.dispose();
      }
    } finally {
      testFeatures.dispose();
    }
    return {
      epochs: history,
      resumedFromEpoch: resumeFrom?.epoch ?? null,
      trainSeconds,
      learned,
      randomInit,
      rawPixels,
      recipeMetrics,
      parameters,
      options,
      html,
    };
  } finally {
    plan?.dispose();
    if (resumeFrom !== undefined) disposeTrainState(resumeFrom);
    tf.dispose([trainTensors.images, trainTensors.labels, testTensors.images, testTensors.labels]);
    for (const item of owned.reverse()) item.dispose();
  }
}

/** The fields of `options` that are not undefined. */
function definedOnly(options: RecipeOptions): RecipeOptions {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as RecipeOptions;
}
