import * as tf from '@tensorflow/tfjs-core';
import { ContrastiveError, assertNumber, assertOneOf } from '@contrastive/core';
import { SPARSE_DENSITY, countNonZeros, dotRows, sparseTimes, toSparseRows, transposeF32, type SparseRows } from './float64-kernels.js';
import { minimizeLbfgs, type Objective } from './lbfgs.js';
import { argMaxLowest, assertSplit, readLabels, resolveNumClasses, type EvaluationSplit } from './split.js';

/**
 * Optimizer of {@link linearProbe}.
 *
 * - `'adam'`: full-batch Adam (lr 1e-2, β 0.9 / 0.999, ε 1e-8), `steps` steps from zero, float32 on
 *   the active TensorFlow.js backend — RECIPE.md's `linear_adam_top1`; deterministic, not fully
 *   converged (typically within ~0.5 point of L-BFGS).
 * - `'lbfgs'`: full-batch L-BFGS (history 20, strong-Wolfe line search, at most `steps`
 *   iterations), float64 plain JS — RECIPE.md's `linear_top1`, the converged number that agrees
 *   with sklearn's `LogisticRegression(C = 1 / (l2 * n))`.
 *
 * @category Linear probe
 */
export type LinearProbeMethod = 'adam' | 'lbfgs';

/**
 * Options of {@link linearProbe}. Defaults are RECIPE.md's linear probe.
 * @category Linear probe
 */
export interface LinearProbeOptions {
  /** Optimizer. @defaultValue 'adam' */
  readonly method?: LinearProbeMethod;
  /** Adam: the number of full-batch steps. L-BFGS: the most iterations. @defaultValue 500 */
  readonly steps?: number;
  /** Adam step size (L-BFGS uses 1 with its line search). @defaultValue 1e-2 */
  readonly learningRate?: number;
  /** Weight of the penalty `0.5 * l2 * ||W||²` (the bias is not penalized), `>= 0`. @defaultValue 1e-4 */
  readonly l2?: number;
  /** L2-normalize features first (`f = h / ||h||`). @defaultValue true */
  readonly normalize?: boolean;
  /**
   * Standardize features with the train mean and population std (a std `<= 1e-8` is replaced by 1);
   * the test split uses the train statistics.
   * @defaultValue true
   */
  readonly standardize?: boolean;
  /** Number of classes `C`; labels must lie in `[0, C)`. @defaultValue one more than the largest label */
  readonly numClasses?: number;
  /** L-BFGS: (s, y) pairs kept. @defaultValue 20 */
  readonly history?: number;
  /** L-BFGS: stop when the largest gradient entry is `<=` this (torch `tolerance_grad`). @defaultValue 1e-7 */
  readonly gradientTolerance?: number;
  /**
   * L-BFGS: stop when a step moves no weight by more than this, or the objective changes by less
   * (torch `tolerance_change`). Smaller than torch's 1e-9, which stops the raw-pixel MNIST probe
   * after 429 iterations 8e-8 above the optimum (and one test image off the reference); with 1e-12
   * its 500 iterations end 9e-9 above the optimum with the reference accuracy, 0.8855.
   * @defaultValue 1e-12
   */
  readonly changeTolerance?: number;
}

/**
 * Why {@link linearProbe}'s optimizer stopped: `'steps'` (Adam, always), or for L-BFGS
 * `'gradient'` (converged: the largest gradient entry is below `gradientTolerance`), `'change'`
 * (the step or the objective change fell below `changeTolerance`), `'direction'` (no descent
 * direction left), `'iterations'` (`steps` iterations done) or `'evaluations'` (`1.25 * steps`
 * objective evaluations done).
 * @category Linear probe
 */
export type LinearProbeStop = 'steps' | 'gradient' | 'change' | 'direction' | 'iterations' | 'evaluations';

/**
 * Result of {@link linearProbe}.
 * @category Linear probe
 */
export interface LinearProbeResult {
  /** Test accuracy in `[0, 1]`. */
  readonly top1: number;
  /** Train accuracy in `[0, 1]`. */
  readonly trainTop1: number;
  /** Objective `mean CE + 0.5 * l2 * ||W||²` at the returned weights. */
  readonly loss: number;
  /** `[m]` predicted class of each test row (argmax of the logits, ties -> lowest class). */
  readonly predictions: Int32Array;
  /**
   * Objective at the start (`log C`, all weights 0) and after every step / iteration; the last entry
   * equals `loss`.
   */
  readonly lossHistory: Float64Array;
  /** Steps (Adam) or iterations (L-BFGS) taken. */
  readonly iterations: number;
  /** Why the optimizer stopped; see {@link LinearProbeStop}. */
  readonly stop: LinearProbeStop;
}

interface ResolvedProbeOptions {
  readonly method: LinearProbeMethod;
  readonly steps: number;
  readonly learningRate: number;
  readonly l2: number;
  readonly normalize: boolean;
  readonly standardize: boolean;
  readonly numClasses: number | undefined;
  readonly history: number;
  readonly gradientTolerance: number;
  readonly changeTolerance: number;
}

const FN = 'linearProbe';
const ADAM_BETA1 = 0.9;
const ADAM_BETA2 = 0.999;
const ADAM_EPSILON = 1e-8;
const STD_FLOOR = 1e-8;
const NORM_EPSILON = 1e-12;

function resolveOptions(options: LinearProbeOptions): ResolvedProbeOptions {
  if (options === null || typeof options !== 'object') {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'options' passed to '${FN}' must be an object, got ${String(options)}`);
  }
  const resolved: ResolvedProbeOptions = {
    method: options.method ?? 'adam',
    steps: options.steps ?? 500,
    learningRate: options.learningRate ?? 1e-2,
    l2: options.l2 ?? 1e-4,
    normalize: options.normalize ?? true,
    standardize: options.standardize ?? true,
    numClasses: options.numClasses,
    history: options.history ?? 20,
    gradientTolerance: options.gradientTolerance ?? 1e-7,
    changeTolerance: options.changeTolerance ?? 1e-12,
  };
  assertOneOf(resolved.method, ['adam', 'lbfgs'] as const, 'method', FN);
  assertNumber(resolved.steps, 'steps', FN, { integer: true, min: 1 });
  assertNumber(resolved.learningRate, 'learningRate', FN, { min: 0, exclusiveMin: true });
  assertNumber(resolved.l2, 'l2', FN, { min: 0 });
  assertOneOf(resolved.normalize, [true, false] as const, 'normalize', FN);
  assertOneOf(resolved.standardize, [true, false] as const, 'standardize', FN);
  if (resolved.numClasses !== undefined) assertNumber(resolved.numClasses, 'numClasses', FN, { integer: true, min: 1 });
  assertNumber(resolved.history, 'history', FN, { integer: true, min: 1 });
  assertNumber(resolved.gradientTolerance, 'gradientTolerance', FN, { min: 0 });
  assertNumber(resolved.changeTolerance, 'changeTolerance', FN, { min: 0 });
  return resolved;
}

/**
 * Raw features and the float64 preprocessing that maps them to the probe's inputs:
 * `x_ij = (rowScale_i * h_ij - mean_j) / scale_j`.
 * @internal
 */
export interface ProbeData {
  /** `[rows, dims]` raw features `h` (float32, exact in float64). */
  readonly features: Float32Array;
  readonly rows: number;
  readonly dims: number;
  /** `1 / max(||h_i||, 1e-12)` when normalizing, else 1. */
  readonly rowScale: Float64Array;
}

/** Train statistics of the normalized features. @internal */
export interface Standardization {
  readonly mean: Float64Array;
  readonly scale: Float64Array;
}

async function readFeatures(tensor: tf.Tensor2D, argument: string, normalize: boolean): Promise<ProbeData> {
  const [rows, dims] = tensor.shape;
  const features = (await tensor.data()) as Float32Array;
  const rowScale = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    let squares = 0;
    for (let j = i * dims; j < (i + 1) * dims; j++) {
      const value = features[j] as number;
      squares += value * value;
    }
    if (!Number.isFinite(squares)) {
      throw new ContrastiveError('NON_FINITE', `Argument '${argument}' passed to '${FN}' must hold finite values, got NaN or Infinity in row ${i}`);
    }
    rowScale[i] = normalize ? 1 / Math.max(Math.sqrt(squares), NORM_EPSILON) : 1;
  }
  return { features, rows, dims, rowScale };
}

/**
 * Train mean and population std per column of the (normalized) features, in float64; a std
 * `<= 1e-8` becomes 1. Without `standardize`: mean 0, scale 1.
 * @internal
 */
export function standardization(data: ProbeData, standardize: boolean): Standardization {
  const { features, rows, dims, rowScale } = data;
  const mean = new Float64Array(dims);
  const scale = new Float64Array(dims).fill(1);
  if (!standardize) return { mean, scale };
  for (let i = 0; i < rows; i++) {
    const s = rowScale[i] as number;
    for (let j = 0; j < dims; j++) mean[j] = (mean[j] as number) + s * (features[i * dims + j] as number);
  }
  for (let j = 0; j < dims; j++) mean[j] = (mean[j] as number) / rows;
  const variance = new Float64Array(dims);
  for (let i = 0; i < rows; i++) {
    const s = rowScale[i] as number;
    for (let j = 0; j < dims; j++) {
      const centered = s * (features[i * dims + j] as number) - (mean[j] as number);
      variance[j] = (variance[j] as number) + centered * centered;
    }
  }
  for (let j = 0; j < dims; j++) {
    const std = Math.sqrt((variance[j] as number) / rows);
    scale[j] = std <= STD_FLOOR ? 1 : std;
  }
  return { mean, scale };
}

/** The probe inputs `x_ij` materialized as float32 (for the tf.js Adam path). */
function materialize(data: ProbeData, stats: Standardization): Float32Array {
  const { features, rows, dims, rowScale } = data;
  const out = new Float32Array(rows * dims);
  for (let i = 0; i < rows; i++) {
    const s = rowScale[i] as number;
    for (let j = 0; j < dims; j++) {
      const index = i * dims + j;
      out[index] = (s * (features[index] as number) - (stats.mean[j] as number)) / (stats.scale[j] as number);
    }
  }
  return out;
}

/**
 * Logits `z_ic = x_i · w_c + b_c` in float64 without materializing `x`: with `v_cj = w_cj / scale_j`,
 * `z_ic = rowScale_i (h_i · v_c) + b_c - mean · v_c`. `theta` holds `W` class-major (`[C, d]`), then `b`.
 * Writes `[rows, C]` into `logits`; `folded` is `C * d` scratch. With `sparse` (the non-zeros of
 * `h`) the products skip the zeros.
 */
function foldedLogits(
  data: ProbeData,
  stats: Standardization,
  theta: Float64Array,
  numClasses: number,
  folded: Float64Array,
  logits: Float64Array,
  sparse?: SparseRows,
): void {
  const { features, rows, dims, rowScale } = data;
  const offsets = new Float64Array(numClasses);
  for (let c = 0; c < numClasses; c++) {
    let offset = theta[numClasses * dims + c] as number;
    for (let j = 0; j < dims; j++) {
      const v = (theta[c * dims + j] as number) / (stats.scale[j] as number);
      // Dense: v as [C, d] rows for dotRows; sparse: as [d, C] for sparseTimes.
      folded[sparse === undefined ? c * dims + j : j * numClasses + c] = v;
      offset -= (stats.mean[j] as number) * v;
    }
    offsets[c] = offset;
  }
  if (sparse === undefined) dotRows(features, rows, folded, numClasses, dims, logits);
  else sparseTimes(sparse, folded, numClasses, logits);
  for (let i = 0; i < rows; i++) {
    const s = rowScale[i] as number;
    for (let c = 0; c < numClasses; c++) logits[i * numClasses + c] = s * (logits[i * numClasses + c] as number) + (offsets[c] as number);
  }
}

/**
 * The probe objective `mean_i CE(softmax(x_i W + b), y_i) + 0.5 * l2 * ||W||²` and its gradient in
 * float64, for parameters `theta = [W as [C, d] class-major, b]`. Both passes run over the raw
 * features: dense blocked dot products over rows of `h` and of its transpose, or — when fewer than
 * 30% of the entries are non-zero, as raw pixels — sparse products over the non-zeros (about 2x
 * faster on MNIST). `sparse` forces either path.
 * @internal
 */
export function probeObjective(
  data: ProbeData,
  stats: Standardization,
  labels: Int32Array,
  numClasses: number,
  l2: number,
  sparse?: boolean,
): Objective {
  const { rows, dims, rowScale } = data;
  const nonZeros = countNonZeros(data.features);
  const useSparse = sparse ?? nonZeros < SPARSE_DENSITY * rows * dims;
  const byRow = useSparse ? toSparseRows(data.features, rows, dims, nonZeros) : undefined;
  const byColumn = useSparse ? toSparseRows(data.features, rows, dims, nonZeros, true) : undefined;
  const featuresT = useSparse ? undefined : transposeF32(data.features, rows, dims);
  const folded = new Float64Array(numClasses * dims);
  const logits = new Float64Array(rows * numClasses);
  // Scaled residuals rowScale_i * r_ic: [C, n] for dotRows, [n, C] for sparseTimes.
  const residuals = new Float64Array(numClasses * rows);
  const products = new Float64Array(dims * numClasses);
  const columnSums = new Float64Array(numClasses);
  return (theta, gradient) => {
    foldedLogits(data, stats, theta, numClasses, folded, logits, byRow);
    let crossEntropy = 0;
    columnSums.fill(0);
    for (let i = 0; i < rows; i++) {
      const offset = i * numClasses;
      let max = -Infinity;
      for (let c = 0; c < numClasses; c++) max = Math.max(max, logits[offset + c] as number);
      let sum = 0;
      for (let c = 0; c < numClasses; c++) sum += Math.exp((logits[offset + c] as number) - max);
      const logSumExp = max + Math.log(sum);
      const label = labels[i] as number;
      crossEntropy += logSumExp - (logits[offset + label] as number);
      for (let c = 0; c < numClasses; c++) {
        const residual = (Math.exp((logits[offset + c] as number) - logSumExp) - (c === label ? 1 : 0)) / rows;
        columnSums[c] = (columnSums[c] as number) + residual;
        residuals[useSparse ? offset + c : c * rows + i] = residual * (rowScale[i] as number);
      }
    }
    // products[j, c] = sum_i rowScale_i h_ij r_ic
    if (featuresT !== undefined) dotRows(featuresT, dims, residuals, numClasses, rows, products);
    else sparseTimes(byColumn as SparseRows, residuals, numClasses, products);
    let penalty = 0;
    for (let c = 0; c < numClasses; c++) {
      for (let j = 0; j < dims; j++) {
        const w = theta[c * dims + j] as number;
        penalty += w * w;
        gradient[c * dims + j] =
          ((products[j * numClasses + c] as number) - (stats.mean[j] as number) * (columnSums[c] as number)) / (stats.scale[j] as number) +
          l2 * w;
      }
      gradient[numClasses * dims + c] = columnSums[c] as number;
    }
    return crossEntropy / rows + 0.5 * l2 * penalty;
  };
}

function accuracyOf(logits: ArrayLike<number>, labels: Int32Array, numClasses: number, predictions: Int32Array): number {
  let correct = 0;
  for (let i = 0; i < predictions.length; i++) {
    const prediction = argMaxLowest(logits, i * numClasses, numClasses);
    predictions[i] = prediction;
    if (prediction === labels[i]) correct++;
  }
  return predictions.length === 0 ? 0 : correct / predictions.length;
}

interface Prepared {
  readonly train: ProbeData;
  readonly test: ProbeData;
  readonly stats: Standardization;
  readonly trainLabels: Int32Array;
  readonly testLabels: Int32Array;
  readonly numClasses: number;
}

function runLbfgs(prepared: Prepared, options: ResolvedProbeOptions): LinearProbeResult {
  const { train, test, stats, trainLabels, testLabels, numClasses } = prepared;
  const objective = probeObjective(train, stats, trainLabels, numClasses, options.l2);
  const outcome = minimizeLbfgs(objective, new Float64Array(numClasses * (train.dims + 1)), {
    maxIterations: options.steps,
    history: options.history,
    gradientTolerance: options.gradientTolerance,
    changeTolerance: options.changeTolerance,
  });
  const folded = new Float64Array(numClasses * train.dims);
  const trainLogits = new Float64Array(train.rows * numClasses);
  foldedLogits(train, stats, outcome.x, numClasses, folded, trainLogits);
  const testLogits = new Float64Array(test.rows * numClasses);
  foldedLogits(test, stats, outcome.x, numClasses, folded, testLogits);
  const predictions = new Int32Array(test.rows);
  const trainTop1 = accuracyOf(trainLogits, trainLabels, numClasses, new Int32Array(train.rows));
  const top1 = accuracyOf(testLogits, testLabels, numClasses, predictions);
  return {
    top1,
    trainTop1,
    loss: outcome.value,
    predictions,
    lossHistory: Float64Array.from(outcome.values),
    iterations: outcome.iterations,
    stop: outcome.stop,
  };
}

async function runAdam(prepared: Prepared, options: ResolvedProbeOptions): Promise<LinearProbeResult> {
  const { train, test, stats, trainLabels, testLabels, numClasses } = prepared;
  const { rows, dims } = train;
  const { l2, learningRate, steps } = options;
  // Everything in the transposed frame: logits^T = W^T x^T ([C, n]) and grad W^T = R^T x ([C, d])
  // are both plain matMuls, the fast form on wasm (transposed matMuls are 10-30x slower there).
  const x = tf.tensor2d(materialize(train, stats), [rows, dims]);
  const owned: tf.Tensor[] = [x];
  try {
    const xT = tf.transpose(x);
    owned.push(xT);
    const targetsT = tf.tidy(() => tf.cast(tf.transpose(tf.oneHot(tf.tensor1d(trainLabels, 'int32'), numClasses)), 'float32'));
    owned.push(targetsT);
    let weightsT: tf.Tensor2D = tf.zeros([numClasses, dims]);
    let bias: tf.Tensor2D = tf.zeros([numClasses, 1]);
    let momentW: tf.Tensor2D = tf.zeros([numClasses, dims]);
    let secondW: tf.Tensor2D = tf.zeros([numClasses, dims]);
    let momentB: tf.Tensor2D = tf.zeros([numClasses, 1]);
    let secondB: tf.Tensor2D = tf.zeros([numClasses, 1]);
    const losses: tf.Scalar[] = [];
    const forward = (w: tf.Tensor2D, b: tf.Tensor2D): { logitsT: tf.Tensor2D; shifted: tf.Tensor2D; logSumExp: tf.Tensor2D; loss: tf.Scalar } => {
      const logitsT = tf.add(tf.matMul(w, xT), b) as tf.Tensor2D;
      const shifted = tf.sub(logitsT, tf.max(logitsT, 0, true)) as tf.Tensor2D;
      const logSumExp = tf.log(tf.sum(tf.exp(shifted), 0, true)) as tf.Tensor2D;
      const crossEntropy = tf.sub(tf.mean(logSumExp), tf.div(tf.sum(tf.mul(targetsT, shifted)), rows));
      const loss = tf.add(crossEntropy, tf.mul(tf.sum(tf.square(w)), 0.5 * l2)) as tf.Scalar;
      return { logitsT, shifted, logSumExp, loss };
    };
    try {
      for (let t = 1; t <= steps; t++) {
        const next = tf.tidy(() => {
          const { shifted, logSumExp, loss } = forward(weightsT, bias);
          const residualsT = tf.div(tf.sub(tf.exp(tf.sub(shifted, logSumExp)), targetsT), rows);
          const gradW = tf.add(tf.matMul(residualsT, x), tf.mul(weightsT, l2));
          const gradB = tf.sum(residualsT, 1, true);
          // tf.train.adam's update, with ε = 1e-8 (its default is the backend epsilon, 1e-7).
          const correction1 = 1 - ADAM_BETA1 ** t;
          const correction2 = 1 - ADAM_BETA2 ** t;
          const adam = (param: tf.Tensor, grad: tf.Tensor, moment: tf.Tensor, second: tf.Tensor): tf.Tensor[] => {
            const newMoment = tf.add(tf.mul(moment, ADAM_BETA1), tf.mul(grad, 1 - ADAM_BETA1));
            const newSecond = tf.add(tf.mul(second, ADAM_BETA2), tf.mul(tf.square(grad), 1 - ADAM_BETA2));
            const update = tf.div(tf.div(newMoment, correction1), tf.add(tf.sqrt(tf.div(newSecond, correction2)), ADAM_EPSILON));
            return [tf.add(tf.mul(update, -learningRate), param), newMoment, newSecond];
          };
          return [...adam(weightsT, gradW, momentW, secondW), ...adam(bias, gradB, momentB, secondB), loss] as tf.Tensor[];
        });
        tf.dispose([weightsT, bias, momentW, secondW, momentB, secondB]);
        [weightsT, momentW, secondW, bias, momentB, secondB] = next.slice(0, 6) as [
          tf.Tensor2D,
          tf.Tensor2D,
          tf.Tensor2D,
          tf.Tensor2D,
          tf.Tensor2D,
          tf.Tensor2D,
        ];
        losses.push(next[6] as tf.Scalar);
      }
      const [trainLogitsT, finalLoss, testLogits, history] = tf.tidy(() => {
        const { logitsT, loss } = forward(weightsT, bias);
        const xTest = tf.tensor2d(materialize(test, stats), [test.rows, dims]);
        const logits = tf.add(tf.matMul(xTest, tf.transpose(weightsT)), tf.reshape(bias, [1, numClasses]));
        return [tf.transpose(logitsT), loss, logits, tf.stack([...losses, loss])];
      });
      try {
        const [trainLogits, lossValue, testValues, historyValues] = await Promise.all([
          trainLogitsT.data(),
          finalLoss.data(),
          testLogits.data(),
          history.data(),
        ]);
        const predictions = new Int32Array(test.rows);
        return {
          top1: accuracyOf(testValues, testLabels, numClasses, predictions),
          trainTop1: accuracyOf(trainLogits, trainLabels, numClasses, new Int32Array(rows)),
          loss: lossValue[0] as number,
          predictions,
          lossHistory: Float64Array.from(historyValues),
          iterations: steps,
          stop: 'steps',
        };
      } finally {
        tf.dispose([trainLogitsT, finalLoss, testLogits, history]);
      }
    } finally {
      tf.dispose([weightsT, bias, momentW, secondW, momentB, secondB, ...losses]);
    }
  } finally {
    tf.dispose(owned);
  }
}

/**
 * Linear-probe accuracy of frozen features: multinomial logistic regression `softmax(f W + b)`
 * trained on the train split, evaluated on the test split — the standard linear evaluation
 * protocol of self-supervised learning (Zhang et al. 2016; Oord et al. 2018; Chen et al. 2020,
 * SimCLR), exactly as RECIPE.md "Evaluation" defines it: `f = h / ||h||`, standardized with the
 * train mean and population std (std `<= 1e-8` -> 1), `W` and `b` initialized to 0, objective
 * `mean CE + 0.5 * l2 * ||W||²` (bias not penalized), full-batch.
 *
 * `method: 'adam'` (default) runs `steps` Adam steps in float32 on the active backend — the
 * deterministic `linear_adam_top1`; every step is two plain `matMul`s with manual gradients (the
 * transposed matMuls of autodiff are slow on wasm). `method: 'lbfgs'` runs L-BFGS in float64 plain
 * JS — the converged `linear_top1` (torch `LBFGS(history_size=20, line_search_fn='strong_wolfe')`,
 * at most `steps` iterations), which agrees with sklearn `LogisticRegression(C = 1 / (l2 * n))`.
 * Preprocessing statistics are computed in float64 either way.
 *
 * @param input - `trainFeatures` `[n, d]` float32, `trainLabels` `[n]` int32, `testFeatures`
 *   `[m, d]` float32, `testLabels` `[m]` int32; borrowed, never disposed.
 * @param options - see {@link LinearProbeOptions}.
 * @returns test `top1`, `trainTop1`, the final objective `loss`, `[m]` `predictions`, the
 *   `lossHistory`, the `iterations` taken and why it `stop`ped (plain JS values; no tensor is
 *   returned or left behind).
 * @throws `ContrastiveError` (from `@contrastive/core`) `SHAPE_MISMATCH` (rank, empty split, dimensions differ),
 *   `DTYPE_MISMATCH` (features not float32, labels not int32), `LABEL_COUNT` (labels and rows
 *   differ), `NON_FINITE` (NaN / Infinity in the features), `INVALID_ARGUMENT` (unknown `method`,
 *   `steps < 1`, `learningRate <= 0`, `l2 < 0`, negative labels, labels `>= numClasses`).
 * @example
 * ```ts
 * const result = await linearProbe({
 *   trainFeatures: tf.tensor2d([[1, 0], [2, 0.1], [0, 1], [0.1, 2]]),
 *   trainLabels: tf.tensor1d([0, 0, 1, 1], 'int32'),
 *   testFeatures: tf.tensor2d([[3, 0.5], [0.5, 3]]),
 *   testLabels: tf.tensor1d([0, 1], 'int32'),
 * });
 * console.log(result.top1, result.trainTop1, result.predictions); // 1 1 Int32Array [0, 1]
 * ```
 * @category Linear probe
 */
export async function linearProbe(input: EvaluationSplit, options: LinearProbeOptions = {}): Promise<LinearProbeResult> {
  const resolved = resolveOptions(options);
  assertSplit(input, FN, true);
  const trainLabels = await readLabels(input.trainLabels, 'trainLabels', FN);
  const testLabels = await readLabels(input.testLabels, 'testLabels', FN);
  const numClasses = resolveNumClasses(resolved.numClasses, FN, [
    { values: trainLabels, argument: 'trainLabels' },
    { values: testLabels, argument: 'testLabels' },
  ]);
  const train = await readFeatures(input.trainFeatures, 'trainFeatures', resolved.normalize);
  const test = await readFeatures(input.testFeatures, 'testFeatures', resolved.normalize);
  const prepared: Prepared = { train, test, stats: standardization(train, resolved.standardize), trainLabels, testLabels, numClasses };
  switch (resolved.method) {
    case 'adam':
      return runAdam(prepared, resolved);
    case 'lbfgs':
      return runLbfgs(prepared, resolved);
    default: {
      const unreachable: never = resolved.method;
      throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'method' passed to '${FN}' is unknown: ${String(unreachable)}`);
    }
  }
}
