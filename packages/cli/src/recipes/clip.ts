import * as tf from '@tensorflow/tfjs-core';
import { ContrastiveError, assertNumber, embedDataset, l2Normalize, mlpEncoder } from '@contrastive/core';
import type { Batch, Encoder, LossInput, Rng, StepContext, TrainHooks, ViewGenerator } from '@contrastive/core';
import type { Augmentation } from '@contrastive/augment';
import { FASHION_MNIST_CLASS_NAMES, MNIST_CLASS_NAMES, toTensors } from '@contrastive/data';
import { clipLoss } from '@contrastive/losses';
import type { ClipLoss } from '@contrastive/losses';
import type { Recipe, RecipeContext, RecipePlan } from './recipe.js';

const FN = 'clipRecipe';

// ---------------------------------------------------------------------------------------------
// Texts: descriptions (training captions) and zero-shot prompts, per class
// ---------------------------------------------------------------------------------------------

/** A template over a class: `{name}` is the class name, `{a} {name}` the name with its indefinite article. */
type Template = string;

/** How the classes of a known dataset are described. */
interface DescriptionTable {
  /** Class names the table applies to (compared exactly with `dataset.classNames`). */
  readonly classNames: readonly string[];
  /** Templates of the training captions, filled with every name of a class. */
  readonly templates: readonly Template[];
  /** Templates of the zero-shot prompts (filled with the same names). */
  readonly prompts: readonly Template[];
  /** The names of each class the templates are filled with (for digits: the numeral and the word). */
  readonly names: readonly (readonly string[])[];
  /** Factual attribute phrases of each class, used as training captions as they are. */
  readonly attributes: readonly (readonly string[])[];
  /** Templates only filled with a class's first name (e.g. `'the digit {name}'` with the numeral). */
  readonly firstNameTemplates?: readonly Template[];
}

/** Templates of any dataset's training captions: the class name only. */
const GENERIC_TEMPLATES: readonly Template[] = [
  'a photo of {a} {name}',
  'a picture of {a} {name}',
  'a grayscale photo of {a} {name}',
  'a low resolution photo of the {name}',
  '{a} {name}',
  'the {name}',
];

/**
 * Zero-shot prompts (CLIP's "a photo of a {label}" and two variants of its ImageNet ensemble). Every
 * word also occurs in {@link GENERIC_TEMPLATES}, but only the first prompt is one of the captions.
 */
const GENERIC_PROMPTS: readonly Template[] = ['a photo of {a} {name}', 'a low resolution photo of {a} {name}', 'a grayscale picture of the {name}'];

const FASHION_TABLE: DescriptionTable = {
  classNames: FASHION_MNIST_CLASS_NAMES,
  templates: GENERIC_TEMPLATES,
  prompts: GENERIC_PROMPTS,
  names: FASHION_MNIST_CLASS_NAMES.map((name) => [name.toLowerCase()]),
  // Factual phrases that never contain another class's name (`shirt` is not a word of `t-shirt/top`).
  attributes: [
    ['clothing for the upper body', 'a casual garment', 'a garment with short sleeves'],
    ['clothing for the legs', 'a pair of pants', 'a garment with two legs'],
    ['clothing for the upper body', 'a knitted garment', 'a garment with long sleeves'],
    ['a one-piece garment', 'a garment with a skirt'],
    ['outerwear', 'clothing for the upper body', 'a garment with long sleeves'],
    ['footwear', 'an open shoe', 'a summer shoe'],
    ['clothing for the upper body', 'a garment with a collar', 'a garment with buttons'],
    ['footwear', 'a sports shoe', 'a shoe with laces'],
    ['an accessory', 'a handbag', 'an accessory for carrying things'],
    ['footwear', 'a shoe that covers the ankle', 'a closed shoe'],
  ],
};

const DIGIT_WORDS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'] as const;

/** Factual attributes of a digit: parity, primality, loops (4 is written open or closed: no loop claim). */
function digitAttributes(digit: number): string[] {
  const attributes = [digit % 2 === 0 ? 'an even number' : 'an odd number'];
  if ([2, 3, 5, 7].includes(digit)) attributes.push('a prime number');
  if ([0, 6, 8, 9].includes(digit)) attributes.push('a digit with a loop');
  if (digit === 8) attributes.push('a digit with a double loop');
  if ([1, 2, 3, 5, 7].includes(digit)) attributes.push('a digit without a loop');
  return attributes;
}

const DIGIT_TABLE: DescriptionTable = {
  classNames: MNIST_CLASS_NAMES,
  templates: ['a photo of {a} {name}', 'a handwritten {name}', 'the number {name}', '{a} {name}'],
  firstNameTemplates: ['the digit {name}', 'a photo of the digit {name}', 'a handwritten digit {name}'],
  prompts: ['a photo of the digit {name}', 'a photo of {a} {name}', 'the number {name}'],
  // The numeral first ('7'), then the word ('seven').
  names: DIGIT_WORDS.map((word, digit) => [String(digit), word]),
  attributes: DIGIT_WORDS.map((_, digit) => digitAttributes(digit)),
};

/** Indefinite article of `word`: 'an' before a vowel sound ('an eight', 'an 8', 'a one'). */
function article(word: string): string {
  return /^(one\b|uni|use)/.test(word) ? 'a' : /^([aeiou]|8|11\b|18\b)/.test(word) ? 'an' : 'a';
}

function fill(template: Template, name: string): string {
  return template.replace('{a} {name}', `${article(name)} ${name}`).replace('{name}', name);
}

/**
 * Lower-case word tokens of a text: runs of letters and digits, joined by inner `-`, `/` or `'`
 * (`'T-shirt/top'` is one word), everything else a separator.
 *
 * @param text - any string.
 * @returns the words in order (empty for a text without letters or digits).
 * @example
 * ```ts
 * tokenize('A photo of a T-shirt/top.'); // ['a', 'photo', 'of', 'a', 't-shirt/top']
 * ```
 * @internal
 */
export function tokenize(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}]+(?:[-/'][\p{L}\p{N}]+)*/gu) ?? [];
}

/**
 * The texts of the {@link clipRecipe}: the training captions of every class, its zero-shot prompts
 * and the vocabulary of both.
 * @internal
 */
export interface ClipTexts {
  /** Distinct captions of each class (`descriptions[k]` for label `k`), in a fixed order. */
  readonly descriptions: readonly (readonly string[])[];
  /** Zero-shot prompts of each class, the same number for every class. */
  readonly prompts: readonly (readonly string[])[];
  /** Every word of the captions and prompts, sorted (the bag-of-words columns). */
  readonly vocabulary: readonly string[];
  /** Which table made them: Fashion-MNIST, the digits, or templates over the class name only. */
  readonly source: 'fashion-mnist' | 'digits' | 'generic';
}

function sameNames(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((name, i) => name === b[i]);
}

/**
 * Generate the captions and zero-shot prompts of a dataset's classes, deterministically.
 *
 * Fashion-MNIST (`FASHION_MNIST_CLASS_NAMES`) and the digits (`MNIST_CLASS_NAMES`) get templates
 * over the class name ("a photo of a sneaker"; "a handwritten seven", "the digit 7") plus factual
 * attribute phrases ("footwear"; "an odd number", "a digit with a loop") that never name another
 * class. Any other class names get the templates over the name only. The prompts are CLIP-style
 * templates over the class name only ("a photo of a {name}" and variants): attributes never reach
 * the zero-shot classifier.
 *
 * @param classNames - the dataset's class names, label `k` = `classNames[k]`.
 * @returns the texts ({@link ClipTexts}); at least 3 distinct captions per class.
 * @throws `ContrastiveError` `INVALID_ARGUMENT` naming `dataset.classNames` when it has fewer than 2
 * names, a name without a letter or digit, or two names with the same words.
 * @example
 * ```ts
 * const texts = clipTexts(FASHION_MNIST_CLASS_NAMES);
 * texts.descriptions[7]; // ['a photo of a sneaker', ..., 'footwear', 'a sports shoe', 'a shoe with laces']
 * texts.prompts[7];      // ['a photo of a sneaker', 'a low resolution photo of a sneaker', 'a grayscale picture of the sneaker']
 * ```
 * @internal
 */
export function clipTexts(classNames: readonly string[]): ClipTexts {
  if (!Array.isArray(classNames) || classNames.length < 2 || classNames.some((name) => typeof name !== 'string')) {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'dataset.classNames' passed to '${FN}' must be at least 2 class names, got ${JSON.stringify(classNames)}`);
  }
  const seen = new Map<string, number>();
  classNames.forEach((name, k) => {
    const words = tokenize(name).join(' ');
    if (words === '') {
      throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'dataset.classNames' passed to '${FN}' must name every class with a word, got ${JSON.stringify(name)} for label ${k}`);
    }
    const other = seen.get(words);
    if (other !== undefined) {
      throw new ContrastiveError(
        'INVALID_ARGUMENT',
        `Argument 'dataset.classNames' passed to '${FN}' must have distinct names, got ${JSON.stringify(classNames[other])} and ${JSON.stringify(name)} (labels ${other}, ${k})`,
      );
    }
    seen.set(words, k);
  });
  const table = sameNames(classNames, FASHION_MNIST_CLASS_NAMES) ? FASHION_TABLE : sameNames(classNames, MNIST_CLASS_NAMES) ? DIGIT_TABLE : undefined;
  const names = table?.names ?? classNames.map((name) => [tokenize(name).join(' ')]);
  const templates = table?.templates ?? GENERIC_TEMPLATES;
  const promptTemplates = table?.prompts ?? GENERIC_PROMPTS;
  const unique = (texts: string[]): string[] => [...new Set(texts)];
  const descriptions = names.map((aliases, k) =>
    unique([
      ...aliases.flatMap((name) => templates.map((template) => fill(template, name))),
      ...(table?.firstNameTemplates ?? []).map((template) => fill(template, aliases[0] as string)),
      ...(table?.attributes[k] ?? []),
    ]),
  );
  // Prompts: every prompt template with every name of the class, in a fixed order.
  const prompts = names.map((aliases) => aliases.flatMap((name) => promptTemplates.map((template) => fill(template, name))));
  const vocabulary = [...new Set([...descriptions.flat(), ...prompts.flat()].flatMap(tokenize))].sort();
  return { descriptions, prompts, vocabulary, source: table === FASHION_TABLE ? 'fashion-mnist' : table === DIGIT_TABLE ? 'digits' : 'generic' };
}

/**
 * Bag-of-words rows of texts: the word counts over `vocabulary`, each row L2-normalised (a text
 * without a known word is a zero row).
 *
 * @param texts - `m` texts.
 * @param vocabulary - the `V` words of the columns (e.g. {@link ClipTexts.vocabulary}).
 * @returns `[m, V]` float32, owned by the caller.
 * @example
 * ```ts
 * bagOfWords(['a photo of a bag'], ['a', 'bag', 'of', 'photo']).print(); // [[0.756, 0.378, 0.378, 0.378]]
 * ```
 * @internal
 */
export function bagOfWords(texts: readonly string[], vocabulary: readonly string[]): tf.Tensor2D {
  const column = new Map(vocabulary.map((word, i) => [word, i]));
  const width = vocabulary.length;
  const values = new Float32Array(texts.length * width);
  texts.forEach((text, row) => {
    const counts = new Map<number, number>();
    for (const word of tokenize(text)) {
      const i = column.get(word);
      if (i !== undefined) counts.set(i, (counts.get(i) ?? 0) + 1);
    }
    const norm = Math.sqrt([...counts.values()].reduce((sum, count) => sum + count * count, 0));
    for (const [i, count] of counts) values[row * width + i] = count / norm;
  });
  return tf.tensor2d(values, [texts.length, width]);
}

// ---------------------------------------------------------------------------------------------
// Zero-shot classification
// ---------------------------------------------------------------------------------------------

/**
 * Class embeddings of CLIP's prompt ensemble: each prompt embedding L2-normalised, averaged over
 * the prompts of its class, and re-normalised (Radford et al. 2021, §3.1.4).
 *
 * @param promptEmbeddings - `[C, P, d]` float32: `P` prompt embeddings per class (borrowed).
 * @returns `[C, d]` float32 unit rows, owned by the caller.
 * @internal
 */
export function classEmbeddings(promptEmbeddings: tf.Tensor3D): tf.Tensor2D {
  const [classes, prompts, dim] = promptEmbeddings.shape;
  return tf.tidy(() => {
    const unit = l2Normalize(tf.reshape(promptEmbeddings, [classes * prompts, dim]) as tf.Tensor2D);
    return l2Normalize(tf.mean(tf.reshape(unit, [classes, prompts, dim]), 1) as tf.Tensor2D);
  });
}

/**
 * Zero-shot classification: every image embedding (L2-normalised) goes to the class whose prompt
 * ensemble embedding ({@link classEmbeddings}) has the largest cosine similarity (ties: the lowest
 * class).
 *
 * @param images - `[n, d]` float32 image embeddings `z` (borrowed).
 * @param promptEmbeddings - `[C, P, d]` float32 text embeddings of `P` prompts per class (borrowed).
 * @returns `[n]` int32 predicted classes, owned by the caller.
 * @throws `ContrastiveError` `SHAPE_MISMATCH` when the widths differ.
 * @internal
 */
export function zeroShotPredict(images: tf.Tensor2D, promptEmbeddings: tf.Tensor3D): tf.Tensor1D {
  if (images.shape[1] !== promptEmbeddings.shape[2]) {
    throw new ContrastiveError(
      'SHAPE_MISMATCH',
      `Argument 'promptEmbeddings' passed to 'zeroShotPredict' must have width ${images.shape[1]} (the images'), got ${promptEmbeddings.shape[2]}`,
    );
  }
  return tf.tidy(() => {
    const classes = classEmbeddings(promptEmbeddings);
    // Plain matMul (fast on wasm): [n, d] x [d, C].
    return tf.argMax(tf.matMul(l2Normalize(images), tf.transpose(classes)), 1) as tf.Tensor1D;
  });
}

// ---------------------------------------------------------------------------------------------
// The recipe
// ---------------------------------------------------------------------------------------------

/**
 * The captions of the {@link clipRecipe} on the device: the bag-of-words row of every caption, and
 * where each class's captions are (`offsets[y] .. offsets[y] + counts[y] - 1`).
 * @internal
 */
export interface CaptionTable {
  /** `[D, V]` float32 bag-of-words rows of all captions, class after class (owned by the plan). */
  readonly bags: tf.Tensor2D;
  /** `C` entries: the index of the first caption of each class. */
  readonly offsets: Int32Array;
  /** `C` entries: the number of captions of each class. */
  readonly counts: Int32Array;
}

function captionTable(texts: ClipTexts): CaptionTable {
  const all = texts.descriptions.flat();
  const counts = Int32Array.from(texts.descriptions, (list) => list.length);
  const offsets = new Int32Array(counts.length);
  for (let k = 1; k < counts.length; k++) offsets[k] = (offsets[k - 1] as number) + (counts[k - 1] as number);
  return { bags: bagOfWords(all, texts.vocabulary), offsets, counts };
}

/**
 * Pick one caption per image: caption `offsets[y] + rng.int(counts[y])` for class `y`, drawn in
 * batch order from `rng`.
 * @internal
 */
export function drawCaptions(classes: ArrayLike<number>, table: Pick<CaptionTable, 'offsets' | 'counts'>, rng: Rng): Int32Array {
  return Int32Array.from({ length: classes.length }, (_, i) => {
    const y = classes[i] as number;
    const count = table.counts[y];
    if (count === undefined) {
      throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'dataset.classNames' passed to '${FN}' must name label ${y}, got ${table.counts.length} names`);
    }
    return (table.offsets[y] as number) + rng.int(count);
  });
}

/**
 * One augmented view per image, labelled by the caption drawn for it: the batch's `labels` become
 * caption ids (rows of {@link CaptionTable.bags}). The augmentation draws first, then the captions,
 * both from the step's `rng`.
 * @internal
 */
export function captionedViews(augmentation: Augmentation, table: Pick<CaptionTable, 'offsets' | 'counts'>): ViewGenerator {
  return async (batch: Batch, rng: Rng): Promise<Batch> => {
    const classes = await batch.labels.data();
    const inputs = augmentation.apply(batch.inputs as tf.Tensor4D, rng);
    try {
      return { inputs, labels: tf.tensor1d(drawCaptions(classes, table, rng), 'int32') };
    } catch (error) {
      inputs.dispose();
      throw error;
    }
  };
}

/**
 * The loss input of a CLIP step: the image embeddings `z` `[N, d]` and, as `ref`, the text
 * encoder's embeddings of each image's caption (`labels` = caption ids), computed inside the
 * gradient tape so the text encoder trains. `clipLoss` pairs image `i` with text `i` by position;
 * the labels are only validated.
 * @internal
 */
export function clipLossInput(textEncoder: Encoder, bags: tf.Tensor2D, context: Pick<StepContext, 'embeddings' | 'labels'>): LossInput {
  const texts = textEncoder.apply(tf.gather(bags, context.labels), { training: true });
  return { embeddings: context.embeddings, labels: context.labels, ref: { embeddings: texts, labels: context.labels } };
}

/**
 * CLIP (Radford et al. 2021, "Learning Transferable Visual Models From Natural Language
 * Supervision") on labelled images: a dual encoder trained on images paired with generated captions,
 * evaluated by zero-shot classification from class-name prompts.
 *
 * * **Captions** (`clipTexts`): per class, templates over the class name ("a photo of a
 *   sneaker", "the digit 7") and factual attributes ("footwear", "an odd number"), for
 *   Fashion-MNIST and the digits; templates over the class name for any other dataset. Each step
 *   pairs every image (one augmented view) with a caption of its class drawn from the step's `rng`.
 * * **Text encoder**: L2-normalised bag-of-words counts `[V]` → `mlpEncoder` `V`-128-64 (ReLU, linear
 *   output), PyTorch init from the run's generator; its variables are trained and checkpointed
 *   (`plan.variables`).
 * * **Image encoder**: the reference CNN `h` and head `z` (64-d).
 * * **Loss**: `clipLoss` (`@contrastive/losses`): the symmetric cross-entropy over the `[N, N]`
 *   image × text cosine logits, with CLIP's learnable logit scale (initially `1 / temperature`,
 *   default 1/0.07, capped at 100), also in `plan.variables`. Images of one class drawing the same
 *   caption are negatives of each other, as duplicate captions are in CLIP.
 * * **Metric** `zero_shot_top1`: every test image's `z` goes to the nearest class embedding of the
 *   prompt ensemble ("a photo of a {name}" and variants; each prompt embedding normalised, averaged,
 *   re-normalised).
 *
 * `plan` throws `ContrastiveError` `INVALID_ARGUMENT` naming `dataset.classNames` when fewer than
 * 2 classes are named, a label has no name, a name has no word or two names have the same words,
 * and naming `options.temperature` when it is not a number > 0.
 *
 * @category Recipes
 */
export const clipRecipe: Recipe = {
  name: 'clip',
  title: 'CLIP, zero-shot from captions (Radford et al. 2021)',
  defaults: { temperature: 0.07 },
  plan: (context: RecipeContext): RecipePlan => {
    const temperature = context.options.temperature;
    assertNumber(temperature, 'options.temperature', FN, { min: 0, exclusiveMin: true });
    const texts = clipTexts(context.dataset.classNames);
    const classCount = texts.descriptions.length;
    let largest = 0;
    for (const split of [context.dataset.train, context.dataset.test]) for (const label of split.labels) largest = Math.max(largest, label);
    if (largest >= classCount) {
      throw new ContrastiveError(
        'INVALID_ARGUMENT',
        `Argument 'dataset.classNames' passed to '${FN}' must name every label (0..${largest}), got ${classCount} names`,
      );
    }
    const table = captionTable(texts);
    const owned: { dispose(): void }[] = [{ dispose: () => table.bags.dispose() }];
    try {
      const textEncoder = mlpEncoder({
        inputDim: texts.vocabulary.length,
        hiddenDims: [128],
        outputDim: context.head.outputDim,
        outputActivation: 'linear',
        rng: context.rng,
        name: 'clip-text-encoder',
      });
      owned.push(textEncoder);
      const loss: ClipLoss = clipLoss({ temperature, learnableScale: true, maxScale: 100 });
      owned.push(loss);
      const promptCount = (texts.prompts[0] as readonly string[]).length;
      const hooks: TrainHooks = { lossInput: (step) => clipLossInput(textEncoder, table.bags, step) };
      let disposed = false;
      return {
        loss,
        views: captionedViews(context.augmentation, table),
        hooks,
        variables: [...textEncoder.trainableVariables, ...loss.trainableVariables],
        metrics: async () => {
          const held: tf.Tensor[] = [];
          try {
            const test = toTensors(context.dataset.test);
            held.push(test.images, test.labels);
            const promptBags = bagOfWords(texts.prompts.flat(), texts.vocabulary);
            held.push(promptBags);
            const features = embedDataset(context.encoder, test.images, { batchSize: 500 });
            held.push(features);
            const correct = tf.tidy(() => {
              const images = context.head.apply(features, { training: false });
              const prompts = tf.reshape(textEncoder.apply(promptBags, { training: false }), [classCount, promptCount, -1]) as tf.Tensor3D;
              return tf.sum(tf.cast(tf.equal(zeroShotPredict(images, prompts), test.labels), 'int32'));
            });
            held.push(correct);
            const hits = (await correct.data())[0] as number;
            return { zero_shot_top1: hits / context.dataset.test.count };
          } finally {
            tf.dispose(held);
          }
        },
        dispose: () => {
          if (disposed) return;
          disposed = true;
          for (const item of owned.reverse()) item.dispose();
        },
      };
    } catch (error) {
      for (const item of owned.reverse()) item.dispose();
      throw error;
    }
  },
};
