/**
 * Encoders `e: X -> V` and projection heads `f: V -> Z` built on `@tensorflow/tfjs-layers`, with
 * seeded PyTorch-style or Glorot initialization.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
// Importing tfjs-layers also registers the gradients that bare tfjs-core lacks in Node.
import * as tfl from '@tensorflow/tfjs-layers';
import { ContrastiveError } from './errors.js';
import { convReluPool } from './backend/wasm-conv-block.js';
import { Rng } from './rng.js';
import { assertNumber, assertOneOf } from './validate.js';

/**
 * How the weights of a new encoder are drawn, always from a seeded {@link Rng}:
 *
 * - `'pytorch'`: PyTorch's default for `nn.Linear` / `nn.Conv2d`: every weight **and bias** ~
 *   `U(-1/sqrt(fan_in), +1/sqrt(fan_in))`, `fan_in = in_channels * kh * kw` or `in_features`.
 * - `'glorot'`: TF.js's default: Glorot-uniform kernels `U(±sqrt(6 / (fan_in + fan_out)))`, zero biases.
 *
 * @category Encoders
 */
export type EncoderInit = 'pytorch' | 'glorot';

/**
 * Element-wise activations an encoder layer can use (TF.js names).
 * @category Encoders
 */
export type EncoderActivation = 'relu' | 'elu' | 'selu' | 'tanh' | 'sigmoid' | 'swish' | 'linear';

const INITS: readonly EncoderInit[] = ['pytorch', 'glorot'];
const ACTIVATIONS: readonly EncoderActivation[] = ['relu', 'elu', 'selu', 'tanh', 'sigmoid', 'swish', 'linear'];

/**
 * Options of {@link Encoder.apply}.
 * @category Encoders
 */
export interface EncoderApplyOptions {
  /** Run layers in training mode (dropout, batch statistics). @defaultValue false */
  readonly training?: boolean;
}

/**
 * Options of {@link Encoder.clone}.
 * @category Encoders
 */
export interface EncoderCloneOptions {
  /** Whether the copy's variables are trainable. @defaultValue true */
  readonly trainable?: boolean;
  /** Name of the copy. @defaultValue the original's name */
  readonly name?: string;
}

/**
 * A network mapping a batch of inputs to one feature row per sample: an encoder `e: X -> V` or a
 * projection head `f: V -> Z`. Made by {@link mlpEncoder}, {@link convEncoder},
 * {@link projectionHead} or {@link layersEncoder}.
 *
 * @category Encoders
 */
export interface Encoder {
  /** Name used in messages and reports. */
  readonly name: string;
  /** The underlying tfjs-layers model (its variables are the encoder's weights). */
  readonly model: tfl.LayersModel;
  /** Shape of one input sample, e.g. `[28, 28, 1]` or `[784]`. */
  readonly inputShape: readonly number[];
  /** Width `d` of the output rows. */
  readonly outputDim: number;
  /**
   * Forward pass.
   * @param x - `[n, ...inputShape]` float32 (see each factory for the shapes it also accepts); borrowed.
   * @param options - training mode.
   * @returns `[n, outputDim]` float32, owned by the caller.
   * @throws {@link ContrastiveError} `SHAPE_MISMATCH` / `DTYPE_MISMATCH` for a wrong input, `STATE` after `dispose()`.
   */
  apply(x: tf.Tensor, options?: EncoderApplyOptions): tf.Tensor2D;
  /** The trainable variables (owned by the encoder), e.g. for `optimizer.minimize(f, true, varList)`. */
  readonly trainableVariables: tf.Variable[];
  /** @returns copies of all weights in layer order, owned by the caller. */
  getWeights(): tf.Tensor[];
  /**
   * Overwrite all weights (borrowed: the encoder keeps no reference to the tensors' handles).
   * @throws {@link ContrastiveError} `SHAPE_MISMATCH` / `DTYPE_MISMATCH` when a weight does not fit.
   */
  setWeights(weights: readonly tf.Tensor[]): void;
  /** @returns a new encoder with the same architecture and a copy of the weights, owned by the caller. */
  clone(options?: EncoderCloneOptions): Encoder;
  /** @returns the number of scalar weights. */
  countParams(): number;
  /** Free the weights. Idempotent; any other call afterwards throws `STATE`. */
  dispose(): void;
}

/**
 * Initialization options shared by the encoder factories.
 * @category Encoders
 */
export interface EncoderInitOptions {
  /** Weight initialization scheme. @defaultValue 'pytorch' */
  readonly init?: EncoderInit;
  /** Seed of the weights (ignored when `rng` is given). @defaultValue 0 */
  readonly seed?: number;
  /** Draw the weights from this generator instead (it advances). Pass `seed` or `rng`, not both. */
  readonly rng?: Rng;
  /** Name of the encoder. @defaultValue the factory's name */
  readonly name?: string;
}

/** How an encoder accepts inputs whose per-sample shape differs from `inputShape`. */
type InputMode = 'exact' | 'reshape-any' | 'reshape-flat';

interface EncoderSpec {
  readonly name: string;
  readonly fn: string;
  readonly inputShape: readonly number[];
  readonly outputDim: number;
  readonly inputMode: InputMode;
  /** A faster forward pass over the same weights, or `null` where it does not apply (then the model runs). */
  readonly forward?: (model: tfl.LayersModel, input: tf.Tensor, training: boolean) => tf.Tensor2D | null;
}

function product(values: readonly number[]): number {
  return values.reduce((total, value) => total * value, 1);
}

function shapeText(shape: readonly (number | null)[]): string {
  return `[${shape.map((value) => (value === null ? 'n' : String(value))).join(', ')}]`;
}

/** The {@link Encoder} implementation behind every factory: a tfjs-layers model plus input handling. */
class LayersEncoder implements Encoder {
  readonly name: string;
  readonly inputShape: readonly number[];
  readonly outputDim: number;
  private readonly fn: string;
  private readonly inputMode: InputMode;
  private readonly inner: tfl.LayersModel;
  private readonly forward: EncoderSpec['forward'];
  private disposed = false;

  constructor(model: tfl.LayersModel, spec: EncoderSpec) {
    this.inner = model;
    this.forward = spec.forward;
    this.name = spec.name;
    this.fn = spec.fn;
    this.inputShape = Object.freeze([...spec.inputShape]);
    this.outputDim = spec.outputDim;
    this.inputMode = spec.inputMode;
  }

  get model(): tfl.LayersModel {
    this.assertLive('model');
    return this.inner;
  }

  get trainableVariables(): tf.Variable[] {
    this.assertLive('trainableVariables');
    return this.inner.trainableWeights.map((weight) => weight.read() as tf.Variable);
  }

  apply(x: tf.Tensor, options: EncoderApplyOptions = {}): tf.Tensor2D {
    this.assertLive('apply');
    const fn = `${this.fn}.apply`;
    const expected = shapeText([null, ...this.inputShape]);
    if (x === null || typeof x !== 'object' || !Array.isArray((x as { shape?: unknown }).shape)) {
      throw new ContrastiveError('SHAPE_MISMATCH', `Argument 'x' passed to '${fn}' must be a tf.Tensor of shape ${expected}, got ${typeof x}`);
    }
    if (x.isDisposed) throw new ContrastiveError('DISPOSED', `Argument 'x' passed to '${fn}' has been disposed`);
    if (x.dtype !== 'float32') {
      throw new ContrastiveError('DTYPE_MISMATCH', `Argument 'x' passed to '${fn}' must have dtype float32, got ${x.dtype}`);
    }
    const sample = x.shape.slice(1);
    const exact = x.rank === this.inputShape.length + 1 && sample.every((size, i) => size === this.inputShape[i]);
    let reshape = false;
    if (!exact) {
      const flatOk =
        x.rank >= 2 &&
        product(sample) === product(this.inputShape) &&
        (this.inputMode === 'reshape-any' || (this.inputMode === 'reshape-flat' && x.rank === 2));
      if (!flatOk) {
        const also =
          this.inputMode === 'reshape-any'
            ? ` (or any [n, ...] with ${product(this.inputShape)} values per sample)`
            : this.inputMode === 'reshape-flat'
              ? ` or [n, ${product(this.inputShape)}]`
              : '';
        throw new ContrastiveError('SHAPE_MISMATCH', `Argument 'x' passed to '${fn}' must have shape ${expected}${also}, got ${shapeText(x.shape)}`);
      }
      reshape = true;
    }
    const training = options.training ?? false;
    return tf.tidy(() => {
      const input = reshape ? tf.reshape(x, [x.shape[0] as number, ...this.inputShape]) : x;
      return this.forward?.(this.inner, input, training) ?? (this.inner.apply(input, { training }) as tf.Tensor2D);
    });
  }

  getWeights(): tf.Tensor[] {
    this.assertLive('getWeights');
    return this.inner.weights.map((weight) => tf.clone(weight.read()));
  }

  setWeights(weights: readonly tf.Tensor[]): void {
    this.assertLive('setWeights');
    const fn = `${this.fn}.setWeights`;
    const targets = this.inner.weights;
    if (!Array.isArray(weights) || weights.length !== targets.length) {
      throw new ContrastiveError(
        'SHAPE_MISMATCH',
        `Argument 'weights' passed to '${fn}' must hold ${targets.length} tensors (one per weight of '${this.name}'), got ${Array.isArray(weights) ? weights.length : typeof weights}`,
      );
    }
    targets.forEach((target, i) => {
      const weight = weights[i] as tf.Tensor;
      if (weight === null || typeof weight !== 'object' || !Array.isArray((weight as { shape?: unknown }).shape)) {
        throw new ContrastiveError('SHAPE_MISMATCH', `Argument 'weights[${i}]' passed to '${fn}' must be a tf.Tensor, got ${typeof weight}`);
      }
      if (weight.isDisposed) throw new ContrastiveError('DISPOSED', `Argument 'weights[${i}]' passed to '${fn}' has been disposed`);
      if (weight.shape.join(',') !== target.shape.join(',')) {
        throw new ContrastiveError(
          'SHAPE_MISMATCH',
          `Argument 'weights[${i}]' passed to '${fn}' must have shape ${shapeText(target.shape)} (${target.originalName}), got ${shapeText(weight.shape)}`,
        );
      }
      if (weight.dtype !== target.dtype) {
        throw new ContrastiveError('DTYPE_MISMATCH', `Argument 'weights[${i}]' passed to '${fn}' must have dtype ${target.dtype}, got ${weight.dtype}`);
      }
    });
    this.inner.setWeights([...weights]);
  }

  clone(options: EncoderCloneOptions = {}): Encoder {
    this.assertLive('clone');
    const trainable = options.trainable ?? true;
    assertOneOf(trainable, [true, false], 'options.trainable', `${this.fn}.clone`);
    const constructor = this.inner.constructor as unknown as {
      fromConfig(cls: unknown, config: tf.serialization.ConfigDict, customObjects: tf.serialization.ConfigDict, fastWeightInit: boolean): tfl.LayersModel;
    };
    // fastWeightInit: build with zeros (no random draws), then copy the weights.
    const copy = constructor.fromConfig(this.inner.constructor, this.inner.getConfig(), {}, true);
    copy.setWeights(this.inner.weights.map((weight) => weight.read()));
    copy.trainable = trainable;
    return new LayersEncoder(copy, {
      name: options.name ?? this.name,
      fn: this.fn,
      inputShape: this.inputShape,
      outputDim: this.outputDim,
      inputMode: this.inputMode,
      ...(this.forward === undefined ? {} : { forward: this.forward }),
    });
  }

  countParams(): number {
    this.assertLive('countParams');
    return this.inner.countParams();
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.inner.dispose();
  }

  private assertLive(member: string): void {
    if (this.disposed) {
      throw new ContrastiveError('STATE', `'${this.fn}.${member}' was called after '${this.name}' was disposed`);
    }
  }
}

function resolveRng(options: EncoderInitOptions, fn: string): Rng {
  if (options.rng !== undefined && options.seed !== undefined) {
    throw new ContrastiveError('INVALID_ARGUMENT', `Arguments 'seed' and 'rng' passed to '${fn}' are exclusive: pass one of them, got both`);
  }
  if (options.rng !== undefined) {
    if (!(options.rng instanceof Rng)) {
      throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'rng' passed to '${fn}' must be an Rng, got ${typeof options.rng}`);
    }
    return options.rng;
  }
  const seed = options.seed ?? 0;
  assertNumber(seed, 'seed', fn, { integer: true });
  return new Rng(seed);
}

function resolveInit(options: EncoderInitOptions, fn: string): EncoderInit {
  const init = options.init ?? 'pytorch';
  assertOneOf(init, INITS, 'init', fn);
  return init;
}

function resolveName(options: EncoderInitOptions, fallback: string, fn: string): string {
  const name = options.name ?? fallback;
  if (typeof name !== 'string' || name.length === 0) {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'name' passed to '${fn}' must be a non-empty string, got ${typeof name}`);
  }
  return name;
}

function assertDims(values: unknown, argument: string, fn: string, minLength: number): asserts values is readonly number[] {
  if (!Array.isArray(values) || values.length < minLength) {
    throw new ContrastiveError(
      'INVALID_ARGUMENT',
      `Argument '${argument}' passed to '${fn}' must be an array of at least ${minLength} positive integer(s), got ${Array.isArray(values) ? `an array of ${values.length}` : typeof values}`,
    );
  }
  values.forEach((value, i) => assertNumber(value, `${argument}[${i}]`, fn, { integer: true, min: 1 }));
}

/**
 * Draw every weight of `model` from `rng`, layer by layer, kernel before bias.
 * Kernels are `[in, out]` (dense) or `[kh, kw, in, out]` (conv).
 */
function initializeWeights(model: tfl.LayersModel, init: EncoderInit, rng: Rng): void {
  const values: tf.Tensor[] = [];
  try {
    for (const layer of model.layers) {
      const weights = layer.weights;
      const kernel = weights.find((weight) => weight.shape.length >= 2);
      let fanIn = 1;
      let fanOut = 1;
      if (kernel !== undefined) {
        const shape = kernel.shape as number[];
        const receptive = product(shape.slice(0, -2));
        fanIn = receptive * (shape[shape.length - 2] as number);
        fanOut = receptive * (shape[shape.length - 1] as number);
      }
      for (const weight of weights) {
        const shape = weight.shape as number[];
        const size = product(shape);
        const isKernel = weight === kernel;
        let data: Float32Array;
        if (init === 'pytorch') {
          const bound = 1 / Math.sqrt(fanIn);
          data = rng.uniformArray(size, -bound, bound);
        } else if (isKernel) {
          const limit = Math.sqrt(6 / (fanIn + fanOut));
          data = rng.uniformArray(size, -limit, limit);
        } else {
          data = new Float32Array(size);
        }
        values.push(tf.tensor(data, shape, 'float32'));
      }
    }
    model.setWeights(values);
  } finally {
    tf.dispose(values);
  }
}

function denseLayer(units: number, activation: EncoderActivation, inputDim?: number): tfl.layers.Layer {
  return tfl.layers.dense({
    units,
    activation,
    useBias: true,
    kernelInitializer: 'zeros',
    biasInitializer: 'zeros',
    ...(inputDim === undefined ? {} : { inputShape: [inputDim] }),
  });
}

/**
 * Options of {@link mlpEncoder}.
 * @category Encoders
 */
export interface MlpEncoderOptions extends EncoderInitOptions {
  /** Values per input sample (required); inputs of any rank are flattened to `[n, inputDim]`. */
  readonly inputDim: number;
  /** Widths of the hidden layers, each followed by `activation`. @defaultValue [256] */
  readonly hiddenDims?: readonly number[];
  /** Width of the output (the representation). @defaultValue 128 */
  readonly outputDim?: number;
  /** Activation after every hidden layer. @defaultValue 'relu' */
  readonly activation?: EncoderActivation;
  /**
   * Activation of the output layer. The representation is taken after it, as `h` of the reference CNN
   * (post-ReLU); use `'linear'` for a linear last layer. @defaultValue the value of `activation`
   */
  readonly outputActivation?: EncoderActivation;
}

/**
 * A multi-layer perceptron encoder: `Dense(hiddenDims[0]) -> activation -> ... -> Dense(outputDim) ->
 * outputActivation`. Inputs of any rank `[n, ...]` are flattened to `[n, inputDim]`.
 *
 * @param options - sizes, activations and initialization; `inputDim` is required.
 * @returns an {@link Encoder} owned by the caller (call `dispose()`).
 * @throws {@link ContrastiveError} `INVALID_ARGUMENT` naming the offending option.
 * @example
 * ```ts
 * const encoder = mlpEncoder({ inputDim: 784, hiddenDims: [256], outputDim: 128, seed: 0 });
 * const h = encoder.apply(tf.zeros([2, 28, 28, 1]));
 * console.log(h.shape); // [2, 128]
 * ```
 * @category Encoders
 */
export function mlpEncoder(options: MlpEncoderOptions): Encoder {
  const fn = 'mlpEncoder';
  if (options === null || typeof options !== 'object') {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'options' passed to '${fn}' must be an object with 'inputDim', got ${typeof options}`);
  }
  const { inputDim, hiddenDims = [256], outputDim = 128, activation = 'relu' } = options;
  const outputActivation = options.outputActivation ?? activation;
  assertNumber(inputDim, 'inputDim', fn, { integer: true, min: 1 });
  assertDims(hiddenDims, 'hiddenDims', fn, 0);
  assertNumber(outputDim, 'outputDim', fn, { integer: true, min: 1 });
  assertOneOf(activation, ACTIVATIONS, 'activation', fn);
  assertOneOf(outputActivation, ACTIVATIONS, 'outputActivation', fn);
  const init = resolveInit(options, fn);
  const name = resolveName(options, 'mlp-encoder', fn);
  const rng = resolveRng(options, fn);
  const layers: tfl.layers.Layer[] = [];
  hiddenDims.forEach((units, i) => layers.push(denseLayer(units, activation, i === 0 ? inputDim : undefined)));
  layers.push(denseLayer(outputDim, outputActivation, hiddenDims.length === 0 ? inputDim : undefined));
  const model = tfl.sequential({ layers });
  initializeWeights(model, init, rng);
  return new LayersEncoder(model, { name, fn, inputShape: [inputDim], outputDim, inputMode: 'reshape-any' });
}

/**
 * Options of {@link convEncoder}.
 * @category Encoders
 */
export interface ConvEncoderOptions extends EncoderInitOptions {
  /** `[height, width, channels]` of one image. @defaultValue [28, 28, 1] */
  readonly inputShape?: readonly number[];
  /** Output channels of each conv stage (conv + ReLU + 2x2 max-pool). @defaultValue [32, 64] */
  readonly filters?: readonly number[];
  /** Side of the square conv kernels (odd; `same` padding). @defaultValue 3 */
  readonly kernelSize?: number;
  /** Width of the final dense layer (the representation `h`, post-ReLU). @defaultValue 128 */
  readonly denseUnits?: number;
  /**
   * On the wasm backend with the toolkit's native kernels, run each 3x3 stage (conv, bias, ReLU,
   * 2x2 max-pool; output channels a multiple of 8) as one fused kernel and its gradient as one
   * more, on the same weights: within 1e-5 of the layer-by-layer path, without its four
   * full-resolution activation tensors. `false` always runs the tfjs-layers model (as other
   * backends do).
   * @defaultValue true
   */
  readonly fused?: boolean;
}

/**
 * The reference CNN of the recipe: per stage `Conv(k x k, same, bias) -> ReLU -> MaxPool(2)`, then
 * `Flatten -> Dense(denseUnits) -> ReLU`. With the defaults (28x28x1, [32, 64], 128) it has 420,352
 * weights; with {@link projectionHead}'s defaults the full model has 445,120, as in PyTorch.
 * (TF.js flattens H,W,C where PyTorch flattens C,H,W: a fixed permutation of the dense rows.)
 *
 * @param options - architecture and initialization.
 * @returns an {@link Encoder} owned by the caller; `apply` takes `[n, h, w, c]` or flat `[n, h*w*c]`
 *   float32 and returns `[n, denseUnits]`.
 * @throws {@link ContrastiveError} `INVALID_ARGUMENT` naming the offending option (also when pooling
 *   would shrink the image below 1 pixel).
 * @example
 * ```ts
 * const encoder = convEncoder({ seed: 0 });
 * console.log(encoder.countParams()); // 420352
 * const h = encoder.apply(tf.zeros([4, 784]));
 * console.log(h.shape); // [4, 128]
 * ```
 * @category Encoders
 */
export function convEncoder(options: ConvEncoderOptions = {}): Encoder {
  const fn = 'convEncoder';
  const { inputShape = [28, 28, 1], filters = [32, 64], kernelSize = 3, denseUnits = 128, fused = true } = options;
  if (typeof fused !== 'boolean') {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'fused' passed to '${fn}' must be a boolean, got ${typeof fused}`);
  }
  assertDims(inputShape, 'inputShape', fn, 3);
  if (inputShape.length !== 3) {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'inputShape' passed to '${fn}' must be [height, width, channels], got ${shapeText(inputShape)}`);
  }
  assertDims(filters, 'filters', fn, 1);
  assertNumber(kernelSize, 'kernelSize', fn, { integer: true, min: 1 });
  if (kernelSize % 2 === 0) {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'kernelSize' passed to '${fn}' must be odd (same padding), got ${kernelSize}`);
  }
  assertNumber(denseUnits, 'denseUnits', fn, { integer: true, min: 1 });
  let [height, width] = inputShape as [number, number, number];
  for (let i = 0; i < filters.length; i++) {
    height = Math.floor(height / 2);
    width = Math.floor(width / 2);
  }
  if (height < 1 || width < 1) {
    throw new ContrastiveError(
      'INVALID_ARGUMENT',
      `Argument 'filters' passed to '${fn}' has ${filters.length} stages, too many for an input of ${shapeText(inputShape)} (each halves the image)`,
    );
  }
  const init = resolveInit(options, fn);
  const name = resolveName(options, 'conv-encoder', fn);
  const rng = resolveRng(options, fn);
  const layers: tfl.layers.Layer[] = [];
  filters.forEach((count, i) => {
    layers.push(
      tfl.layers.conv2d({
        filters: count,
        kernelSize,
        strides: 1,
        padding: 'same',
        activation: 'relu',
        useBias: true,
        kernelInitializer: 'zeros',
        biasInitializer: 'zeros',
        ...(i === 0 ? { inputShape: [...inputShape] } : {}),
      }),
    );
    layers.push(tfl.layers.maxPooling2d({ poolSize: 2, strides: 2, padding: 'valid' }));
  });
  layers.push(tfl.layers.flatten());
  layers.push(denseLayer(denseUnits, 'relu'));
  const model = tfl.sequential({ layers });
  initializeWeights(model, init, rng);
  const stages = filters.length;
  const forward = fused && kernelSize === 3 ? (m: tfl.LayersModel, input: tf.Tensor, training: boolean) => fusedStagesForward(m, stages, input, training) : undefined;
  return new LayersEncoder(model, { name, fn, inputShape, outputDim: denseUnits, inputMode: 'reshape-flat', ...(forward === undefined ? {} : { forward }) });
}

/**
 * {@link convEncoder}'s model with each conv -> ReLU -> max-pool stage as the fused wasm block
 * (`convReluPool`) where it applies, the layers elsewhere; `null` when no stage can be fused (the
 * caller runs the model). Reads the layers' own weight variables, so gradients reach them.
 */
function fusedStagesForward(model: tfl.LayersModel, stages: number, input: tf.Tensor, training: boolean): tf.Tensor2D | null {
  const layers = model.layers;
  let h = input;
  let fusedAny = false;
  for (let stage = 0; stage < stages; stage++) {
    const conv = layers[2 * stage] as tfl.layers.Layer;
    const pool = layers[2 * stage + 1] as tfl.layers.Layer;
    const [kernel, bias] = conv.weights.map((weight) => weight.read());
    const out = kernel !== undefined && bias !== undefined ? convReluPool(h as tf.Tensor4D, kernel as tf.Tensor4D, bias as tf.Tensor1D) : null;
    if (out === null) {
      if (!fusedAny) return null; // nothing fused yet: the model itself is the same work
      h = pool.apply(conv.apply(h, { training }), { training }) as tf.Tensor;
    } else {
      h = out;
      fusedAny = true;
    }
  }
  for (const layer of layers.slice(2 * stages)) h = layer.apply(h, { training }) as tf.Tensor;
  return h as tf.Tensor2D;
}

/**
 * Options of {@link projectionHead}.
 * @category Encoders
 */
export interface ProjectionHeadOptions extends EncoderInitOptions {
  /** Width of the representation fed in. @defaultValue 128 */
  readonly inputDim?: number;
  /** Width of the hidden layers. @defaultValue 128 */
  readonly hiddenDim?: number;
  /** Width of the output `z` fed to the loss. @defaultValue 64 */
  readonly outputDim?: number;
  /** Number of `Linear -> ReLU` blocks before the last `Linear` (0: a linear head). @defaultValue 1 */
  readonly hiddenLayers?: number;
}

/**
 * The SimCLR projection head `g(h) = W2 ReLU(W1 h)` (Chen et al. 2020, "A Simple Framework for
 * Contrastive Learning of Visual Representations"): `hiddenLayers` blocks of `Linear -> ReLU`, then a
 * `Linear` (with biases). The loss is computed on its output `z`; the representation `h` fed into it
 * is what downstream tasks use.
 *
 * @param options - widths, depth and initialization.
 * @returns an {@link Encoder} owned by the caller; `apply` takes `[n, inputDim]` float32 and returns
 *   `[n, outputDim]`.
 * @throws {@link ContrastiveError} `INVALID_ARGUMENT` naming the offending option.
 * @example
 * ```ts
 * const head = projectionHead({ inputDim: 128, hiddenDim: 128, outputDim: 64, seed: 1 });
 * console.log(head.countParams()); // 24768
 * const z = head.apply(tf.zeros([4, 128]));
 * console.log(z.shape); // [4, 64]
 * ```
 * @category Encoders
 */
export function projectionHead(options: ProjectionHeadOptions = {}): Encoder {
  const fn = 'projectionHead';
  const { inputDim = 128, hiddenDim = 128, outputDim = 64, hiddenLayers = 1 } = options;
  assertNumber(inputDim, 'inputDim', fn, { integer: true, min: 1 });
  assertNumber(hiddenDim, 'hiddenDim', fn, { integer: true, min: 1 });
  assertNumber(outputDim, 'outputDim', fn, { integer: true, min: 1 });
  assertNumber(hiddenLayers, 'hiddenLayers', fn, { integer: true, min: 0 });
  const init = resolveInit(options, fn);
  const name = resolveName(options, 'projection-head', fn);
  const rng = resolveRng(options, fn);
  const layers: tfl.layers.Layer[] = [];
  for (let i = 0; i < hiddenLayers; i++) layers.push(denseLayer(hiddenDim, 'relu', i === 0 ? inputDim : undefined));
  layers.push(denseLayer(outputDim, 'linear', hiddenLayers === 0 ? inputDim : undefined));
  const model = tfl.sequential({ layers });
  initializeWeights(model, init, rng);
  return new LayersEncoder(model, { name, fn, inputShape: [inputDim], outputDim, inputMode: 'exact' });
}

/**
 * Options of {@link layersEncoder}.
 * @category Encoders
 */
export interface LayersEncoderOptions {
  /** Name of the encoder. @defaultValue the model's name */
  readonly name?: string;
  /** Also accept flat `[n, prod(inputShape)]` inputs and reshape them. @defaultValue false */
  readonly acceptFlat?: boolean;
}

/**
 * Wrap your own tfjs-layers model (single input, output `[n, d]`) as an {@link Encoder}, e.g. a
 * deeper CNN, so that it works with {@link train} and {@link MomentumEncoder}. The model's weights
 * are used as they are (no re-initialization).
 *
 * @param model - a built `tfl.LayersModel`; the encoder takes ownership (its `dispose()` disposes the model).
 * @param options - name and input handling.
 * @returns an {@link Encoder}.
 * @throws {@link ContrastiveError} `INVALID_ARGUMENT` when the model has several inputs/outputs, an
 *   unknown input shape, or an output that is not `[n, d]`.
 * @example
 * ```ts
 * const model = tfl.sequential({ layers: [tfl.layers.dense({ units: 8, inputShape: [4] })] });
 * const encoder = layersEncoder(model, { name: 'tiny' });
 * console.log(encoder.outputDim); // 8
 * ```
 * @category Encoders
 */
export function layersEncoder(model: tfl.LayersModel, options: LayersEncoderOptions = {}): Encoder {
  const fn = 'layersEncoder';
  if (model === null || typeof model !== 'object' || !Array.isArray((model as { inputs?: unknown }).inputs)) {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'model' passed to '${fn}' must be a built tfl.LayersModel, got ${typeof model}`);
  }
  if (model.inputs.length !== 1 || model.outputs.length !== 1) {
    throw new ContrastiveError(
      'INVALID_ARGUMENT',
      `Argument 'model' passed to '${fn}' must have one input and one output, got ${model.inputs.length} and ${model.outputs.length}`,
    );
  }
  const inputShape = (model.inputs[0] as tfl.SymbolicTensor).shape.slice(1);
  if (inputShape.length === 0 || inputShape.some((size) => size === null || size < 1)) {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'model' passed to '${fn}' must have a fully known input shape, got ${shapeText(inputShape)}`);
  }
  const outputShape = (model.outputs[0] as tfl.SymbolicTensor).shape;
  const outputDim = outputShape[1];
  if (outputShape.length !== 2 || outputDim === null || outputDim === undefined) {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'model' passed to '${fn}' must output [n, d], got ${shapeText(outputShape)}`);
  }
  const acceptFlat = options.acceptFlat ?? false;
  assertOneOf(acceptFlat, [true, false], 'acceptFlat', fn);
  const name = options.name ?? model.name;
  return new LayersEncoder(model, {
    name,
    fn,
    inputShape: inputShape as number[],
    outputDim,
    inputMode: acceptFlat ? 'reshape-flat' : 'exact',
  });
}
