/**
 * Augmentations of token sequences (`[n, L]` int32 token ids): BERT-style token masking, span
 * deletion, random crop and local shuffle.
 *
 * Padding: with a `padId`, padding tokens are never masked, deleted, cropped away or moved: every
 * padding position of a row keeps its padding token. The other positions ("content slots") receive
 * the augmented content in order; content slots left over after a deletion or a crop are filled
 * with `padId`. For the usual right-padded rows this is "shift left, pad right".
 *
 * These ops read the token ids to the host (`dataSync`) and build the result there: exact integer
 * work, identical on every backend (on WebGL that read is a synchronous download).
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import { ContrastiveError, assertNumber, type Rng } from '@contrastive/core';
import { assertObject, assertProbability, assertRng, assertShape, describeValue, numberArray } from './checks.js';
import { type TensorAugmentation, assertBatch, drawIndex, flagArray } from './tabular.js';

function assertTokens(tokens: unknown, fn: string): asserts tokens is tf.Tensor2D {
  assertBatch(tokens, 2, 'int32', 'tokens', fn, '[n, L]');
}

function assertTokenId(value: unknown, argument: string, fn: string): asserts value is number {
  assertNumber(value, argument, fn, { integer: true, min: 0 });
}

function readTokens(tokens: tf.Tensor2D): Int32Array {
  return tokens.dataSync() as Int32Array;
}

/**
 * Write `content` into the content slots (non-padding positions) of row `row` of `out`, in order;
 * content slots left over get `padId`. Padding positions are left as they are.
 */
function fillContentSlots(out: Int32Array, source: Int32Array, row: number, length: number, padId: number, content: readonly number[]): void {
  let next = 0;
  for (let t = row * length; t < (row + 1) * length; t++) {
    if (source[t] === padId) continue;
    out[t] = next < content.length ? (content[next] as number) : padId;
    next++;
  }
}

// ---------------------------------------------------------------------------------------------
// Token masking
// ---------------------------------------------------------------------------------------------

/**
 * How selected tokens are replaced: the probabilities of `[mask id, random token, unchanged]`,
 * non-negative and summing to 1. BERT's split is `[0.8, 0.1, 0.1]`.
 * @category Sequences
 */
export type MaskingSplit = readonly [mask: number, random: number, keep: number];

/** Explicit parameters of {@link applyTokenMasking}; `n L` entries each, row-major. @category Sequences */
export interface TokenMaskingParams {
  /** Positions selected for masking (true or 1). They are the prediction targets of masked language modelling. */
  readonly selected: ArrayLike<boolean | number>;
  /**
   * The id written at each selected position, an integer >= 0, or -1 to leave the token unchanged
   * (BERT's "keep" case). Ignored where not selected.
   */
  readonly replacement: ArrayLike<number>;
}

/** Options of {@link applyTokenMasking}. @category Sequences */
export interface TokenPaddingOptions {
  /** Id of the padding token; padding positions are never changed. @defaultValue none (every position is content) */
  readonly padId?: number;
}

/** Options of {@link tokenMasking}. @category Sequences */
export interface TokenMaskingOptions extends TokenPaddingOptions {
  /** Probability that each content token is selected, in [0, 1]. @defaultValue 0.15 (BERT) */
  readonly rate?: number;
  /** Id of the mask token (`[MASK]`), an integer >= 0 other than `padId`. Required. */
  readonly maskId: number;
  /**
   * Vocabulary size: random replacement tokens are drawn uniformly from `[0, vocabSize)` except
   * `padId`. Giving it turns on BERT's 80/10/10 split. @defaultValue none (no random replacement)
   */
  readonly vocabSize?: number;
  /**
   * Probabilities of `[mask id, random token, unchanged]` for a selected token.
   * @defaultValue `[0.8, 0.1, 0.1]` with `vocabSize`, else `[1, 0, 0]`
   */
  readonly split?: MaskingSplit;
}

/**
 * The augmentation returned by {@link tokenMasking}.
 * @category Sequences
 */
export interface TokenMasking extends TensorAugmentation<tf.Tensor2D> {
  /**
   * Draw the masking of a batch of the given shape, exactly as `apply` does (independent of the
   * token values: padding positions also get draws, which `apply` then ignores).
   * @param shape - `[n, L]`, positive integers.
   * @param rng - advanced as the factory documents.
   * @returns `selected` (`Uint8Array`) and `replacement` (`Int32Array`), `n L` entries each.
   */
  sample(shape: readonly [number, number], rng: Rng): TokenMaskingParams;
}

function maskTokens(tokens: tf.Tensor2D, selected: Uint8Array, replacement: ArrayLike<number>, padId: number | undefined): tf.Tensor2D {
  const source = readTokens(tokens);
  const out = Int32Array.from(source);
  for (let e = 0; e < out.length; e++) {
    if (selected[e] !== 1 || source[e] === padId) continue;
    const id = replacement[e] as number;
    if (id >= 0) out[e] = id;
  }
  return tf.tensor2d(out, tokens.shape, 'int32');
}

/**
 * Replace selected tokens by given ids. The deterministic form of {@link tokenMasking}: output
 * `e` is `replacement[e]` where `selected[e]`, `replacement[e] >= 0` and the token is not
 * `padId`; else the input token.
 *
 * @param tokens - `[n, L]` int32 token ids (borrowed).
 * @param params - `selected` and `replacement`, `n L` entries each.
 * @param options - `padId`.
 * @returns a new `[n, L]` int32 tensor owned by the caller.
 * @throws `ContrastiveError` for bad tokens, arrays without `n L` entries, a replacement that is
 *   not an integer >= -1 at a selected position, or a bad `padId`.
 * @example
 * ```ts
 * const tokens = tf.tensor2d([[5, 6, 7, 0]], [1, 4], 'int32');
 * applyTokenMasking(tokens, { selected: [1, 0, 1, 1], replacement: [103, 0, -1, 103] }, { padId: 0 }).print();
 * // [[103, 6, 7, 0]]  (7 is selected but kept; the padding token is never masked)
 * ```
 * @category Sequences
 */
export function applyTokenMasking(tokens: tf.Tensor2D, params: TokenMaskingParams, options: TokenPaddingOptions = {}): tf.Tensor2D {
  const fn = 'applyTokenMasking';
  assertTokens(tokens, fn);
  assertObject(params, 'params', fn, '{ selected, replacement }');
  assertObject(options, 'options', fn);
  if (options.padId !== undefined) assertTokenId(options.padId, 'padId', fn);
  const [n, length] = tokens.shape;
  const layout = `n L = ${n}*${length}`;
  const selected = flagArray(params.selected, n * length, 'params.selected', fn, layout);
  const replacement = numberArray(params.replacement, n * length, 'params.replacement', fn, layout);
  selected.forEach((flag, e) => {
    if (flag === 1) assertNumber(replacement[e], `params.replacement[${e}]`, fn, { integer: true, min: -1 });
  });
  return maskTokens(tokens, selected, replacement, options.padId);
}

/**
 * Random token masking as in BERT's masked language model (Devlin et al. 2019, "BERT:
 * Pre-training of Deep Bidirectional Transformers for Language Understanding"), as a view
 * augmentation: each content token is selected independently with probability `rate` (a Bernoulli
 * selection, as Hugging Face's `DataCollatorForLanguageModeling`; BERT's original data script
 * selects an exact count instead) and replaced by `maskId`. With `vocabSize` (or a `split`),
 * a selected token becomes `maskId` with probability `split[0]`, a random token with probability
 * `split[1]` and stays unchanged with probability `split[2]` — BERT's 80/10/10.
 *
 * Random tokens are uniform over `[0, vocabSize)` without `padId` (a deviation from Hugging
 * Face, which may draw the padding id, so that masking never creates padding); they may equal
 * `maskId` or the original token. Padding tokens (`padId`) are never selected; other special
 * tokens (`[CLS]`, `[SEP]`) are not protected (Hugging Face excludes them with its special-tokens
 * mask): mask them yourself if they must stay.
 *
 * Draw order: for each position `e = 0 .. n L - 1` in row-major order (padding included), one
 * `rng.uniform` (selected when `< rate`); for a selected position, when `split[0] < 1`, one more
 * `rng.uniform` `v` (mask when `v < split[0]`, random when `v < split[0] + split[1]`, else keep),
 * and for a random replacement one more `rng.uniform` `w`, giving the id `floor(w k)` (`k` =
 * `vocabSize`, minus 1 when `padId` is in `[0, vocabSize)`; ids at or above `padId` are shifted up
 * by one). `rate = 0` copies the tokens; `rate = 1` selects every content token.
 *
 * @param options - `maskId` (required), `rate`, `padId`, `vocabSize`, `split`.
 * @returns a {@link TokenMasking}; its `apply` takes `[n, L]` int32 and returns a new `[n, L]`
 *   int32 tensor owned by the caller.
 * @throws `ContrastiveError` `INVALID_ARGUMENT` when `rate` leaves [0, 1], an id is not an integer
 *   >= 0, `maskId` equals `padId`, `split` is not three non-negative numbers summing to 1, or the
 *   split asks for random tokens without a `vocabSize` that has a non-padding id.
 * @example
 * ```ts
 * const masking = tokenMasking({ rate: 0.15, maskId: 103, padId: 0, vocabSize: 30522 });
 * const tokens = tf.tensor2d([[101, 2023, 2003, 1037, 3231, 6251, 2007, 2070, 19204, 2015, 102, 0, 0]], [1, 13], 'int32');
 * masking.apply(tokens, new Rng(3)).print();
 * // [[101, 2023, 2003, 1037, 3231, 6251, 2007, 2070, 103, 2015, 103, 0, 0]]
 * ```
 * @category Sequences
 */
export function tokenMasking(options: TokenMaskingOptions): TokenMasking {
  const fn = 'tokenMasking';
  assertObject(options, 'options', fn, '{ maskId, rate?, padId?, vocabSize?, split? }');
  const rate = options.rate ?? 0.15;
  assertProbability(rate, 'rate', fn);
  const { maskId, padId, vocabSize } = options;
  assertTokenId(maskId, 'maskId', fn);
  if (padId !== undefined) {
    assertTokenId(padId, 'padId', fn);
    if (padId === maskId) {
      throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'maskId' passed to '${fn}' must differ from 'padId', got both ${maskId}`);
    }
  }
  if (vocabSize !== undefined) assertNumber(vocabSize, 'vocabSize', fn, { integer: true, min: 1 });
  const split = options.split ?? (vocabSize === undefined ? [1, 0, 0] : [0.8, 0.1, 0.1]);
  if (!Array.isArray(split) || split.length !== 3) {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'split' passed to '${fn}' must be [mask, random, keep], got ${describeValue(split)}`);
  }
  split.forEach((value, index) => assertNumber(value, `split[${index}]`, fn, { min: 0, max: 1 }));
  const [maskShare, randomShare] = split as readonly number[] as [number, number, number];
  const total = split.reduce((sum, value) => sum + value, 0);
  if (Math.abs(total - 1) > 1e-9) {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'split' passed to '${fn}' must sum to 1, got [${split.join(', ')}] (sum ${total})`);
  }
  const padInVocabulary = padId !== undefined && vocabSize !== undefined && padId < vocabSize;
  const candidates = vocabSize === undefined ? 0 : vocabSize - (padInVocabulary ? 1 : 0);
  if (randomShare > 0 && candidates < 1) {
    throw new ContrastiveError(
      'INVALID_ARGUMENT',
      `Argument 'vocabSize' passed to '${fn}' must give at least one non-padding id when split[1] (random) > 0, got ${describeValue(vocabSize)}`,
    );
  }

  const draw = (count: number, rng: Rng): { selected: Uint8Array; replacement: Int32Array } => {
    const selected = new Uint8Array(count);
    const replacement = new Int32Array(count);
    for (let e = 0; e < count; e++) {
      if (!(rng.uniform() < rate)) continue;
      selected[e] = 1;
      if (maskShare >= 1) {
        replacement[e] = maskId;
        continue;
      }
      const v = rng.uniform();
      if (v < maskShare) replacement[e] = maskId;
      else if (v < maskShare + randomShare) {
        const id = drawIndex(rng, candidates);
        replacement[e] = padInVocabulary && id >= (padId as number) ? id + 1 : id;
      } else replacement[e] = -1;
    }
    return { selected, replacement };
  };

  return {
    name: fn,
    sample(shape: readonly [number, number], rng: Rng) {
      assertShape(shape, 2, `${fn}.sample`, '[n, L]');
      assertRng(rng, `${fn}.sample`);
      return draw(shape[0] * shape[1], rng);
    },
    apply(tokens: tf.Tensor2D, rng: Rng): tf.Tensor2D {
      assertTokens(tokens, `${fn}.apply`);
      assertRng(rng, `${fn}.apply`);
      const { selected, replacement } = draw(tokens.size, rng);
      return maskTokens(tokens, selected, replacement, padId);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Span deletion
// ---------------------------------------------------------------------------------------------

/** Explicit parameters of {@link applySpanDeletion}. @category Sequences */
export interface SpanDeletionParams {
  /** Delete the token at each position where true (or 1); `n L` entries, row-major. Padding positions are ignored. */
  readonly deleted: ArrayLike<boolean | number>;
}

/** Options of {@link applySpanDeletion}. @category Sequences */
export interface PadOptions {
  /** Id of the padding token, an integer >= 0: fills the freed slots; padding positions never change. Required. */
  readonly padId: number;
}

/** Options of {@link spanDeletion}. @category Sequences */
export interface SpanDeletionOptions extends PadOptions {
  /** Expected fraction of deleted positions, in [0, 1]. @defaultValue 0.1 (ours: no paper fixes one) */
  readonly rate?: number;
  /** Longest span, an integer >= 1; span lengths are uniform on `1 .. maxSpan`. @defaultValue 3 (ours) */
  readonly maxSpan?: number;
}

/**
 * The augmentation returned by {@link spanDeletion}.
 * @category Sequences
 */
export interface SpanDeletion extends TensorAugmentation<tf.Tensor2D> {
  /**
   * Draw the deleted positions of a batch of the given shape, exactly as `apply` does
   * (independent of the token values).
   * @param shape - `[n, L]`, positive integers.
   * @param rng - advanced as the factory documents.
   * @returns `deleted` as a `Uint8Array` of `n L` entries.
   */
  sample(shape: readonly [number, number], rng: Rng): SpanDeletionParams;
}

function deleteTokens(tokens: tf.Tensor2D, deleted: Uint8Array, padId: number): tf.Tensor2D {
  const [n, length] = tokens.shape;
  const source = readTokens(tokens);
  const out = Int32Array.from(source);
  for (let i = 0; i < n; i++) {
    const kept: number[] = [];
    for (let t = i * length; t < (i + 1) * length; t++) if (source[t] !== padId && deleted[t] !== 1) kept.push(source[t] as number);
    fillContentSlots(out, source, i, length, padId, kept);
  }
  return tf.tensor2d(out, tokens.shape, 'int32');
}

/**
 * Delete the tokens at the given positions, shift the rest of the content left and fill the freed
 * slots with `padId` (padding positions never change). The deterministic form of
 * {@link spanDeletion}.
 *
 * @param tokens - `[n, L]` int32 token ids (borrowed).
 * @param params - `deleted`, `n L` flags.
 * @param options - `padId` (required).
 * @returns a new `[n, L]` int32 tensor owned by the caller.
 * @throws `ContrastiveError` for bad tokens, a `deleted` array without `n L` flags, or a bad `padId`.
 * @example
 * ```ts
 * const tokens = tf.tensor2d([[5, 6, 7, 8, 9, 0]], [1, 6], 'int32');
 * applySpanDeletion(tokens, { deleted: [0, 1, 1, 0, 0, 0] }, { padId: 0 }).print(); // [[5, 8, 9, 0, 0, 0]]
 * ```
 * @category Sequences
 */
export function applySpanDeletion(tokens: tf.Tensor2D, params: SpanDeletionParams, options: PadOptions): tf.Tensor2D {
  const fn = 'applySpanDeletion';
  assertTokens(tokens, fn);
  assertObject(params, 'params', fn, '{ deleted }');
  assertObject(options, 'options', fn, '{ padId }');
  assertTokenId(options.padId, 'padId', fn);
  const [n, length] = tokens.shape;
  const deleted = flagArray(params.deleted, n * length, 'params.deleted', fn, `n L = ${n}*${length}`);
  return deleteTokens(tokens, deleted, options.padId);
}

/**
 * Random span deletion (the "span deletion" sentence augmentation of CLEAR, Wu et al. 2020,
 * "CLEAR: Contrastive Learning for Sentence Representation"): contiguous spans of tokens are
 * deleted, the remaining content shifts left and the row is padded on the right with `padId`, so
 * the batch stays `[n, L]`. Padding tokens are never deleted or moved.
 *
 * Spans are placed by a left-to-right walk over the positions of each row (padding included, so
 * the draws do not depend on the token values): at each position not inside a span, a span starts
 * with probability `q = rate / (mu (1 - rate) + rate)`, `mu = (maxSpan + 1) / 2`, with a length
 * uniform on `1 .. maxSpan` (cut at the row's end); the walk resumes after the span. Each position
 * is then deleted with probability `rate` (exactly for `maxSpan = 1`; for longer spans, in the
 * long-row limit — slightly less in the first few positions of a row). `rate = 0` deletes nothing;
 * `rate = 1` deletes every content token.
 *
 * Draw order: for each row `i = 0 .. n-1` and each walk step, one `rng.uniform` (start a span
 * when `< q`), followed for a started span by one more `rng.uniform` `w` (length `1 + floor(w
 * maxSpan)`).
 *
 * @param options - `padId` (required), `rate`, `maxSpan`.
 * @returns a {@link SpanDeletion}; its `apply` takes `[n, L]` int32 and returns a new `[n, L]`
 *   int32 tensor owned by the caller.
 * @throws `ContrastiveError` `INVALID_ARGUMENT` when `rate` leaves [0, 1], `maxSpan` is not an
 *   integer >= 1, or `padId` is not an integer >= 0.
 * @example
 * ```ts
 * const deletion = spanDeletion({ rate: 0.2, maxSpan: 3, padId: 0 });
 * deletion.apply(tf.tensor2d([[5, 6, 7, 8, 9, 10, 0, 0]], [1, 8], 'int32'), new Rng(1)).print();
 * // [[7, 8, 9, 10, 0, 0, 0, 0]]  (the span 5, 6 deleted)
 * ```
 * @category Sequences
 */
export function spanDeletion(options: SpanDeletionOptions): SpanDeletion {
  const fn = 'spanDeletion';
  assertObject(options, 'options', fn, '{ padId, rate?, maxSpan? }');
  const rate = options.rate ?? 0.1;
  const maxSpan = options.maxSpan ?? 3;
  assertProbability(rate, 'rate', fn);
  assertNumber(maxSpan, 'maxSpan', fn, { integer: true, min: 1 });
  const padId = options.padId;
  assertTokenId(padId, 'padId', fn);
  const meanSpan = (maxSpan + 1) / 2;
  const start = rate === 1 ? 1 : rate / (meanSpan * (1 - rate) + rate);

  const draw = (n: number, length: number, rng: Rng): Uint8Array => {
    const deleted = new Uint8Array(n * length);
    for (let i = 0; i < n; i++) {
      let t = 0;
      while (t < length) {
        if (rng.uniform() < start) {
          const span = 1 + drawIndex(rng, maxSpan);
          deleted.fill(1, i * length + t, i * length + Math.min(t + span, length));
          t += span;
        } else t++;
      }
    }
    return deleted;
  };

  return {
    name: fn,
    sample(shape: readonly [number, number], rng: Rng) {
      assertShape(shape, 2, `${fn}.sample`, '[n, L]');
      assertRng(rng, `${fn}.sample`);
      return { deleted: draw(shape[0], shape[1], rng) };
    },
    apply(tokens: tf.Tensor2D, rng: Rng): tf.Tensor2D {
      assertTokens(tokens, `${fn}.apply`);
      assertRng(rng, `${fn}.apply`);
      return deleteTokens(tokens, draw(tokens.shape[0], tokens.shape[1], rng), padId);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Random crop
// ---------------------------------------------------------------------------------------------

/** Explicit parameters of {@link applyTokenCrop}. @category Sequences */
export interface TokenCropParams {
  /**
   * Per row, the index of the first kept content token (counting content tokens only, from 0):
   * an integer in `[0, max(0, k - length)]` for a row of `k` content tokens. `n` entries.
   */
  readonly start: ArrayLike<number>;
}

/** Options of {@link randomTokenCrop} and {@link applyTokenCrop}. @category Sequences */
export interface TokenCropOptions extends PadOptions {
  /** Number of content tokens kept, an integer >= 1; rows with at most `length` content tokens are unchanged. Required. */
  readonly length: number;
}

/**
 * The augmentation returned by {@link randomTokenCrop}.
 * @category Sequences
 */
export interface RandomTokenCrop extends TensorAugmentation<tf.Tensor2D> {
  /**
   * Draw the window starts of a batch, exactly as `apply` does. Reads `tokens` (the window range
   * depends on each row's content length).
   * @param tokens - `[n, L]` int32 token ids (borrowed).
   * @param rng - advanced by `n` uniform draws.
   * @returns `start` as an `Int32Array` of `n` entries.
   */
  sample(tokens: tf.Tensor2D, rng: Rng): TokenCropParams;
}

function contentLengths(source: Int32Array, n: number, length: number, padId: number): Int32Array {
  const counts = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let count = 0;
    for (let t = i * length; t < (i + 1) * length; t++) if (source[t] !== padId) count++;
    counts[i] = count;
  }
  return counts;
}

function cropTokens(tokens: tf.Tensor2D, source: Int32Array, start: ArrayLike<number>, window: number, padId: number): tf.Tensor2D {
  const [n, length] = tokens.shape;
  const out = Int32Array.from(source);
  for (let i = 0; i < n; i++) {
    const content: number[] = [];
    for (let t = i * length; t < (i + 1) * length; t++) if (source[t] !== padId) content.push(source[t] as number);
    if (content.length <= window) continue;
    const first = start[i] as number;
    fillContentSlots(out, source, i, length, padId, content.slice(first, first + window));
  }
  return tf.tensor2d(out, tokens.shape, 'int32');
}

function drawStarts(counts: Int32Array, window: number, rng: Rng): Int32Array {
  const start = new Int32Array(counts.length);
  for (let i = 0; i < counts.length; i++) {
    const u = rng.uniform();
    start[i] = Math.floor(u * (Math.max(0, (counts[i] as number) - window) + 1));
  }
  return start;
}

function assertCropOptions(options: unknown, fn: string): asserts options is TokenCropOptions {
  assertObject(options, 'options', fn, '{ length, padId }');
  assertNumber((options as TokenCropOptions).length, 'length', fn, { integer: true, min: 1 });
  assertTokenId((options as TokenCropOptions).padId, 'padId', fn);
}

/**
 * Keep a given window of each row's content and pad the rest. The deterministic form of
 * {@link randomTokenCrop}: row `i` keeps its content tokens `start[i] .. start[i] + length - 1`
 * (counting content tokens only), written into the row's first content slots; the remaining
 * content slots get `padId`. Rows with at most `length` content tokens are unchanged.
 *
 * @param tokens - `[n, L]` int32 token ids (borrowed).
 * @param params - `start`, `n` integers.
 * @param options - `length` and `padId` (required).
 * @returns a new `[n, L]` int32 tensor owned by the caller.
 * @throws `ContrastiveError` for bad tokens or options, or a `start` outside `[0, max(0, k - length)]`.
 * @example
 * ```ts
 * const tokens = tf.tensor2d([[5, 6, 7, 8, 9, 0]], [1, 6], 'int32');
 * applyTokenCrop(tokens, { start: [1] }, { length: 3, padId: 0 }).print(); // [[6, 7, 8, 0, 0, 0]]
 * ```
 * @category Sequences
 */
export function applyTokenCrop(tokens: tf.Tensor2D, params: TokenCropParams, options: TokenCropOptions): tf.Tensor2D {
  const fn = 'applyTokenCrop';
  assertTokens(tokens, fn);
  assertObject(params, 'params', fn, '{ start }');
  assertCropOptions(options, fn);
  const [n, length] = tokens.shape;
  const start = numberArray(params.start, n, 'params.start', fn, 'one per row', { integer: true, min: 0 });
  const source = readTokens(tokens);
  const counts = contentLengths(source, n, length, options.padId);
  for (let i = 0; i < n; i++) {
    const last = Math.max(0, (counts[i] as number) - options.length);
    if ((start[i] as number) > last) {
      throw new ContrastiveError(
        'INVALID_ARGUMENT',
        `Argument 'params.start[${i}]' passed to '${fn}' must be an integer in [0, ${last}] (row ${i} has ${counts[i]} content tokens, length ${options.length}), got ${start[i]}`,
      );
    }
  }
  return cropTokens(tokens, source, start, options.length, options.padId);
}

/**
 * Random contiguous crop of token sequences (the sequence counterpart of a random crop; e.g. the
 * span sampling of DeCLUTR, Giorgi et al. 2021, and "cutoff", Shen et al. 2020): each row keeps a
 * uniformly random window of `length` consecutive content tokens, moved to the row's first content
 * slots and padded with `padId`, so the batch stays `[n, L]`. Rows with at most `length` content
 * tokens are unchanged; padding tokens never move.
 *
 * Draw order: one `rng.uniform` `u` per row `i = 0 .. n-1` (even for rows that are not cropped);
 * `start = floor(u (k - length + 1))` for a row of `k > length` content tokens.
 *
 * @param options - `length` and `padId` (required).
 * @returns a {@link RandomTokenCrop}; its `apply` takes `[n, L]` int32 and returns a new `[n, L]`
 *   int32 tensor owned by the caller.
 * @throws `ContrastiveError` `INVALID_ARGUMENT` when `length` is not an integer >= 1 or `padId` is
 *   not an integer >= 0.
 * @example
 * ```ts
 * const crop = randomTokenCrop({ length: 3, padId: 0 });
 * crop.apply(tf.tensor2d([[5, 6, 7, 8, 9, 0]], [1, 6], 'int32'), new Rng(0)).print();
 * // [[5, 6, 7, 0, 0, 0]]  (windows may start at content token 0, 1 or 2)
 * ```
 * @category Sequences
 */
export function randomTokenCrop(options: TokenCropOptions): RandomTokenCrop {
  const fn = 'randomTokenCrop';
  assertCropOptions(options, fn);
  const { length: window, padId } = options;
  return {
    name: fn,
    sample(tokens: tf.Tensor2D, rng: Rng) {
      assertTokens(tokens, `${fn}.sample`);
      assertRng(rng, `${fn}.sample`);
      const [n, length] = tokens.shape;
      return { start: drawStarts(contentLengths(readTokens(tokens), n, length, padId), window, rng) };
    },
    apply(tokens: tf.Tensor2D, rng: Rng): tf.Tensor2D {
      assertTokens(tokens, `${fn}.apply`);
      assertRng(rng, `${fn}.apply`);
      const [n, length] = tokens.shape;
      const source = readTokens(tokens);
      const start = drawStarts(contentLengths(source, n, length, padId), window, rng);
      return cropTokens(tokens, source, start, window, padId);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Local shuffle
// ---------------------------------------------------------------------------------------------

/** Explicit parameters of {@link applyLocalShuffle}. @category Sequences */
export interface LocalShuffleParams {
  /**
   * Per row, a permutation of the positions `0 .. L-1`: position `t` takes the token at
   * `order[i L + t]` (before padding is accounted for, see {@link applyLocalShuffle}); `n L`
   * entries.
   */
  readonly order: ArrayLike<number>;
}

/** Options of {@link localShuffle}. @category Sequences */
export interface LocalShuffleOptions extends TokenPaddingOptions {
  /** Size of the non-overlapping windows, an integer >= 1 (1 = identity). @defaultValue 3 */
  readonly window?: number;
}

/**
 * The augmentation returned by {@link localShuffle}.
 * @category Sequences
 */
export interface LocalShuffle extends TensorAugmentation<tf.Tensor2D> {
  /**
   * Draw the window permutations of a batch of the given shape, exactly as `apply` does
   * (independent of the token values).
   * @param shape - `[n, L]`, positive integers.
   * @param rng - advanced as the factory documents.
   * @returns `order` as an `Int32Array` of `n L` entries.
   */
  sample(shape: readonly [number, number], rng: Rng): LocalShuffleParams;
}

function shuffleTokens(tokens: tf.Tensor2D, order: ArrayLike<number>, padId: number | undefined): tf.Tensor2D {
  const [n, length] = tokens.shape;
  const source = readTokens(tokens);
  const out = new Int32Array(source.length);
  for (let i = 0; i < n; i++) {
    const base = i * length;
    if (padId === undefined) {
      for (let t = 0; t < length; t++) out[base + t] = source[base + (order[base + t] as number)] as number;
      continue;
    }
    out.set(source.subarray(base, base + length), base);
    const content: number[] = [];
    for (let t = 0; t < length; t++) {
      const token = source[base + (order[base + t] as number)] as number;
      if (token !== padId) content.push(token);
    }
    fillContentSlots(out, source, i, length, padId, content);
  }
  return tf.tensor2d(out, tokens.shape, 'int32');
}

/**
 * Reorder each row by a given permutation. The deterministic form of {@link localShuffle}:
 * without `padId`, output `(i, t)` is `tokens[i, order[i L + t]]`. With `padId`, padding positions
 * keep their padding token and the content slots receive, in order, the content tokens of
 * `tokens[i, order[i L + 0]], tokens[i, order[i L + 1]], …` (padding sources skipped) — for a
 * window-local `order` (each window mapped onto itself, as {@link localShuffle} draws), the
 * content of each window is permuted among that window's content slots.
 *
 * @param tokens - `[n, L]` int32 token ids (borrowed).
 * @param params - `order`, one permutation of `0 .. L-1` per row (`n L` entries).
 * @param options - `padId`.
 * @returns a new `[n, L]` int32 tensor owned by the caller.
 * @throws `ContrastiveError` for bad tokens, an `order` without `n L` entries, or a row of `order`
 *   that is not a permutation of `0 .. L-1`.
 * @example
 * ```ts
 * const tokens = tf.tensor2d([[5, 6, 7, 8, 9, 0]], [1, 6], 'int32');
 * applyLocalShuffle(tokens, { order: [2, 0, 1, 5, 3, 4] }, { padId: 0 }).print(); // [[7, 5, 6, 8, 9, 0]]
 * ```
 * @category Sequences
 */
export function applyLocalShuffle(tokens: tf.Tensor2D, params: LocalShuffleParams, options: TokenPaddingOptions = {}): tf.Tensor2D {
  const fn = 'applyLocalShuffle';
  assertTokens(tokens, fn);
  assertObject(params, 'params', fn, '{ order }');
  assertObject(options, 'options', fn);
  if (options.padId !== undefined) assertTokenId(options.padId, 'padId', fn);
  const [n, length] = tokens.shape;
  const order = numberArray(params.order, n * length, 'params.order', fn, `n L = ${n}*${length}`, { integer: true, min: 0, max: length - 1 });
  const seen = new Uint8Array(length);
  for (let i = 0; i < n; i++) {
    seen.fill(0);
    for (let t = 0; t < length; t++) {
      const position = order[i * length + t] as number;
      if (seen[position] === 1) {
        throw new ContrastiveError(
          'INVALID_ARGUMENT',
          `Argument 'params.order' passed to '${fn}' must hold a permutation of 0..${length - 1} per row, but row ${i} repeats ${position}`,
        );
      }
      seen[position] = 1;
    }
  }
  return shuffleTokens(tokens, order, options.padId);
}

/**
 * Local shuffle: each row is cut into non-overlapping windows of `window` positions (the last one
 * possibly shorter) and the tokens inside each window are permuted uniformly at random — a
 * bounded-distance reordering, like the word-order noise of Lample et al. 2018 ("Unsupervised
 * Machine Translation Using Monolingual Corpora Only") and the "reordering" augmentation of CLEAR
 * (Wu et al. 2020). Padding tokens (`padId`) never move: a window's content tokens are permuted
 * among its content slots (uniformly, as the restriction of a uniform permutation).
 *
 * Draw order: for each row `i = 0 .. n-1` and each window from left to right, a Fisher–Yates
 * shuffle of the window's slots: for `k = size-1` down to 1, one `rng.uniform` `u`, swapping slot
 * `k` with slot `floor(u (k + 1))` (`size - 1` draws). `window = 1` is the identity (no draws);
 * `window >= L` shuffles whole rows.
 *
 * @param options - `window`, `padId`.
 * @returns a {@link LocalShuffle}; its `apply` takes `[n, L]` int32 and returns a new `[n, L]`
 *   int32 tensor owned by the caller.
 * @throws `ContrastiveError` `INVALID_ARGUMENT` when `window` is not an integer >= 1 or `padId` is
 *   not an integer >= 0.
 * @example
 * ```ts
 * const shuffle = localShuffle({ window: 3, padId: 0 });
 * shuffle.apply(tf.tensor2d([[1, 2, 3, 4, 5, 6, 0]], [1, 7], 'int32'), new Rng(0)).print();
 * // [[3, 2, 1, 5, 6, 4, 0]]  (1..3 and 4..6 each permuted in place; the padding stays)
 * ```
 * @category Sequences
 */
export function localShuffle(options: LocalShuffleOptions = {}): LocalShuffle {
  const fn = 'localShuffle';
  assertObject(options, 'options', fn);
  const window = options.window ?? 3;
  assertNumber(window, 'window', fn, { integer: true, min: 1 });
  const padId = options.padId;
  if (padId !== undefined) assertTokenId(padId, 'padId', fn);

  const draw = (n: number, length: number, rng: Rng): Int32Array => {
    const order = new Int32Array(n * length);
    for (let i = 0; i < n; i++) {
      for (let begin = 0; begin < length; begin += window) {
        const size = Math.min(window, length - begin);
        const base = i * length + begin;
        for (let k = 0; k < size; k++) order[base + k] = begin + k;
        // Fisher–Yates, from the window's last slot down.
        for (let k = size - 1; k > 0; k--) {
          const j = drawIndex(rng, k + 1);
          const swap = order[base + k] as number;
          order[base + k] = order[base + j] as number;
          order[base + j] = swap;
        }
      }
    }
    return order;
  };

  return {
    name: fn,
    sample(shape: readonly [number, number], rng: Rng) {
      assertShape(shape, 2, `${fn}.sample`, '[n, L]');
      assertRng(rng, `${fn}.sample`);
      return { order: draw(shape[0], shape[1], rng) };
    },
    apply(tokens: tf.Tensor2D, rng: Rng): tf.Tensor2D {
      assertTokens(tokens, `${fn}.apply`);
      assertRng(rng, `${fn}.apply`);
      return shuffleTokens(tokens, draw(tokens.shape[0], tokens.shape[1], rng), padId);
    },
  };
}
