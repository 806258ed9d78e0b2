import * as tf from '@tensorflow/tfjs-core';
import {
  ContrastiveError,
  Rng,
  assertEmbeddings,
  assertLabels,
  assertNumber,
  assertOneOf,
  assertSameDims,
  assertTensor,
  l2Normalize,
} from '@contrastive/core';
import type { Embeddings, Loss, LossInput } from '@contrastive/core';
import { assertReference, constantRowMax, describeObject, oneHotRows, stopGradient } from './internal/pairs.js';
import { assertOptionsObject } from './internal/options.js';

const NAME = 'protoNceLoss';

/**
 * One clustering result of PCL's E-step (k-means of the momentum features, run once per epoch),
 * at `M` granularities: the prototypes, their concentrations and the cluster of every instance.
 * The tensors are borrowed by the loss built from them: keep them alive while it is used.
 * @category Losses
 */
export interface ProtoNcePrototypes {
  /** Per granularity `m`, `[K_m, d]` float32 prototypes `c^m_j` (PCL L2-normalises the centroids); used as given. */
  readonly prototypes: readonly tf.Tensor2D[];
  /** Per granularity, `[K_m]` float32 concentrations `φ^m_j`, finite and > 0 (PCL's `density`). */
  readonly concentrations: readonly tf.Tensor1D[];
  /**
   * Per granularity, `[S]` int32 cluster index in `[0, K_m)` of every instance (PCL's `im2cluster`),
   * indexed by the batch's labels: `labels[i]` is the instance (dataset index) of query row `i`.
   */
  readonly assignments: readonly tf.Tensor1D[];
}

/**
 * Options of {@link protoNceLoss}. The prototypes, concentrations and assignments are given all
 * together, or all omitted (PCL's warm-up epochs: the instance term alone).
 * @category Losses
 */
export interface ProtoNceLossOptions extends Partial<ProtoNcePrototypes> {
  /** Temperature τ of the instance (InfoNCE) term; a finite number > 0. @defaultValue 0.2 (PCL's `--temperature`) */
  readonly tauInstance?: number;
  /**
   * The negative prototypes of the prototype term: `'all'` (the paper's eq. 10 with every other
   * prototype) or `r`, a positive integer: `r` drawn without replacement with `rng` (PCL's `pcl_r`).
   * @defaultValue `'all'`
   */
  readonly negativePrototypes?: 'all' | number;
  /**
   * `'paper'`: query `i`'s logits are its similarities to the prototypes of its granularity, each over
   * that prototype's concentration, and its own prototype is the target (negatives: every other
   * prototype, or `r` drawn for each query). `'code'`: as PCL's `builder.py`, the columns are the
   * prototypes of all `N` queries of the batch (so a prototype shared by several queries appears
   * several times) followed by the negatives, drawn from the prototypes no query of the batch is
   * assigned to (all of them, or `r` drawn once per batch).
   * @defaultValue `'paper'`
   */
  readonly form?: 'paper' | 'code';
  /** Random stream of the negative-prototype draws when `negativePrototypes` is a number. @defaultValue `new Rng(0)` */
  readonly rng?: Rng;
}

/**
 * The `Loss` returned by {@link protoNceLoss}.
 * @category Losses
 */
export interface ProtoNceLoss extends Loss {
  /**
   * The same loss (hyper-parameters and random stream) for the prototypes of a new E-step, or for
   * none (the instance term alone).
   * @param prototypes - prototypes, concentrations and assignments (borrowed), or `undefined`.
   * @returns a new {@link ProtoNceLoss}.
   * @throws `ContrastiveError` `INVALID_ARGUMENT`, `SHAPE_MISMATCH` or `DTYPE_MISMATCH` as
   * {@link protoNceLoss}.
   */
  withPrototypes(prototypes: ProtoNcePrototypes | undefined): ProtoNceLoss;
}

interface Settings {
  readonly tauInstance: number;
  readonly negativePrototypes: 'all' | number;
  readonly form: 'paper' | 'code';
  readonly rng: Rng;
}

function assertTensorList(value: unknown, argument: string, count: number | undefined): asserts value is readonly tf.Tensor[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw new ContrastiveError(
      'INVALID_ARGUMENT',
      `Argument '${argument}' passed to '${NAME}' must be a non-empty array of tensors (one per granularity), got ${Array.isArray(value) ? 'an empty array' : describeObject(value)}`,
    );
  }
  if (count !== undefined && value.length !== count) {
    throw new ContrastiveError(
      'INVALID_ARGUMENT',
      `Argument '${argument}' passed to '${NAME}' must have ${count} entries (one per granularity of 'prototypes'), got ${value.length}`,
    );
  }
}

/** Validates one E-step result; reads the concentrations and assignments back once (not in `compute`). */
function validatePrototypes(value: Partial<ProtoNcePrototypes>): ProtoNcePrototypes {
  const { prototypes, concentrations, assignments } = value;
  assertTensorList(prototypes, 'prototypes', undefined);
  const granularities = prototypes.length;
  assertTensorList(concentrations, 'concentrations', granularities);
  assertTensorList(assignments, 'assignments', granularities);
  let instances: number | undefined;
  for (let g = 0; g < granularities; g++) {
    const centres = prototypes[g];
    assertEmbeddings(centres, `prototypes[${g}]`, NAME);
    if (g > 0) assertSameDims(prototypes[0] as Embeddings, centres, `prototypes[${g}]`, NAME);
    const clusters = centres.shape[0];
    const phi = concentrations[g];
    assertTensor(phi, 1, `concentrations[${g}]`, NAME, 'float32');
    if (phi.shape[0] !== clusters) {
      throw new ContrastiveError(
        'SHAPE_MISMATCH',
        `Argument 'concentrations[${g}]' passed to '${NAME}' must have ${clusters} entries (one per prototype), got ${phi.shape[0]}`,
      );
    }
    const phiValues = phi.dataSync();
    for (let j = 0; j < phiValues.length; j++) {
      const v = phiValues[j] as number;
      if (!Number.isFinite(v) || v <= 0) {
        throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'concentrations[${g}]' passed to '${NAME}' must hold finite numbers > 0, got ${v} at index ${j}`);
      }
    }
    const cluster = assignments[g];
    assertTensor(cluster, 1, `assignments[${g}]`, NAME, 'int32');
    const size = cluster.shape[0] as number;
    if (size === 0) {
      throw new ContrastiveError('SHAPE_MISMATCH', `Argument 'assignments[${g}]' passed to '${NAME}' must have at least 1 entry (one per instance), got 0`);
    }
    if (instances === undefined) instances = size;
    if (size !== instances) {
      throw new ContrastiveError(
        'SHAPE_MISMATCH',
        `Argument 'assignments[${g}]' passed to '${NAME}' must have ${instances} entries (one per instance, as 'assignments[0]'), got ${size}`,
      );
    }
    const ids = cluster.dataSync();
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i] as number;
      if (id < 0 || id >= clusters) {
        throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'assignments[${g}]' passed to '${NAME}' must hold cluster indices in [0, ${clusters}), got ${id} at index ${i}`);
      }
    }
  }
  return { prototypes: prototypes as tf.Tensor2D[], concentrations: concentrations as tf.Tensor1D[], assignments: assignments as tf.Tensor1D[] };
}

function validateInput(input: unknown, clusters: ProtoNcePrototypes | undefined): LossInput {
  if (input === null || typeof input !== 'object') {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'input' passed to '${NAME}.compute' must be { embeddings, labels, ref? }, got ${describeObject(input)}`);
  }
  const { embeddings, labels, tuples, ref } = input as Partial<LossInput>;
  assertEmbeddings(embeddings, 'embeddings', NAME);
  assertLabels(labels, embeddings.shape[0], 'labels', NAME);
  if (embeddings.shape[0] % 2 !== 0) {
    throw new ContrastiveError(
      'SHAPE_MISMATCH',
      `Argument 'embeddings' passed to '${NAME}' must have an even number of rows (queries in rows 0..N-1, keys in rows N..2N-1), got ${embeddings.shape[0]}`,
    );
  }
  if (ref !== undefined) assertReference(ref, embeddings, NAME);
  if (tuples !== undefined) {
    throw new ContrastiveError(
      'INVALID_ARGUMENT',
      `Argument 'tuples' passed to '${NAME}' must be undefined: the positive key and prototypes of each query are fixed by the layout and the assignments, got ${describeObject(tuples)}`,
    );
  }
  if (clusters !== undefined) {
    clusters.prototypes.forEach((centres, g) => assertSameDims(embeddings, centres, `prototypes[${g}]`, NAME));
    // The query labels index the assignments: read their minimum and maximum (two int32 values)
    // back, as tf.gather would otherwise throw a raw error for an instance out of range.
    const instances = (clusters.assignments[0] as tf.Tensor1D).shape[0];
    const bounds = tf.tidy(() => {
      const queryLabels = tf.slice(labels, [0], [embeddings.shape[0] / 2]);
      return tf.stack([tf.min(queryLabels), tf.max(queryLabels)]);
    });
    const [low, high] = Array.from(bounds.dataSync()) as [number, number];
    bounds.dispose();
    if (low < 0 || high >= instances) {
      throw new ContrastiveError(
        'INVALID_ARGUMENT',
        `Argument 'labels' passed to '${NAME}' must hold instance indices in [0, ${instances}) (entries of 'assignments') in rows 0..N-1, got values in [${low}, ${high}]`,
      );
    }
  }
  return input as LossInput;
}

/** `[N]` `log Σ_j exp(x_ij)` with the row maximum subtracted. */
function logSumExp(x: tf.Tensor2D): tf.Tensor1D {
  const shift = constantRowMax(x);
  return tf.reshape(tf.add(shift, tf.log(tf.sum(tf.exp(tf.sub(x, shift)), 1, true))), [-1]) as tf.Tensor1D;
}

/**
 * `[N]` `log Σ_j w_ij exp(x_ij)` for multiplicities `w` (`[N, K]` or `[1, K]`, every row with a
 * positive entry), with the maximum over the weighted entries subtracted; entries of weight 0 are
 * clamped before `exp` so that they can never overflow.
 */
function weightedLogSumExp(x: tf.Tensor2D, weights: tf.Tensor2D): tf.Tensor1D {
  const present = tf.step(weights);
  const shift = constantRowMax(tf.add(x, tf.mul(tf.sub(present, 1), 1e30)) as tf.Tensor2D);
  const sum = tf.sum(tf.mul(weights, tf.exp(tf.minimum(tf.sub(x, shift), 0))), 1, true);
  return tf.reshape(tf.add(shift, tf.log(sum)), [-1]) as tf.Tensor1D;
}

/** `[rows, cols]` 0/1 float32 mask with a 1 at (row, index[row, t]) for every t. */
function scatterRows(indices: tf.Tensor2D, cols: number): tf.Tensor2D {
  const [rows, picks] = indices.shape;
  const rowIds = tf.mul(tf.expandDims(tf.range(0, rows, 1, 'int32'), 1), tf.onesLike(indices));
  const pairs = tf.stack([tf.reshape(rowIds, [-1]), tf.reshape(indices, [-1])], 1);
  return tf.minimum(tf.scatterND(pairs, tf.ones([rows * picks]), [rows, cols]), 1) as tf.Tensor2D;
}

/** Mean over the queries of one granularity's prototype term. */
function prototypeTerm(
  queries: tf.Tensor2D,
  ids: tf.Tensor1D,
  centres: tf.Tensor2D,
  phi: tf.Tensor1D,
  settings: Settings,
): tf.Scalar {
  const n = queries.shape[0];
  const clusters = centres.shape[0];
  const logits = tf.div(tf.matMul(queries, tf.transpose(stopGradient(centres))), tf.expandDims(phi, 0)) as tf.Tensor2D;
  // oneHotRows: tf.oneHot rejects a single prototype (depth 1) and misfills float32 on wasm.
  const own = oneHotRows(ids, clusters);
  const target = tf.sum(tf.mul(own, logits), 1);
  const { negativePrototypes: r, form, rng } = settings;
  let normaliser: tf.Tensor1D;
  switch (form) {
    case 'paper': {
      if (r === 'all' || r >= clusters - 1) {
        normaliser = logSumExp(logits);
      } else {
        // r distinct negatives per query, uniformly among its K - 1 other prototypes.
        const scores = tf.sub(tf.tensor2d(rng.uniformArray(n * clusters), [n, clusters]), tf.mul(own, 2));
        const picked = scatterRows(tf.topk(scores, r).indices as tf.Tensor2D, clusters);
        normaliser = weightedLogSumExp(logits, tf.add(picked, own) as tf.Tensor2D);
      }
      break;
    }
    case 'code': {
      // Columns c_{s_1..s_N}: prototype j appears count_j times; then the negatives, chosen among
      // the prototypes no query of the batch is assigned to.
      const counts = tf.sum(own, 0, true) as tf.Tensor2D;
      const outside = tf.sub(1, tf.step(counts));
      let negatives: tf.Tensor;
      if (r === 'all' || r >= clusters) {
        negatives = outside;
      } else {
        // Unassigned prototypes score 2 + u and come first; assigned ones (u) are masked out below.
        const scores = tf.add(tf.tensor1d(rng.uniformArray(clusters)), tf.mul(tf.reshape(outside, [-1]), 2));
        const picked = scatterRows(tf.expandDims(tf.topk(scores, r).indices, 0) as tf.Tensor2D, clusters);
        negatives = tf.mul(picked, outside);
      }
      normaliser = weightedLogSumExp(logits, tf.add(counts, negatives) as tf.Tensor2D);
      break;
    }
    default: {
      const unreachable: never = form;
      return unreachable;
    }
  }
  return tf.mean(tf.sub(normaliser, target)) as tf.Scalar;
}

function build(settings: Settings, clusters: ProtoNcePrototypes | undefined): ProtoNceLoss {
  return {
    name: NAME,
    compute(input: LossInput): tf.Scalar {
      const { embeddings, labels, ref } = validateInput(input, clusters);
      const n = embeddings.shape[0] / 2;
      const d = embeddings.shape[1];
      return tf.tidy(() => {
        const queries = l2Normalize(tf.slice(embeddings, [0, 0], [n, d]));
        // PCL's keys come from the momentum encoder under no_grad: no gradient flows into them.
        const keys = stopGradient(l2Normalize(tf.slice(embeddings, [n, 0], [n, d])));
        const positive = tf.sum(tf.mul(queries, keys), 1);
        // Without a queue the other queries' keys are the negatives; with one (MoCo), the queue alone.
        const candidates =
          ref === undefined
            ? tf.matMul(queries, tf.transpose(keys))
            : tf.concat([tf.expandDims(positive, 1), tf.matMul(queries, tf.transpose(stopGradient(l2Normalize(ref.embeddings))))], 1);
        const scaled = tf.div(candidates, settings.tauInstance) as tf.Tensor2D;
        const instance = tf.mean(tf.sub(logSumExp(scaled), tf.div(positive, settings.tauInstance)));
        if (clusters === undefined) return instance as tf.Scalar;
        const instances = tf.slice(labels, [0], [n]);
        const terms = clusters.prototypes.map((centres, g) => {
          const ids = tf.gather(clusters.assignments[g] as tf.Tensor1D, instances) as tf.Tensor1D;
          return prototypeTerm(queries, ids, centres, clusters.concentrations[g] as tf.Tensor1D, settings);
        });
        return tf.add(instance, tf.div(tf.addN(terms), terms.length)) as tf.Scalar;
      });
    },
    withPrototypes(next: ProtoNcePrototypes | undefined): ProtoNceLoss {
      return build(settings, next === undefined ? undefined : validatePrototypes(next));
    },
  };
}

/**
 * ProtoNCE, the loss of Prototypical Contrastive Learning (Li, Zhou, Xiong & Hoi 2021, "Prototypical
 * Contrastive Learning of Unsupervised Representations"; official code salesforce/PCL): an instance
 * term (InfoNCE between the two views, temperature `tauInstance`) plus the mean over `M`
 * granularities of a prototype term,
 * `-log(exp(v_i · c_{s_i} / φ_{s_i}) / Σ_j exp(v_i · c_j / φ_j))`, averaged over the queries, where
 * `s_i` is the cluster of query `i` and `φ_j` the concentration of prototype `j` (eq. 10;
 * `L = instance + (1 / M) Σ_m proto_m`, the weighting of PCL's `main_pcl.py`).
 *
 * Layout: `embeddings` holds `2N` rows, the queries `v` (view 1, the encoder's output) in rows
 * `0..N-1` and the keys `v'` (view 2, the momentum encoder's output) in rows `N..2N-1`; all are
 * L2-normalised, and the keys are treated as constants (no gradient, as PCL computes them under
 * `no_grad`). `labels[i]` is the instance (dataset index) of query `i`: it indexes the
 * `assignments` (the labels of the key rows are not read, so `viewLabels(N)` from
 * `@contrastive/core` serves a dataset of `N` instances, and `[ids, ids]` a larger one). Without
 * `ref` the instance term is `CE(v v'ᵀ / τ, i)`, the other queries' keys being the negatives; with
 * `ref` (PCL's MoCo queue, `[m, d]`) the negatives are the queue alone, as PCL: logits
 * `[v_i · v'_i, v_i · queue] / τ` with target 0 (`ref.labels` are not read). `tuples` are rejected.
 *
 * The prototypes change every epoch (PCL's E-step runs k-means on the momentum features): they are
 * not a `LossInput` field, so the loss is built for one E-step's prototypes, concentrations and
 * assignments and rebuilt for the next with `loss.withPrototypes(next)` (building only validates;
 * it reads the concentrations and assignments back once to check them). Without them the loss is
 * the instance term alone (PCL's warm-up epochs). The prototypes are used as given (PCL normalises
 * its centroids) and receive no gradient.
 *
 * Two forms are supported (`form`), both golden-equal to the reference (`protonce_paper_s16x8`,
 * `protonce_code_s16x8`): the paper's, where query `i` is contrasted with the prototypes of its
 * granularity, and PCL's code, where the columns are the prototypes of all queries of the batch
 * (duplicates included: a prototype shared by `c` queries counts `c` times in the denominator) plus
 * negatives among the prototypes no query of the batch is assigned to. With `negativePrototypes: r`,
 * `r` negatives are drawn without replacement: per query among its other prototypes (paper), or once
 * per batch among the unassigned prototypes (code; all of them when fewer than `r`, where PCL's
 * `random.sample` raises).
 *
 * @param options - `tauInstance`, the prototypes, concentrations and assignments (or none),
 * `negativePrototypes`, `form`, `rng`; see {@link ProtoNceLossOptions}.
 * @returns a {@link ProtoNceLoss} named `'protoNceLoss'`. Its `compute` takes `embeddings` `[2N, d]`
 * float32, `labels` `[2N]` int32 (rows `0..N-1` must lie in `[0, S)`: with prototypes, their minimum
 * and maximum are read back to check) and an optional `ref` (`[m, d]` float32, `[m]` int32); it
 * returns a float32 scalar owned by the caller and disposes none of its inputs (nor the prototype
 * tensors).
 * @throws `ContrastiveError` (from `@contrastive/core`): `INVALID_ARGUMENT` for `options` that is not an object, a `tauInstance` that
 * is not a finite number > 0, a `negativePrototypes` that is not `'all'` or a positive integer, an
 * unknown `form`, a bad `rng`, only some of prototypes/concentrations/assignments, lists of
 * different lengths, a concentration that is not finite and > 0 or an assignment outside
 * `[0, K_m)`; `SHAPE_MISMATCH` or `DTYPE_MISMATCH` for a prototype, concentration or assignment
 * tensor of the wrong shape or dtype; from `compute`, `SHAPE_MISMATCH` for an odd number of rows or
 * a dimension other than the prototypes', `INVALID_ARGUMENT` for `tuples` or a query label outside
 * `[0, S)`, and the usual shape, dtype, label-count and disposed errors naming the argument.
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { viewLabels } from '@contrastive/core';
 * import { protoNceLoss } from '@contrastive/losses';
 *
 * // Two instances, two views each (rows 0-1 queries, rows 2-3 keys), two prototypes.
 * const embeddings = tf.tensor2d([[1, 0], [0, 1], [0.8, 0.6], [0.6, 0.8]]);
 * const loss = protoNceLoss({
 *   prototypes: [tf.tensor2d([[1, 0], [0, 1]])],
 *   concentrations: [tf.tensor1d([0.5, 0.5])],
 *   assignments: [tf.tensor1d([0, 1], 'int32')],
 * });
 * loss.compute({ embeddings, labels: viewLabels(2) }).print(); // Tensor 0.4401896
 * ```
 * @category Losses
 */
export function protoNceLoss(options: ProtoNceLossOptions = {}): ProtoNceLoss {
  assertOptionsObject(options, NAME);
  const tauInstance = options.tauInstance ?? 0.2;
  assertNumber(tauInstance, 'tauInstance', NAME, { min: 0, exclusiveMin: true });
  const negativePrototypes = options.negativePrototypes ?? 'all';
  if (negativePrototypes !== 'all') {
    if (typeof negativePrototypes === 'string') assertOneOf(negativePrototypes, ['all'] as const, 'negativePrototypes', NAME);
    assertNumber(negativePrototypes, 'negativePrototypes', NAME, { integer: true, min: 1 });
  }
  const form = options.form ?? 'paper';
  assertOneOf(form, ['paper', 'code'] as const, 'form', NAME);
  const rng = options.rng ?? new Rng(0);
  if (!(rng instanceof Rng) && typeof (rng as Partial<Rng> | null)?.uniformArray !== 'function') {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'rng' passed to '${NAME}' must be an Rng, got ${describeObject(rng)}`);
  }
  const { prototypes, concentrations, assignments } = options;
  const given = [prototypes, concentrations, assignments].filter((value) => value !== undefined).length;
  if (given !== 0 && given !== 3) {
    throw new ContrastiveError(
      'INVALID_ARGUMENT',
      `Arguments 'prototypes', 'concentrations' and 'assignments' passed to '${NAME}' must be given together or not at all, got ${[
        prototypes === undefined ? '' : 'prototypes',
        concentrations === undefined ? '' : 'concentrations',
        assignments === undefined ? '' : 'assignments',
      ]
        .filter((name) => name !== '')
        .join(' and ')} only`,
    );
  }
  const clusters = given === 3 ? validatePrototypes({ prototypes, concentrations, assignments }) : undefined;
  return build({ tauInstance, negativePrototypes, form, rng }, clusters);
}
