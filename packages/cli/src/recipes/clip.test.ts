import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { Rng, projectionHead } from '@contrastive/core';
import type { Encoder, StepContext } from '@contrastive/core';
import { FLOAT32_TOLERANCE, expectContrastiveError, expectTensorClose, useTestBackend } from '@contrastive/core/testing';
import { recipeAugmentation } from '@contrastive/augment';
import { FASHION_MNIST_CLASS_NAMES, MNIST_CLASS_NAMES, loadMnist } from '@contrastive/data';
import type { ImageDataset } from '@contrastive/data';
import { loadFashionMnist } from '@contrastive/data/node';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createProgress } from '../progress.js';
import type { Progress } from '../progress.js';
import type { RecipeContext, RecipePlan } from './recipe.js';
import { runRecipe } from './run-recipe.js';
import type { RecipeOutcome, RecipeSettings } from './run-recipe.js';
import { bagOfWords, classEmbeddings, clipRecipe, clipTexts, drawCaptions, tokenize, zeroShotPredict } from './clip.js';

const FASHION_DIR = '/usr/share/datasets/fashion-mnist';
/** Measured after 3 epochs on 512 digits (wasm, seeds 0/1/2): 0.59 / 0.72 / 0.64; chance is ~0.1. */
const ZERO_SHOT_BOUND = 0.3;

/**
 * Run sizes. On cpu (`CONTRASTIVE_TEST_BACKEND=cpu`, as `useTestBackend` reads it) the reference CNN's
 * backward pass costs ~1 s of CPU per image (measured: 57 s per 64-image step, 70x its forward), and
 * a step is one synchronous block (see `progress`), so the end-to-end runs train on
 * 64 images in batches of 8 and evaluate on 200 test digits; on wasm 256 images, batches of 64,
 * 1,000 test digits (every `testStride`-th: all classes).
 */
const ON_CPU = process.env['CONTRASTIVE_TEST_BACKEND'] === 'cpu';
const SMALL = ON_CPU ? { trainLimit: 64, batchSize: 8, testStride: 10 } : { trainLimit: 256, batchSize: 64, testStride: 2 };
const END_TO_END_TIMEOUT = ON_CPU ? 3_600_000 : 120_000;

let out: string;
let mnistSmall: ImageDataset;
const quiet = createProgress({ quiet: true });
/**
 * A quiet progress whose `step` yields to the event loop (runRecipe awaits it through `train`'s
 * `onStepEnd`): `train` otherwise stays in the microtask queue for a whole epoch, and on the cpu
 * backend an epoch can outlast vitest's 60-s worker RPC timeout ("Timeout calling onTaskUpdate").
 */
const progress: Progress = {
  ...quiet,
  step: (loss) => {
    quiet.step(loss);
    return new Promise<void>((resolve) => setTimeout(resolve, 0));
  },
};

beforeAll(async () => {
  await useTestBackend();
  out = await mkdtemp(join(tmpdir(), 'contrastive-clip-'));
  vi.spyOn(console, 'log').mockImplementation(() => undefined);
  mnistSmall = thinTest(await loadMnist({ trainLimit: SMALL.trainLimit }), SMALL.testStride);
});

afterAll(async () => {
  vi.restoreAllMocks();
  await rm(out, { recursive: true, force: true });
});

function settings(dataset: ImageDataset, name: string, extra: Partial<RecipeSettings> = {}): RecipeSettings {
  return {
    dataset,
    flip: false,
    epochs: 1,
    batchSize: SMALL.batchSize,
    seed: 0,
    learningRate: 1e-3,
    options: {},
    probe: 'adam',
    baselines: false,
    runDir: join(out, name),
    resume: false,
    progress,
    ...extra,
  };
}

/** Every `stride`-th test image (all classes: the digits' test split is ordered by class), to bound the evaluation time. */
function thinTest(dataset: ImageDataset, stride: number): ImageDataset {
  const { test } = dataset;
  const pixels = test.shape[0] * test.shape[1] * test.shape[2];
  const count = Math.ceil(test.count / stride);
  const images = new Float32Array(count * pixels);
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    images.set(test.images.subarray(i * stride * pixels, (i * stride + 1) * pixels), i * pixels);
    labels[i] = test.labels[i * stride] as number;
  }
  return { ...dataset, test: { ...test, images, labels, count } };
}

/** Checks every run shares: finite losses near log(N) at the start, a sane representation, a zero-shot figure. */
function expectSane(outcome: RecipeOutcome, epochs: number): void {
  expect(outcome.epochs).toHaveLength(epochs);
  for (const { meanLoss } of outcome.epochs) {
    expect(Number.isFinite(meanLoss)).toBe(true);
    expect(meanLoss).toBeGreaterThan(0);
    expect(meanLoss).toBeLessThan(Math.log(SMALL.batchSize) + 0.5); // the symmetric CE starts near log N
  }
  expect(outcome.learned.knnTop1).toBeGreaterThan(0.3); // chance ~0.1
  const zeroShot = outcome.recipeMetrics['zero_shot_top1'] as number;
  expect(zeroShot).toBeGreaterThanOrEqual(0);
  expect(zeroShot).toBeLessThanOrEqual(1);
  expect(outcome.options.temperature).toBe(0.07);
}

// ---------------------------------------------------------------------------------------------
// float64 host references
// ---------------------------------------------------------------------------------------------

type Rows = number[][];
const dot = (a: readonly number[], b: readonly number[]): number => a.reduce((sum, x, i) => sum + x * (b[i] as number), 0);
const unit = (v: readonly number[]): number[] => {
  const norm = Math.sqrt(dot(v, v));
  return v.map((x) => x / Math.max(norm, 1e-12));
};
function rowsOf(tensor: tf.Tensor): Rows {
  return tensor.arraySync() as Rows;
}

/** Word counts over the vocabulary, L2-normalised, by plain loops. */
function hostBag(text: string, vocabulary: readonly string[]): number[] {
  const row = vocabulary.map(() => 0);
  for (const word of tokenize(text)) {
    const i = vocabulary.indexOf(word);
    if (i >= 0) row[i] = (row[i] as number) + 1;
  }
  return unit(row);
}

/** `relu(x W1 + b1) W2 + b2` in float64. */
function hostMlp(x: readonly number[], [w1, b1, w2, b2]: [Rows, number[], Rows, number[]]): number[] {
  const hidden = b1.map((bias, j) => Math.max(0, bias + x.reduce((sum, value, i) => sum + value * (w1[i]![j] as number), 0)));
  return b2.map((bias, j) => bias + hidden.reduce((sum, value, i) => sum + value * (w2[i]![j] as number), 0));
}

/** CLIP's loss (Radford et al. 2021, Figure 3): ½ (CE(images → texts) + CE(texts → images)), diagonal targets. */
function hostClipLoss(images: Rows, texts: Rows, scale: number): number {
  const crossEntropy = (a: Rows, b: Rows): number =>
    a.reduce((total, row, i) => {
      const logits = b.map((other) => scale * dot(unit(row), unit(other)));
      const max = Math.max(...logits);
      return total + max + Math.log(logits.reduce((sum, l) => sum + Math.exp(l - max), 0)) - (logits[i] as number);
    }, 0) / a.length;
  return 0.5 * (crossEntropy(images, texts) + crossEntropy(texts, images));
}

/** Nearest class by cosine to the normalised mean of the normalised prompt embeddings. */
function hostZeroShot(images: Rows, prompts: Rows[], normalisePrompts = true): number[] {
  const classes = prompts.map((list) => {
    const rows = normalisePrompts ? list.map(unit) : list;
    return unit(rows[0]!.map((_, j) => rows.reduce((sum, row) => sum + (row[j] as number), 0) / rows.length));
  });
  return images.map((image) => {
    const sims = classes.map((c) => dot(unit(image), c));
    return sims.indexOf(Math.max(...sims));
  });
}

function randomRows(rng: Rng, n: number, d: number, scale = 1): Rows {
  return Array.from({ length: n }, () => Array.from({ length: d }, () => scale * rng.normal()));
}

// ---------------------------------------------------------------------------------------------
// (a) texts: tokenizer, vocabulary, captions, prompts
// ---------------------------------------------------------------------------------------------

describe('clip texts', () => {
  it('tokenizes lower-case words, keeping inner - / \'', () => {
    expect(tokenize('A photo of a T-shirt/top.')).toEqual(['a', 'photo', 'of', 'a', 't-shirt/top']);
    expect(tokenize('The digit 7, an ODD number!')).toEqual(['the', 'digit', '7', 'an', 'odd', 'number']);
    expect(tokenize(' -- ')).toEqual([]);
  });

  it.each([
    ['fashion-mnist', FASHION_MNIST_CLASS_NAMES],
    ['digits', MNIST_CLASS_NAMES],
    ['generic', ['cat', 'Dog', 'Hot air balloon']],
  ] as const)('%s: deterministic, ≥ 3 distinct captions per class, a sorted vocabulary of every word', (source, names) => {
    const texts = clipTexts(names);
    expect(texts.source).toBe(source);
    expect(clipTexts([...names])).toEqual(texts);
    expect(texts.descriptions).toHaveLength(names.length);
    expect(texts.prompts).toHaveLength(names.length);
    for (const list of texts.descriptions) {
      expect(new Set(list).size).toBe(list.length);
      expect(list.length).toBeGreaterThanOrEqual(3);
    }
    const promptCount = texts.prompts[0]!.length;
    expect(promptCount).toBeGreaterThanOrEqual(3);
    for (const list of texts.prompts) expect(list).toHaveLength(promptCount);
    expect(texts.vocabulary).toEqual([...new Set(texts.vocabulary)].sort());
    const words = new Set([...texts.descriptions.flat(), ...texts.prompts.flat()].flatMap(tokenize));
    expect(new Set(texts.vocabulary)).toEqual(words);
  });

  it.each([
    ['fashion-mnist', FASHION_MNIST_CLASS_NAMES],
    ['digits', MNIST_CLASS_NAMES],
  ] as const)('%s: captions never name another class; prompts are templates over the class name only', (_, names) => {
    const texts = clipTexts(names);
    // The words of each class's own names.
    const own = names.map((name, k) => {
      const words = new Set(tokenize(name));
      if (names === MNIST_CLASS_NAMES) words.add(['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'][k] as string);
      return words;
    });
    const templateWords = new Set(['a', 'an', 'the', 'photo', 'of', 'low', 'resolution', 'grayscale', 'picture', 'digit', 'number']);
    texts.descriptions.forEach((list, k) => {
      for (const text of list) {
        for (const word of tokenize(text)) {
          own.forEach((words, other) => {
            if (other !== k) expect(words.has(word), `'${text}' (class ${k}) names class ${other}`).toBe(false);
          });
        }
      }
    });
    texts.prompts.forEach((list, k) => {
      for (const prompt of list) {
        const words = tokenize(prompt);
        expect(words.some((word) => own[k]!.has(word)), prompt).toBe(true);
        for (const word of words) expect(templateWords.has(word) || own[k]!.has(word), `'${word}' in '${prompt}'`).toBe(true);
      }
    });
  });

  it('describes classes as the issue asks (spot checks)', () => {
    const fashion = clipTexts(FASHION_MNIST_CLASS_NAMES);
    expect(fashion.descriptions[7]).toEqual(expect.arrayContaining(['a photo of a sneaker', 'footwear']));
    expect(fashion.prompts[9]).toContain('a photo of an ankle boot');
    const digits = clipTexts(MNIST_CLASS_NAMES);
    expect(digits.descriptions[7]).toEqual(expect.arrayContaining(['a handwritten seven', 'the digit 7', 'an odd number', 'a prime number']));
    expect(digits.descriptions[8]).toEqual(expect.arrayContaining(['an eight', 'a digit with a loop', 'a digit with a double loop', 'an even number']));
    expect(digits.descriptions[1]).toEqual(expect.arrayContaining(['a one', 'an odd number']));
    expect(digits.descriptions[1]).not.toContain('a prime number');
    expect(digits.descriptions[4]!.some((text) => text.includes('loop'))).toBe(false);
  });

  it('bag of words: L2-normalised counts over the vocabulary, unknown words dropped', () => {
    const vocabulary = ['a', 'bag', 'of', 'photo'];
    const bags = bagOfWords(['a photo of a bag', 'bag', 'zebra', 'A BAG, a bag'], vocabulary);
    expect(bags.shape).toEqual([4, 4]);
    expectTensorClose(bags, [hostBag('a photo of a bag', vocabulary), [0, 1, 0, 0], [0, 0, 0, 0], [Math.SQRT1_2, Math.SQRT1_2, 0, 0]], FLOAT32_TOLERANCE);
    expect(Array.from(bags.dataSync().subarray(0, 4))).toEqual(Array.from(Float32Array.from([2, 1, 1, 1], (count) => count / Math.sqrt(7))));
    bags.dispose();
  });

  it('rejects class names it cannot describe, naming dataset.classNames', () => {
    expectContrastiveError(() => clipTexts(['cat']), 'INVALID_ARGUMENT', /Argument 'dataset.classNames' passed to 'clipRecipe' must be at least 2 class names/);
    expectContrastiveError(() => clipTexts(['cat', '??']), 'INVALID_ARGUMENT', /must name every class with a word, got "\?\?" for label 1/);
    expectContrastiveError(() => clipTexts(['Cat', 'dog', 'cat!']), 'INVALID_ARGUMENT', /must have distinct names, got "Cat" and "cat!" \(labels 0, 2\)/);
  });
});

// ---------------------------------------------------------------------------------------------
// (b) zero-shot classification
// ---------------------------------------------------------------------------------------------

describe('zero-shot classification', () => {
  it('equals the float64 nearest prompt-ensemble computation (normalise, average, re-normalise)', () => {
    const rng = new Rng(3);
    const [n, classes, prompts, d] = [200, 6, 4, 5];
    const images = randomRows(rng, n, d, 3);
    // Prompt embeddings of very different norms: normalising before averaging matters.
    const promptRows = Array.from({ length: classes }, () => randomRows(rng, prompts, d).map((row) => row.map((x) => x * Math.exp(2 * rng.normal()))));
    const expected = hostZeroShot(images, promptRows);
    const imageTensor = tf.tensor2d(images);
    const promptTensor = tf.tensor3d(promptRows);
    const before = tf.memory().numTensors;
    const predicted = zeroShotPredict(imageTensor, promptTensor);
    const centres = classEmbeddings(promptTensor);
    expect(tf.memory().numTensors).toBe(before + 2);
    expect(predicted.dtype).toBe('int32');
    expect(Array.from(predicted.dataSync())).toEqual(expected);
    expectTensorClose(tf.norm(centres, 'euclidean', 1), new Array<number>(classes).fill(1), FLOAT32_TOLERANCE);
    // The test can fail: averaging raw prompt embeddings, or taking the nearest single prompt, gives other answers.
    const unnormalised = hostZeroShot(images, promptRows, false);
    const nearestPrompt = hostZeroShot(images, promptRows.flat().map((row) => [row])).map((index) => Math.floor(index / prompts));
    expect(unnormalised.filter((label, i) => label !== expected[i]).length).toBeGreaterThan(0);
    expect(nearestPrompt.filter((label, i) => label !== expected[i]).length).toBeGreaterThan(0);
    expectContrastiveError(() => zeroShotPredict(imageTensor, tf.zeros([2, 2, 3]) as tf.Tensor3D), 'SHAPE_MISMATCH', /'promptEmbeddings' passed to 'zeroShotPredict' must have width 5/);
    tf.dispose([imageTensor, promptTensor, predicted, centres]);
  });
});

// ---------------------------------------------------------------------------------------------
// (c) the plan: caption draws, step loss, variables
// ---------------------------------------------------------------------------------------------

describe('clip plan mechanics', () => {
  const augmentation = recipeAugmentation({ flip: false, strength: 0.5 });
  let head: Encoder;
  let plan: RecipePlan;
  let before: number;

  beforeAll(async () => {
    before = tf.memory().numTensors;
    head = projectionHead({ inputDim: 128, hiddenDim: 128, outputDim: 64, seed: 1 });
    const context = {
      dataset: mnistSmall,
      head,
      encoder: undefined as unknown as Encoder, // only metrics() uses it
      options: { temperature: 0.07, strength: 0.5 },
      augmentation,
      batchSize: 8,
      epochs: 1,
      seed: 0,
      rng: new Rng(11),
      progress,
    } as unknown as RecipeContext;
    plan = await clipRecipe.plan(context);
  });

  afterAll(() => {
    plan.dispose();
    plan.dispose(); // idempotent
    head.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('trains the text encoder V-128-64 and the logit scale log(1/0.07), both in plan.variables', () => {
    const vocabulary = clipTexts(MNIST_CLASS_NAMES).vocabulary.length;
    const variables = plan.variables ?? [];
    expect(variables.map((v) => v.shape)).toEqual([[vocabulary, 128], [128], [128, 64], [64], []]);
    expect(variables[4]!.dataSync()[0]).toBeCloseTo(Math.log(1 / 0.07), 5);
  });

  it('pairs each image (one augmented view) with a caption of its class, drawn after the augmentation from the step rng', async () => {
    const texts = clipTexts(MNIST_CLASS_NAMES);
    const counts = Int32Array.from(texts.descriptions, (list) => list.length);
    const offsets = Int32Array.from(counts, (_, k) => counts.slice(0, k).reduce((sum, c) => sum + c, 0));
    const captionClass = texts.descriptions.flatMap((list, k) => list.map(() => k));
    const classes = [7, 7, 7, 7, 0, 3, 8, 1, 9, 9];
    const images = tf.randomUniform([classes.length, 28, 28, 1], 0, 1, 'float32', 5) as tf.Tensor4D;
    const labels = tf.tensor1d(classes, 'int32');
    const rng = new Rng(42);
    const views = await plan.views({ inputs: images, labels }, rng);
    const reference = new Rng(42);
    const augmented = augmentation.apply(images, reference);
    const ids = drawCaptions(classes, { offsets, counts }, reference);
    expect(views.inputs.shape).toEqual([classes.length, 28, 28, 1]);
    expect(Array.from(views.inputs.dataSync())).toEqual(Array.from(augmented.dataSync()));
    expect(Array.from(views.labels.dataSync())).toEqual(Array.from(ids));
    expect(rng.state()).toEqual(reference.state());
    expect(Array.from(ids, (id) => captionClass[id])).toEqual(classes);
    // Different images of one class draw different captions (7 × 4 here), and another seed other captions.
    expect(new Set(Array.from(ids.slice(0, 4))).size).toBeGreaterThan(1);
    const other = await plan.views({ inputs: images, labels }, new Rng(43));
    expect(Array.from(other.labels.dataSync())).not.toEqual(Array.from(ids));
    tf.dispose([images, labels, views.inputs, views.labels, augmented, other.inputs, other.labels]);
  });

  it('the step loss equals the float64 symmetric cross-entropy of image z and text-encoder embeddings; gradients reach the text encoder', () => {
    const texts = clipTexts(MNIST_CLASS_NAMES);
    const captions = texts.descriptions.flat();
    const ids = [0, 5, 17, 30, 31, 60, 99, 120];
    const rows = randomRows(new Rng(9), ids.length, 64);
    const embeddings = tf.tensor2d(rows);
    const labels = tf.tensor1d(ids, 'int32');
    const variables = plan.variables ?? [];
    const weights = variables.slice(0, 4).map(rowsOf) as unknown as [Rows, number[], Rows, number[]];
    const textRows = ids.map((id) => hostMlp(hostBag(captions[id] as string, texts.vocabulary), weights));
    const step = { epoch: 0, step: 0, inputs: embeddings, labels, features: embeddings, embeddings, indices: undefined, rng: new Rng(0) } as StepContext;
    const { value, grads } = tf.variableGrads(() => plan.loss.compute(plan.hooks!.lossInput!(step)), [...variables]);
    expectTensorClose(value, hostClipLoss(rows, textRows, 1 / 0.07), FLOAT32_TOLERANCE);
    for (const variable of variables) {
      const grad = grads[variable.name] as tf.Tensor;
      const largest = tf.tidy(() => tf.max(tf.abs(grad)).dataSync()[0] as number);
      expect(largest, variable.name).toBeGreaterThan(0);
    }
    tf.dispose([embeddings, labels, value, ...Object.values(grads)]);
  });
});

// ---------------------------------------------------------------------------------------------
// End to end through runRecipe
// ---------------------------------------------------------------------------------------------

describe('clip recipe end to end', () => {
  let oneEpoch: RecipeOutcome;

  it(`mnist, 1 epoch on ${SMALL.trainLimit} images: finite losses, sane metrics, no leaked tensor`, async () => {
    const before = tf.memory().numTensors;
    oneEpoch = await runRecipe(clipRecipe, settings(mnistSmall, 'resumed'));
    expect(tf.memory().numTensors).toBe(before);
    expectSane(oneEpoch, 1);
  }, END_TO_END_TIMEOUT);

  it('--resume after 1 epoch continues to the losses and zero-shot figure of a straight 2-epoch run', async () => {
    const straight = await runRecipe(clipRecipe, settings(mnistSmall, 'straight', { epochs: 2 }));
    const resumed = await runRecipe(clipRecipe, settings(mnistSmall, 'resumed', { epochs: 2, resume: true }));
    expect(resumed.resumedFromEpoch).toBe(1);
    expect(resumed.epochs.map((epoch) => epoch.meanLoss)).toEqual(straight.epochs.map((epoch) => epoch.meanLoss));
    expect(resumed.epochs[0]!.meanLoss).toBe(oneEpoch.epochs[0]!.meanLoss);
    expect(resumed.recipeMetrics).toEqual(straight.recipeMetrics);
    expect(resumed.learned.knnTop1).toBe(straight.learned.knnTop1);
  }, END_TO_END_TIMEOUT);

  it.skipIf(!existsSync(FASHION_DIR))(`fashion-mnist, 1 epoch on ${SMALL.trainLimit} images: sane, no leaked tensor`, async () => {
    const dataset = thinTest(await loadFashionMnist({ trainLimit: SMALL.trainLimit }), 5 * SMALL.testStride);
    const before = tf.memory().numTensors;
    const outcome = await runRecipe(clipRecipe, settings(dataset, 'fashion', { flip: true }));
    expect(tf.memory().numTensors).toBe(before);
    expectSane(outcome, 1);
  }, END_TO_END_TIMEOUT);

  // 24 training steps of 64: half an hour of CPU on the cpu backend; the figure is the backend-independent math checked above.
  it.skipIf(ON_CPU)('zero-shot top-1 is far above chance after 3 epochs on 512 digits (1,000 test images)', async () => {
    const outcome = await runRecipe(clipRecipe, settings(thinTest(await loadMnist({ trainLimit: 512 }), 2), 'zero-shot', { epochs: 3, batchSize: 64 }));
    expect(outcome.recipeMetrics['zero_shot_top1']).toBeGreaterThan(ZERO_SHOT_BOUND);
    expect(outcome.epochs[2]!.meanLoss).toBeLessThan(outcome.epochs[0]!.meanLoss);
  });

  it('rejects a dataset whose labels have no class name, without leaking', async () => {
    const dataset: ImageDataset = { ...mnistSmall, classNames: MNIST_CLASS_NAMES.slice(0, 9) };
    const before = tf.memory().numTensors;
    await expect(runRecipe(clipRecipe, settings(dataset, 'bad'))).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringMatching(/Argument 'dataset.classNames' passed to 'clipRecipe' must name every label \(0..9\), got 9 names/),
    });
    expect(tf.memory().numTensors).toBe(before);
  });
});
