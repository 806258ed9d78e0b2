/**
 * The training loop: custom steps with `optimizer.minimize`, progress callbacks, hooks for momentum
 * encoders and memory queues, checkpoints and bit-exact resume.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Encoder, EncoderApplyOptions } from './encoders.js';
import { ContrastiveError } from './errors.js';
import { Rng } from './rng.js';
import type { RngState } from './rng.js';
import type { Labels, Loss, LossInput, Miner } from './types.js';
import { assertLabels, assertNumber } from './validate.js';

/**
 * One training batch.
 * @category Training
 */
export interface Batch {
  /** `[n, ...]` float32 inputs (images, vectors, or stacked views). */
  readonly inputs: tf.Tensor;
  /** `[n]` int32 labels; equal labels are positives ("views are labels"). */
  readonly labels: Labels;
  /**
   * `[n]` int32 positions of the batch's samples in the dataset, for methods that keep one entry
   * per training sample (a memory bank, Wu et al. 2018). The loop frees it with the batch.
   * @defaultValue none
   */
  readonly indices?: tf.Tensor1D;
}

/**
 * Where the training loop gets its batches: implemented by the data loaders of `@contrastive/data`
 * and the samplers of `@contrastive/samplers`, without either importing the other.
 *
 * Every call of `batch` returns **new** tensors, which the loop disposes after the step. All
 * randomness (shuffling, sampling) must come from the `rng` passed in, so that a run is reproducible
 * and a resumed run continues exactly.
 *
 * @example
 * ```ts
 * const source: BatchSource = {
 *   stepsPerEpoch: 2,
 *   batch: (epoch, step, rng) => ({ inputs: tf.randomUniform([8, 4]), labels: tf.range(0, 8, 1, 'int32') }),
 * };
 * ```
 * @category Training
 */
export interface BatchSource {
  /** Number of batches per epoch (a positive integer). */
  readonly stepsPerEpoch: number;
  /** Called once at the start of every epoch, before its first `batch` (e.g. to reshuffle). */
  beginEpoch?(epoch: number, rng: Rng): void;
  /**
   * @param epoch - 0-based epoch.
   * @param step - 0-based step within the epoch.
   * @param rng - the loop's generator.
   * @returns a batch of new tensors, owned (and disposed) by the loop.
   */
  batch(epoch: number, step: number, rng: Rng): Batch | Promise<Batch>;
}

/**
 * Index batches for one epoch at a time: decides *which* samples form each batch (shuffled,
 * m-per-class, ...). Implemented in `@contrastive/samplers`; a data loader turns a sampler into a
 * {@link BatchSource} by materialising the indices (e.g. `samplerBatches` in `@contrastive/data`).
 * All randomness comes from the `rng` passed in, so the same generator state gives the same batches.
 * @category Training
 */
export interface BatchSampler {
  /** Name used in messages and reports. */
  readonly name: string;
  /** Number of batches {@link BatchSampler.epoch} returns. */
  readonly batchesPerEpoch: number;
  /**
   * The batches of one epoch.
   * @param rng - advanced by the draw.
   * @returns one `Int32Array` of dataset indices per batch.
   */
  epoch(rng: Rng): Int32Array[];
}

/**
 * Turns a batch into the batch the network sees, e.g. two augmented views per sample stacked
 * view-major (`[2n, ...]`) with labels `viewLabels(n, 2)` (SimCLR) or the sample labels repeated
 * (SupCon). Must not dispose its input; returns new tensors (disposed by the loop).
 * @category Training
 */
export type ViewGenerator = (batch: Batch, rng: Rng) => Batch | Promise<Batch>;

/**
 * What {@link TrainHooks.lossInput} sees: the step's inputs and forward pass. All tensors are
 * borrowed; tensors a hook creates are freed at the end of the step unless it `tf.keep`s them.
 * @category Training
 */
export interface StepContext {
  /** 0-based epoch. */
  readonly epoch: number;
  /** 0-based step within the epoch. */
  readonly step: number;
  /** The batch after `views`: `[n, ...]` float32. */
  readonly inputs: tf.Tensor;
  /** `[n]` int32. */
  readonly labels: Labels;
  /** Encoder output `h`, `[n, d]`. */
  readonly features: tf.Tensor2D;
  /** Head output `z` (= `features` without a head), `[n, k]`. */
  readonly embeddings: tf.Tensor2D;
  /** `[n]` dataset positions of the samples of the batch from `data` (before the views), when it has them. */
  readonly indices: tf.Tensor1D | undefined;
  /** The loop's generator. */
  readonly rng: Rng;
}

/**
 * What {@link TrainHooks.afterStep} sees, after the optimizer step.
 * @category Training
 */
export interface AfterStepContext {
  /** 0-based epoch. */
  readonly epoch: number;
  /** 0-based step within the epoch. */
  readonly step: number;
  /** Steps per epoch. */
  readonly stepsPerEpoch: number;
  /** The batch after `views` (borrowed). */
  readonly inputs: tf.Tensor;
  /** `[n]` int32 (borrowed). */
  readonly labels: Labels;
  /** The step's loss (borrowed; reading it synchronously stalls the pipeline). */
  readonly loss: tf.Scalar;
  /** `[n]` dataset positions of the samples of the batch from `data`, when it has them (borrowed). */
  readonly indices: tf.Tensor1D | undefined;
  /** The loop's generator. */
  readonly rng: Rng;
}

/**
 * Extension points for methods beyond "encode, project, compute the loss": a momentum key encoder
 * and a memory queue (MoCo), a target network (BYOL), a memory bank.
 *
 * @example
 * ```ts
 * // MoCo-style: keys from a momentum encoder, a queue as the reference.
 * const keyEncoder = new MomentumEncoder(encoder, { head, momentum: 0.999 });
 * const hooks: TrainHooks = {
 *   lossInput: ({ inputs, labels, embeddings }) => ({ embeddings, labels, ref: queue.reference() }),
 *   afterStep: () => keyEncoder.update(),
 *   saveState: () => ({ keyEncoder: keyEncoder.getWeights() }),
 *   loadState: (state) => keyEncoder.setWeights(state['keyEncoder'] ?? []),
 * };
 * ```
 * @category Training
 */
export interface TrainHooks {
  /**
   * Build the loss input from the forward pass (runs inside the gradient tape). Default:
   * `{ embeddings, labels, tuples: miner?.mine({ embeddings, labels }) }`.
   */
  lossInput?(context: StepContext): LossInput;
  /** Called after every optimizer step (e.g. momentum update, enqueue keys). */
  afterStep?(context: AfterStepContext): void | Promise<void>;
  /** Extra tensors to checkpoint, e.g. a momentum encoder's weights or a queue; the loop disposes them. */
  saveState?(): Record<string, tf.Tensor[]>;
  /** Restore what `saveState` returned (tensors borrowed). */
  loadState?(state: Readonly<Record<string, readonly tf.Tensor[]>>): void;
}

/**
 * Summary of one finished epoch.
 * @category Training
 */
export interface EpochSummary {
  /** 0-based epoch. */
  readonly epoch: number;
  /** Mean of the epoch's step losses (float64 mean of the float32 values). */
  readonly meanLoss: number;
  /** Wall-clock seconds of the epoch's steps. */
  readonly seconds: number;
}

/**
 * An epoch run by this call of {@link train}, with its step losses.
 * @category Training
 */
export interface EpochReport extends EpochSummary {
  /** Loss of every step, in order. */
  readonly losses: readonly number[];
}

/** @category Training */
export interface EpochBeginEvent {
  /** 0-based epoch about to start. */
  readonly epoch: number;
  /** Total epochs of the run. */
  readonly epochs: number;
  /** Steps per epoch. */
  readonly stepsPerEpoch: number;
}

/** @category Training */
export interface StepEndEvent {
  /** 0-based epoch. */
  readonly epoch: number;
  /** 0-based step. */
  readonly step: number;
  /** Steps per epoch. */
  readonly stepsPerEpoch: number;
  /** The step's loss. */
  readonly loss: number;
}

/** @category Training */
export interface EpochEndEvent extends EpochReport {
  /** Total epochs of the run. */
  readonly epochs: number;
}

/**
 * Progress callbacks (a CLI draws its progress bar from them). Async callbacks are awaited.
 * @category Training
 */
export interface TrainCallbacks {
  /** Before the first step of an epoch. */
  onEpochBegin?(event: EpochBeginEvent): void | Promise<void>;
  /**
   * After each step, in order, once its loss has been read (see {@link TrainOptions.readLossEvery}:
   * losses are read in groups, so several calls may come together).
   */
  onStepEnd?(event: StepEndEvent): void | Promise<void>;
  /** After the last step of an epoch, before its checkpoint. */
  onEpochEnd?(event: EpochEndEvent): void | Promise<void>;
  /** Once, when the loop finishes (also after a stop by `signal`). */
  onTrainEnd?(result: TrainResult): void | Promise<void>;
}

/**
 * A named tensor of an optimizer's state.
 * @category Training
 */
export interface NamedStateTensor {
  readonly name: string;
  readonly tensor: tf.Tensor;
}

/**
 * An optimizer's full state: `optimizer.getWeights()` (iteration count, e.g. Adam's moments) and
 * the bias-correction accumulators (`accBeta1`, `accBeta2`) that `setWeights` would otherwise
 * recompute with `pow`, which differs in the last bit from the running product.
 * @category Training
 */
export interface OptimizerState {
  /** `optimizer.getClassName()`, e.g. `'Adam'`. */
  readonly className: string;
  /** As `optimizer.getWeights()` returned them (copies). */
  readonly weights: readonly NamedStateTensor[];
  /** Exact accumulator variables, by field name. */
  readonly accumulators: readonly NamedStateTensor[];
}

/**
 * Everything needed to resume training exactly after an epoch. The tensors belong to whoever holds
 * the state: free them with {@link disposeTrainState}.
 * @category Training
 */
export interface TrainState {
  /** Completed epochs: training resumes at this 0-based epoch. */
  readonly epoch: number;
  /** Encoder weights, as `encoder.getWeights()`. */
  readonly encoderWeights: readonly tf.Tensor[];
  /** Head weights (empty without a head). */
  readonly headWeights: readonly tf.Tensor[];
  /** Optimizer state. */
  readonly optimizer: OptimizerState;
  /** The loop's generator, to continue the same stream. */
  readonly rng: RngState;
  /** Summaries of the completed epochs. */
  readonly history: readonly EpochSummary[];
  /** What `hooks.saveState` returned. */
  readonly extra: Readonly<Record<string, readonly tf.Tensor[]>>;
}

/**
 * Receives the training state after epochs (e.g. `directoryCheckpointer` of
 * `@contrastive/core/node`, or your own IndexedDB store).
 * @category Training
 */
export interface Checkpointer {
  /** Persist the state; the tensors are borrowed and disposed by the loop once the promise settles. */
  save(state: TrainState): Promise<void>;
  /** Save after every `every` epochs, and after the last. @defaultValue 1 */
  readonly every?: number;
}

/**
 * Options of {@link train}.
 * @category Training
 */
export interface TrainOptions {
  /** The encoder `e: X -> V` being trained. */
  readonly encoder: Encoder;
  /** The projection head `f: V -> Z`; the loss sees its output. @defaultValue none (the loss sees `h`) */
  readonly head?: Encoder;
  /** The batches. */
  readonly data: BatchSource;
  /** Two-view generator (augmentation). @defaultValue the batch as it is */
  readonly views?: ViewGenerator;
  /** The contrastive loss. */
  readonly loss: Loss;
  /** Mines tuples from each batch for the loss (e.g. batch-hard triplets). @defaultValue none: every pair */
  readonly miner?: Miner;
  /** Any tf.js optimizer, e.g. `tf.train.adam(1e-3, 0.9, 0.999, 1e-8)`. */
  readonly optimizer: tf.Optimizer;
  /**
   * Trainable variables beyond the encoder's and head's that the loss depends on, e.g. the text
   * encoder of a CLIP-style dual encoder (Radford et al. 2021) or extra projection heads. They are
   * optimised with the others, saved in checkpoints (under the state's `extra['train.variables']`)
   * and restored on resume. @defaultValue none
   */
  readonly variables?: readonly tf.Variable[];
  /** Total number of epochs (a resumed run continues up to it). */
  readonly epochs: number;
  /** Seed of the loop's generator (batches, views). Pass `seed` or `rng`. @defaultValue 0 */
  readonly seed?: number;
  /** The loop's generator (it advances). */
  readonly rng?: Rng;
  /** Progress callbacks. */
  readonly callbacks?: TrainCallbacks;
  /** Extension points (MoCo, BYOL, memory banks). */
  readonly hooks?: TrainHooks;
  /** Where to save the state after epochs. @defaultValue none */
  readonly checkpoint?: Checkpointer;
  /** Continue from this state (borrowed): weights, optimizer, generator and epoch are restored. */
  readonly resumeFrom?: TrainState;
  /**
   * Read the step losses from the device every this many steps, in one transfer. Reading stalls
   * the pipeline; fewer reads are faster. @defaultValue 1 with `callbacks.onStepEnd`, else once per epoch
   */
  readonly readLossEvery?: number;
  /** Stop after the current step when aborted; `train` then resolves with `stopped: true`. */
  readonly signal?: AbortSignal;
}

/**
 * What {@link train} resolves with.
 * @category Training
 */
export interface TrainResult {
  /** Summaries of all completed epochs, including those before a resume. */
  readonly history: readonly EpochSummary[];
  /** The epochs completed by this call, with their step losses. */
  readonly epochs: readonly EpochReport[];
  /** True when `signal` stopped the loop early (a partial epoch is not reported). */
  readonly stopped: boolean;
}

const ACCUMULATOR_FIELDS = ['accBeta1', 'accBeta2'] as const;
/** Key of `TrainState.extra` holding the values of `TrainOptions.variables`. */
const VARIABLES_KEY = 'train.variables';

function isTensorLike(value: unknown): value is tf.Tensor {
  return value !== null && typeof value === 'object' && Array.isArray((value as { shape?: unknown }).shape);
}

/**
 * Runs the forward pass of a gradient step. When it throws (a bad loss input, a hook's error), frees
 * the tensors tf.js saved on the gradient tape for the backward pass: tf.js 4.22 keeps them alive
 * when the function given to `optimizer.minimize` throws. Only the outermost tape is cleared.
 */
function freeTapeOnError<T>(forward: () => T): T {
  try {
    return forward();
  } catch (error) {
    const state = tf.engine().state;
    if (state.gradientDepth === 1 && Array.isArray(state.activeTape)) {
      for (const node of state.activeTape) tf.dispose(node.saved ?? []);
      state.activeTape = [];
    }
    throw error;
  }
}

/** Throws unless `value` is an object whose listed members are functions where present. */
function assertMethods(value: unknown, argument: string, names: readonly string[], fn: string): void {
  if (value === null || typeof value !== 'object') {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument '${argument}' passed to '${fn}' must be an object, got ${value === null ? 'null' : typeof value}`);
  }
  for (const name of names) {
    const member = (value as Record<string, unknown>)[name];
    if (member !== undefined && typeof member !== 'function') {
      throw new ContrastiveError('INVALID_ARGUMENT', `Argument '${argument}.${name}' passed to '${fn}' must be a function, got ${typeof member}`);
    }
  }
}

function assertEncoder(value: unknown, argument: string, fn: string): asserts value is Encoder {
  const candidate = value as Partial<Encoder> | null;
  if (
    candidate === null ||
    typeof candidate !== 'object' ||
    typeof candidate.apply !== 'function' ||
    typeof candidate.getWeights !== 'function' ||
    typeof candidate.setWeights !== 'function'
  ) {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument '${argument}' passed to '${fn}' must be an Encoder, got ${value === null ? 'null' : typeof value}`);
  }
}

function describeValue(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;
}

function assertStateTensor(value: unknown, argument: string, fn: string, allowDisposed: boolean): void {
  if (!isTensorLike(value)) {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument '${argument}' passed to '${fn}' must be a tf.Tensor, got ${describeValue(value)}`);
  }
  if (!allowDisposed && value.isDisposed) throw new ContrastiveError('DISPOSED', `Argument '${argument}' passed to '${fn}' has been disposed`);
}

function assertStateArray(value: unknown, argument: string, fn: string): asserts value is readonly unknown[] {
  if (!Array.isArray(value)) {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument '${argument}' passed to '${fn}' must be an array, got ${describeValue(value)}`);
  }
}

/**
 * Throws unless `state` has the structure of a {@link TrainState}: a non-negative integer epoch,
 * arrays of live tensors for the weights, an optimizer state with named tensors, an `rng` object,
 * a `history` array and an `extra` record of tensor arrays. The values of the tensors and of the
 * generator state are not checked here (`Rng.fromState` and `setWeights` do that).
 *
 * @param state - the received value.
 * @param argument - the argument's name (e.g. `'resumeFrom'`), used as the prefix of each field.
 * @param fn - the calling function's name.
 * @param allowDisposed - accept disposed tensors (for {@link disposeTrainState}). @defaultValue false
 * @throws {@link ContrastiveError} `INVALID_ARGUMENT` naming the malformed field, `DISPOSED` naming a
 *   disposed tensor.
 * @internal
 */
export function assertTrainState(state: unknown, argument: string, fn: string, allowDisposed = false): asserts state is TrainState {
  if (state === null || typeof state !== 'object') {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument '${argument}' passed to '${fn}' must be a TrainState, got ${describeValue(state)}`);
  }
  const candidate = state as Partial<Record<keyof TrainState, unknown>>;
  assertNumber(candidate.epoch, `${argument}.epoch`, fn, { integer: true, min: 0 });
  for (const field of ['encoderWeights', 'headWeights'] as const) {
    const tensors = candidate[field];
    assertStateArray(tensors, `${argument}.${field}`, fn);
    tensors.forEach((tensor, i) => assertStateTensor(tensor, `${argument}.${field}[${i}]`, fn, allowDisposed));
  }
  const optimizer = candidate.optimizer as Partial<Record<keyof OptimizerState, unknown>> | null | undefined;
  if (optimizer === null || typeof optimizer !== 'object' || typeof optimizer.className !== 'string') {
    throw new ContrastiveError(
      'INVALID_ARGUMENT',
      `Argument '${argument}.optimizer' passed to '${fn}' must be an OptimizerState { className, weights, accumulators }, got ${describeValue(optimizer)}`,
    );
  }
  for (const field of ['weights', 'accumulators'] as const) {
    const entries = optimizer[field];
    assertStateArray(entries, `${argument}.optimizer.${field}`, fn);
    entries.forEach((entry, i) => {
      const named = entry as Partial<NamedStateTensor> | null;
      if (named === null || typeof named !== 'object' || typeof named.name !== 'string') {
        throw new ContrastiveError(
          'INVALID_ARGUMENT',
          `Argument '${argument}.optimizer.${field}[${i}]' passed to '${fn}' must be { name, tensor }, got ${describeValue(named)}`,
        );
      }
      assertStateTensor(named.tensor, `${argument}.optimizer.${field}[${i}].tensor`, fn, allowDisposed);
    });
  }
  if (candidate.rng === null || typeof candidate.rng !== 'object') {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument '${argument}.rng' passed to '${fn}' must be an RngState, got ${describeValue(candidate.rng)}`);
  }
  assertStateArray(candidate.history, `${argument}.history`, fn);
  const extra = candidate.extra;
  if (extra === null || typeof extra !== 'object' || Array.isArray(extra)) {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument '${argument}.extra' passed to '${fn}' must be a record of tensor arrays, got ${describeValue(extra)}`);
  }
  for (const [key, tensors] of Object.entries(extra)) {
    assertStateArray(tensors, `${argument}.extra.${key}`, fn);
    tensors.forEach((tensor, i) => assertStateTensor(tensor, `${argument}.extra.${key}[${i}]`, fn, allowDisposed));
  }
}

/**
 * Capture an optimizer's state as copies owned by the caller.
 * @internal
 */
async function captureOptimizerState(optimizer: tf.Optimizer): Promise<OptimizerState> {
  const named = await optimizer.getWeights();
  const weights = named.map(({ name, tensor }) => ({ name, tensor: tf.clone(tensor) }));
  // getWeights returns the optimizer's own variables plus a fresh iteration scalar: free the latter.
  for (const { tensor } of named) if (!(tensor instanceof tf.Variable)) tensor.dispose();
  const accumulators: NamedStateTensor[] = [];
  const fields = optimizer as unknown as Record<string, unknown>;
  for (const field of ACCUMULATOR_FIELDS) {
    const value = fields[field];
    if (value instanceof tf.Variable) accumulators.push({ name: field, tensor: tf.clone(value) });
  }
  return { className: optimizer.getClassName(), weights, accumulators };
}

/**
 * Restore an optimizer from {@link captureOptimizerState} output (borrowed).
 * @internal
 */
async function restoreOptimizerState(optimizer: tf.Optimizer, state: OptimizerState, fn: string): Promise<void> {
  const className = optimizer.getClassName();
  if (state.className !== className) {
    throw new ContrastiveError(
      'INVALID_ARGUMENT',
      `Argument 'resumeFrom.optimizer' passed to '${fn}' holds the state of a ${state.className} optimizer, got a ${className} optimizer`,
    );
  }
  if (state.weights.length > 0) {
    // setWeights replaces the optimizer's slot variables without freeing the old ones.
    const previous = await optimizer.getWeights();
    tf.dispose(previous.map(({ tensor }) => tensor));
    await optimizer.setWeights(state.weights.map(({ name, tensor }) => ({ name, tensor })));
  }
  const fields = optimizer as unknown as Record<string, unknown>;
  for (const { name, tensor } of state.accumulators) {
    const target = fields[name];
    if (target instanceof tf.Variable) target.assign(tensor);
  }
}

/**
 * Free every tensor of a {@link TrainState} (e.g. one returned by `loadCheckpoint`). Idempotent.
 *
 * @param state - the state whose tensors to dispose.
 * @throws {@link ContrastiveError} `INVALID_ARGUMENT` naming the field when `state` is not a
 *   TrainState (nothing is disposed then).
 * @example
 * ```ts
 * const state = await loadCheckpoint('runs/simclr');
 * await train({ ...options, resumeFrom: state });
 * disposeTrainState(state);
 * ```
 * @category Training
 */
export function disposeTrainState(state: TrainState): void {
  assertTrainState(state, 'state', 'disposeTrainState', true);
  tf.dispose([
    ...state.encoderWeights,
    ...state.headWeights,
    ...state.optimizer.weights.map(({ tensor }) => tensor),
    ...state.optimizer.accumulators.map(({ tensor }) => tensor),
    ...Object.values(state.extra).flat(),
  ]);
}

interface PendingLoss {
  readonly step: number;
  readonly loss: tf.Scalar;
}

/**
 * Train an encoder (and projection head) with a contrastive loss: for each step, a batch from
 * `data`, its views, `h = encoder(x)`, `z = head(h)`, `loss.compute({ embeddings: z, labels, tuples })`
 * and one `optimizer.minimize` step over the encoder's and head's trainable variables. The same loop
 * serves SimCLR (Chen et al. 2020; NT-Xent on two views), SupCon (Khosla et al. 2020), triplet
 * training with a miner, and through `hooks` MoCo (He et al. 2019; momentum encoder and queue).
 *
 * Tensors do not leak: batches, views and step losses are freed; step losses are read from the
 * device in groups (`readLossEvery`), never one synchronous read per step. Given the same seed on a
 * deterministic backend (cpu), two runs give bit-identical losses and weights, and a run resumed from
 * the checkpoint after epoch `k` continues exactly as the uninterrupted run.
 *
 * @param options - model, data, loss, optimizer, epochs, randomness, callbacks, hooks and checkpoints.
 * @returns a promise of the epoch summaries and step losses; the trained weights are in `encoder`/`head`.
 * @throws {@link ContrastiveError} `INVALID_ARGUMENT` for bad options (also a malformed `resumeFrom`),
 *   `SHAPE_MISMATCH`/`LABEL_COUNT`/`DTYPE_MISMATCH`/`DISPOSED` for a bad batch (an empty batch is
 *   `SHAPE_MISMATCH`), `SHAPE_MISMATCH` naming `loss` when `loss.compute` returns no scalar,
 *   `NON_FINITE` when a step loss is NaN or infinite (naming the step).
 * @example
 * ```ts
 * const encoder = convEncoder({ seed: 0 });
 * const head = projectionHead({ seed: 1 });
 * const result = await train({
 *   encoder, head, data, views, loss: ntXentLoss({ temperature: 0.5 }),
 *   optimizer: tf.train.adam(1e-3, 0.9, 0.999, 1e-8), epochs: 5, seed: 0,
 *   callbacks: { onEpochEnd: ({ epoch, meanLoss, seconds }) => console.log(epoch, meanLoss, seconds) },
 * });
 * console.log(result.history.length); // 5
 * ```
 * @category Training
 */
export async function train(options: TrainOptions): Promise<TrainResult> {
  const fn = 'train';
  if (options === null || typeof options !== 'object') {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'options' passed to '${fn}' must be an object, got ${typeof options}`);
  }
  const { encoder, head, data, views, loss, miner, optimizer, epochs, callbacks = {}, hooks = {}, checkpoint, resumeFrom, signal } = options;
  const variables = options.variables ?? [];
  if (!Array.isArray(variables) || variables.some((v) => !(v instanceof tf.Variable) || v.isDisposed)) {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'variables' passed to '${fn}' must be an array of live tf.Variable`);
  }
  assertEncoder(encoder, 'encoder', fn);
  if (head !== undefined) assertEncoder(head, 'head', fn);
  if (data === null || typeof data !== 'object' || typeof data.batch !== 'function') {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'data' passed to '${fn}' must be a BatchSource with 'stepsPerEpoch' and 'batch', got ${data === null ? 'null' : typeof data}`);
  }
  const stepsPerEpoch = data.stepsPerEpoch;
  assertNumber(stepsPerEpoch, 'data.stepsPerEpoch', fn, { integer: true, min: 1 });
  assertMethods(data, 'data', ['beginEpoch'], fn);
  assertMethods(callbacks, 'callbacks', ['onEpochBegin', 'onStepEnd', 'onEpochEnd', 'onTrainEnd'], fn);
  assertMethods(hooks, 'hooks', ['lossInput', 'afterStep', 'saveState', 'loadState'], fn);
  if (views !== undefined && typeof views !== 'function') {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'views' passed to '${fn}' must be a function, got ${typeof views}`);
  }
  if (loss === null || typeof loss !== 'object' || typeof loss.compute !== 'function') {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'loss' passed to '${fn}' must be a Loss, got ${loss === null ? 'null' : typeof loss}`);
  }
  if (miner !== undefined && (miner === null || typeof miner.mine !== 'function')) {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'miner' passed to '${fn}' must be a Miner, got ${typeof miner}`);
  }
  if (miner !== undefined && hooks.lossInput !== undefined) {
    throw new ContrastiveError('INVALID_ARGUMENT', `Arguments 'miner' and 'hooks.lossInput' passed to '${fn}' are exclusive: mine inside the hook`);
  }
  if (optimizer === null || typeof optimizer !== 'object' || typeof optimizer.minimize !== 'function') {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'optimizer' passed to '${fn}' must be a tf.Optimizer, got ${optimizer === null ? 'null' : typeof optimizer}`);
  }
  assertNumber(epochs, 'epochs', fn, { integer: true, min: 1 });
  if (options.seed !== undefined && options.rng !== undefined) {
    throw new ContrastiveError('INVALID_ARGUMENT', `Arguments 'seed' and 'rng' passed to '${fn}' are exclusive: pass one of them, got both`);
  }
  if (options.rng !== undefined && !(options.rng instanceof Rng)) {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'rng' passed to '${fn}' must be an Rng, got ${typeof options.rng}`);
  }
  if (options.seed !== undefined) assertNumber(options.seed, 'seed', fn, { integer: true });
  const saveEvery = checkpoint?.every ?? 1;
  if (checkpoint !== undefined) {
    if (checkpoint === null || typeof checkpoint.save !== 'function') {
      throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'checkpoint' passed to '${fn}' must have a 'save' function`);
    }
    assertNumber(saveEvery, 'checkpoint.every', fn, { integer: true, min: 1 });
  }
  const readLossEvery = options.readLossEvery ?? (callbacks.onStepEnd !== undefined ? 1 : stepsPerEpoch);
  assertNumber(readLossEvery, 'readLossEvery', fn, { integer: true, min: 1 });

  let rng = options.rng ?? new Rng(options.seed ?? 0);
  const history: EpochSummary[] = [];
  let startEpoch = 0;
  if (resumeFrom !== undefined) {
    assertTrainState(resumeFrom, 'resumeFrom', fn);
    assertNumber(resumeFrom.epoch, 'resumeFrom.epoch', fn, { integer: true, min: 0, max: epochs });
    if (head === undefined && resumeFrom.headWeights.length > 0) {
      throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'resumeFrom' passed to '${fn}' holds head weights, but no 'head' was given`);
    }
    const savedVariables = resumeFrom.extra[VARIABLES_KEY];
    const extraKeys = Object.keys(resumeFrom.extra).filter((key) => key !== VARIABLES_KEY);
    if ((savedVariables?.length ?? 0) !== variables.length) {
      throw new ContrastiveError(
        'INVALID_ARGUMENT',
        `Argument 'resumeFrom' passed to '${fn}' holds ${savedVariables?.length ?? 0} extra variables, but 'variables' has ${variables.length}`,
      );
    }
    variables.forEach((variable, i) => {
      const saved = (savedVariables as readonly tf.Tensor[])[i] as tf.Tensor;
      if (!tf.util.arraysEqual(saved.shape, variable.shape)) {
        throw new ContrastiveError(
          'SHAPE_MISMATCH',
          `Argument 'resumeFrom' passed to '${fn}' holds extra variable ${i} of shape [${saved.shape.join(', ')}], but 'variables[${i}]' has [${variable.shape.join(', ')}]`,
        );
      }
    });
    if (extraKeys.length > 0 && hooks.loadState === undefined) {
      throw new ContrastiveError(
        'INVALID_ARGUMENT',
        `Argument 'resumeFrom' passed to '${fn}' holds hook state (${extraKeys.join(', ')}), but 'hooks.loadState' is missing`,
      );
    }
    encoder.setWeights(resumeFrom.encoderWeights);
    if (head !== undefined) head.setWeights(resumeFrom.headWeights);
    await restoreOptimizerState(optimizer, resumeFrom.optimizer, fn);
    rng = Rng.fromState(resumeFrom.rng);
    variables.forEach((variable, i) => variable.assign((savedVariables as readonly tf.Tensor[])[i] as tf.Tensor));
    if (extraKeys.length > 0) {
      const hookState = Object.fromEntries(Object.entries(resumeFrom.extra).filter(([key]) => key !== VARIABLES_KEY));
      hooks.loadState?.(hookState);
    }
    history.push(...resumeFrom.history);
    startEpoch = resumeFrom.epoch;
  }

  const varList = [...encoder.trainableVariables, ...(head?.trainableVariables ?? []), ...variables];
  if (varList.length === 0) {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'encoder' passed to '${fn}' has no trainable variables`);
  }
  const training: EncoderApplyOptions = { training: true };
  const reports: EpochReport[] = [];
  let stopped = false;
  let pending: PendingLoss[] = [];

  const flush = async (epoch: number, losses: number[]): Promise<void> => {
    if (pending.length === 0) return;
    const group = pending;
    pending = [];
    let values: Float32Array;
    try {
      const stacked = tf.stack(group.map(({ loss: value }) => value));
      try {
        values = (await stacked.data()) as Float32Array;
      } finally {
        stacked.dispose();
      }
    } finally {
      tf.dispose(group.map(({ loss: value }) => value));
    }
    for (let i = 0; i < group.length; i++) {
      const value = values[i] as number;
      const { step } = group[i] as PendingLoss;
      if (!Number.isFinite(value)) {
        throw new ContrastiveError('NON_FINITE', `'${fn}': the loss of epoch ${epoch}, step ${step} is ${value} (loss '${loss.name}')`);
      }
      losses.push(value);
      await callbacks.onStepEnd?.({ epoch, step, stepsPerEpoch, loss: value });
    }
  };

  try {
    for (let epoch = startEpoch; epoch < epochs && !stopped; epoch++) {
      await callbacks.onEpochBegin?.({ epoch, epochs, stepsPerEpoch });
      const started = performance.now();
      const losses: number[] = [];
      data.beginEpoch?.(epoch, rng);
      for (let step = 0; step < stepsPerEpoch; step++) {
        if (signal?.aborted === true) {
          stopped = true;
          break;
        }
        const owned: tf.Tensor[] = [];
        try {
          const raw = await data.batch(epoch, step, rng);
          if (raw !== null && typeof raw === 'object') {
            owned.push(raw.inputs, raw.labels);
            if (raw.indices !== undefined) owned.push(raw.indices);
          }
          const indices = raw?.indices;
          const batch = views === undefined ? raw : await views(raw, rng);
          if (batch !== raw && batch !== null && typeof batch === 'object') owned.push(batch.inputs, batch.labels);
          const where = views === undefined ? 'data.batch' : 'views';
          if (batch === null || typeof batch !== 'object' || !isTensorLike(batch.inputs) || batch.inputs.rank < 1) {
            throw new ContrastiveError(
              'SHAPE_MISMATCH',
              `Argument '${where}()' passed to '${fn}' must return { inputs: tf.Tensor, labels: tf.Tensor1D } (epoch ${epoch}, step ${step})`,
            );
          }
          const { inputs, labels } = batch;
          if (inputs.isDisposed) {
            throw new ContrastiveError('DISPOSED', `Argument '${where}().inputs' passed to '${fn}' has been disposed (epoch ${epoch}, step ${step})`);
          }
          if ((inputs.shape[0] as number) < 1) {
            throw new ContrastiveError('SHAPE_MISMATCH', `Argument '${where}().inputs' passed to '${fn}' must have at least 1 row, got 0 (epoch ${epoch}, step ${step})`);
          }
          assertLabels(labels, inputs.shape[0] as number, `${where}().labels`, fn);
          const stepLoss = optimizer.minimize(
            () =>
              freeTapeOnError(() => {
                const features = encoder.apply(inputs, training);
                const embeddings = head === undefined ? features : head.apply(features, training);
                const input: LossInput =
                  hooks.lossInput !== undefined
                    ? hooks.lossInput({ epoch, step, inputs, labels, features, embeddings, indices, rng })
                    : miner !== undefined
                      ? { embeddings, labels, tuples: miner.mine({ embeddings, labels }) }
                      : { embeddings, labels };
                const value = loss.compute(input);
                if (!isTensorLike(value) || value.rank !== 0) {
                  throw new ContrastiveError(
                    'SHAPE_MISMATCH',
                    `Argument 'loss' passed to '${fn}' must compute a scalar, got ${isTensorLike(value) ? `shape [${value.shape.join(', ')}]` : typeof value} (loss '${loss.name}')`,
                  );
                }
                return value;
              }),
            true,
            varList,
          ) as tf.Scalar;
          pending.push({ step, loss: stepLoss });
          await hooks.afterStep?.({ epoch, step, stepsPerEpoch, inputs, labels, loss: stepLoss, indices, rng });
        } finally {
          tf.dispose(owned);
        }
        if (pending.length >= readLossEvery) await flush(epoch, losses);
      }
      await flush(epoch, losses);
      if (stopped) break;
      const seconds = (performance.now() - started) / 1000;
      const meanLoss = losses.reduce((sum, value) => sum + value, 0) / losses.length;
      const report: EpochReport = { epoch, meanLoss, seconds, losses };
      reports.push(report);
      history.push({ epoch, meanLoss, seconds });
      await callbacks.onEpochEnd?.({ ...report, epochs });
      const done = epoch + 1;
      if (checkpoint !== undefined && (done % saveEvery === 0 || done === epochs)) {
        const state = await captureState(done);
        try {
          await checkpoint.save(state);
        } finally {
          disposeTrainState(state);
        }
      }
    }
  } finally {
    tf.dispose(pending.map(({ loss: value }) => value));
    pending = [];
  }
  const result: TrainResult = { history: [...history], epochs: reports, stopped };
  await callbacks.onTrainEnd?.(result);
  return result;

  async function captureState(done: number): Promise<TrainState> {
    const encoderWeights = encoder.getWeights();
    const headWeights = head?.getWeights() ?? [];
    let extra: Record<string, tf.Tensor[]> = {};
    try {
      extra = hooks.saveState?.() ?? {};
      if (VARIABLES_KEY in extra) {
        throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'hooks.saveState' passed to '${fn}' returned the reserved key '${VARIABLES_KEY}'`);
      }
      if (variables.length > 0) extra = { ...extra, [VARIABLES_KEY]: variables.map((variable) => tf.clone(variable)) };
      const optimizerState = await captureOptimizerState(optimizer);
      return { epoch: done, encoderWeights, headWeights, optimizer: optimizerState, rng: rng.state(), history: [...history], extra };
    } catch (error) {
      tf.dispose([...encoderWeights, ...headWeights, ...Object.values(extra).flat()]);
      throw error;
    }
  }
}

/**
 * Options of {@link embedDataset}.
 * @category Training
 */
export interface EmbedDatasetOptions {
  /** Samples per forward pass. @defaultValue 256 */
  readonly batchSize?: number;
}

/**
 * Features of a whole dataset, computed in batches (inference mode), e.g. the representation `h` of
 * every train and test image for kNN or a linear probe.
 *
 * @param encoder - anything with `apply`: an {@link Encoder}, a {@link MomentumEncoder}.
 * @param inputs - `[n, ...]` float32 samples, borrowed.
 * @param options - batch size.
 * @returns `[n, d]` float32, owned by the caller; no intermediate tensor is left behind.
 * @throws {@link ContrastiveError} `INVALID_ARGUMENT` for a bad batch size, `SHAPE_MISMATCH` for an
 *   empty or wrongly shaped input.
 * @example
 * ```ts
 * const features = embedDataset(encoder, testImages, { batchSize: 512 });
 * console.log(features.shape); // [10000, 128]
 * ```
 * @category Training
 */
export function embedDataset(
  encoder: Pick<Encoder, 'apply'>,
  inputs: tf.Tensor,
  options: EmbedDatasetOptions = {},
): tf.Tensor2D {
  const fn = 'embedDataset';
  if (encoder === null || typeof encoder !== 'object' || typeof encoder.apply !== 'function') {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'encoder' passed to '${fn}' must have an 'apply' method, got ${typeof encoder}`);
  }
  if (!isTensorLike(inputs) || inputs.rank < 1) {
    throw new ContrastiveError('SHAPE_MISMATCH', `Argument 'inputs' passed to '${fn}' must be a tf.Tensor of shape [n, ...], got ${typeof inputs}`);
  }
  if (inputs.isDisposed) throw new ContrastiveError('DISPOSED', `Argument 'inputs' passed to '${fn}' has been disposed`);
  const batchSize = options.batchSize ?? 256;
  assertNumber(batchSize, 'batchSize', fn, { integer: true, min: 1 });
  const n = inputs.shape[0] as number;
  if (n < 1) throw new ContrastiveError('SHAPE_MISMATCH', `Argument 'inputs' passed to '${fn}' must have at least 1 row, got 0`);
  if (n <= batchSize) return tf.tidy(() => encoder.apply(inputs, { training: false }));
  const parts: tf.Tensor2D[] = [];
  try {
    const rest = inputs.shape.slice(1).map(() => -1);
    const zeros = inputs.shape.slice(1).map(() => 0);
    for (let start = 0; start < n; start += batchSize) {
      const size = Math.min(batchSize, n - start);
      parts.push(tf.tidy(() => encoder.apply(tf.slice(inputs, [start, ...zeros], [size, ...rest]), { training: false })));
    }
    return tf.concat(parts, 0);
  } finally {
    tf.dispose(parts);
  }
}
