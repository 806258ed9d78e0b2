import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng, cosineSimilarity, lpDistance } from '@contrastive/core';
import type { Distance, PairTuples, TripletTuples, Tuples } from '@contrastive/core';
import {
  FLOAT32_TOLERANCE,
  checkGradients,
  expectContrastiveError,
  expectNoLeak,
  expectTensorClose,
  useTestBackend,
} from '@contrastive/core/testing';
import { proxyAnchorLoss, proxyNcaLoss } from './proxy-losses.js';
import type { ProxyLoss } from './proxy-losses.js';
import { sumReducer } from './reducers.js';
import type { Reducer } from './reducers.js';
import { allFinite, int32, randomRows, scalarValue } from './test-support/harness.js';
import type { Rows } from './test-support/harness.js';

let backend: 'wasm' | 'cpu';
beforeAll(async () => {
  backend = await useTestBackend();
});

// ---------------------------------------------------------------------------------------------
// float64 references, written as obvious loops from the papers and PML's ProxyNCALoss /
// ProxyAnchorLoss
// ---------------------------------------------------------------------------------------------

type Measure = (a: number[], b: number[]) => number;

function dot(a: number[], b: number[]): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += (a[i] as number) * (b[i] as number);
  return sum;
}
function unit(v: number[]): number[] {
  const norm = Math.sqrt(dot(v, v));
  return v.map((x) => x / Math.max(norm, 1e-12));
}
function squaredEuclidean(a: number[], b: number[]): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += ((a[i] as number) - (b[i] as number)) ** 2;
  return sum;
}
const squaredNormalized: Measure = (a, b) => squaredEuclidean(unit(a), unit(b));
const euclideanNormalized: Measure = (a, b) => Math.sqrt(squaredEuclidean(unit(a), unit(b)));
const cosine: Measure = (a, b) => dot(unit(a), unit(b));

function logSumExp(values: number[]): number {
  const max = Math.max(...values);
  return max + Math.log(values.reduce((sum, v) => sum + Math.exp(v - max), 0));
}

interface NcaReference {
  readonly scale?: number;
  /** A distance (negated in the softmax) unless `similarity`. */
  readonly measure?: Measure;
  readonly similarity?: boolean;
  readonly weights?: number[];
}

/** Proxy-NCA as PML: loss_i = -log softmax over all proxies of s · (-d(x_i, p_c)), at c = y_i; mean. */
function referenceProxyNca(rows: Rows, labels: number[], proxies: Rows, options: NcaReference = {}): number {
  const scale = options.scale ?? 1;
  const measure = options.measure ?? squaredNormalized;
  let total = 0;
  rows.forEach((x, i) => {
    const logits = proxies.map((p) => scale * (options.similarity === true ? measure(x, p) : -measure(x, p)));
    total += -((logits[labels[i] as number] as number) - logSumExp(logits)) * (options.weights?.[i] ?? 1);
  });
  return total / rows.length;
}

interface AnchorReference {
  readonly margin?: number;
  readonly alpha?: number;
  readonly measure?: Measure;
  readonly similarity?: boolean;
  /** PML's miner weights w (the exponent gets w - 1). */
  readonly weights?: number[];
}

/**
 * Proxy-Anchor (Kim et al. 2020, eq. 4) with PML's divisors: positive term averaged over the proxies
 * of classes present in the batch, negative term over all proxies.
 */
function referenceProxyAnchor(rows: Rows, labels: number[], proxies: Rows, options: AnchorReference = {}): number {
  const margin = options.margin ?? 0.1;
  const alpha = options.alpha ?? 32;
  const measure = options.measure ?? cosine;
  const similarity = options.similarity ?? true;
  let positiveTerm = 0;
  let negativeTerm = 0;
  let present = 0;
  proxies.forEach((proxy, c) => {
    const positives: number[] = [0]; // the "1 +" inside the log, as exp(0)
    const negatives: number[] = [0];
    rows.forEach((x, i) => {
      const s = measure(x, proxy);
      const offset = (options.weights?.[i] ?? 1) - 1;
      if (labels[i] === c) positives.push(alpha * (similarity ? margin - s : s - margin) + offset);
      else negatives.push(alpha * (similarity ? s + margin : -margin - s) + offset);
    });
    if (positives.length > 1) present++;
    positiveTerm += logSumExp(positives);
    negativeTerm += logSumExp(negatives);
  });
  return positiveTerm / Math.max(present, 1) + negativeTerm / proxies.length;
}

/** PML's convert_to_weights: count of each row among the indices, over the largest count. */
function referenceWeights(n: number, indices: number[][]): number[] {
  const flat = indices.flat();
  if (flat.length === 0) return new Array<number>(n).fill(1);
  const counts = new Array<number>(n).fill(0);
  for (const i of flat) counts[i] = (counts[i] as number) + 1;
  const max = Math.max(...counts);
  return counts.map((c) => c / max);
}

/** Central differences of `f` at `point`. */
function numericGradient(f: (x: Rows) => number, point: Rows, step = 1e-6): Rows {
  return point.map((row, i) =>
    row.map((_, j) => {
      const plus = point.map((r) => [...r]);
      const minus = point.map((r) => [...r]);
      (plus[i] as number[])[j] = (row[j] as number) + step;
      (minus[i] as number[])[j] = (row[j] as number) - step;
      return (f(plus) - f(minus)) / (2 * step);
    }),
  );
}

function randomLabels(rng: Rng, n: number, classes: number): number[] {
  return Array.from({ length: n }, () => rng.int(classes));
}
function proxiesOf(loss: ProxyLoss): Rows {
  return loss.trainableVariables[0]!.arraySync() as Rows;
}
function pairTuples(lists: number[][]): PairTuples {
  const [a, p, a2, n] = lists as [number[], number[], number[], number[]];
  return { kind: 'pairs', anchorPos: int32(a), positive: int32(p), anchorNeg: int32(a2), negative: int32(n) };
}
function tripletTuples(lists: number[][]): TripletTuples {
  const [a, p, n] = lists as [number[], number[], number[]];
  return { kind: 'triplets', anchor: int32(a), positive: int32(p), negative: int32(n) };
}
function disposeTuples(tuples: Tuples): void {
  if (tuples.kind === 'pairs') tf.dispose([tuples.anchorPos, tuples.positive, tuples.anchorNeg, tuples.negative]);
  else tf.dispose([tuples.anchor, tuples.positive, tuples.negative]);
}

/** Value and embedding gradient of `loss` (proxies held fixed), as plain numbers. */
function valueAndGrad(loss: ProxyLoss, rows: Rows, labels: number[], tuples?: Tuples): { value: number; grad: number[]; finite: boolean } {
  const x = tf.tensor2d(rows);
  const y = int32(labels);
  const result = tf.valueAndGrad((e: tf.Tensor) =>
    loss.compute(tuples === undefined ? { embeddings: e as tf.Tensor2D, labels: y } : { embeddings: e as tf.Tensor2D, labels: y, tuples }),
  )(x);
  const out = { value: scalarValue(result.value), grad: Array.from(result.grad.dataSync()), finite: allFinite(result.grad) && allFinite(result.value) };
  tf.dispose([x, y, result.value, result.grad]);
  return out;
}

/** The gradient with respect to the proxies against central differences of `reference(proxies)`. */
function checkProxyGradient(loss: ProxyLoss, rows: Rows, labels: number[], reference: (proxies: Rows) => number): void {
  const x = tf.tensor2d(rows);
  const y = int32(labels);
  const proxies = loss.trainableVariables[0]!;
  const { value, grads } = tf.variableGrads(() => loss.compute({ embeddings: x, labels: y }), [proxies]);
  const point = proxies.arraySync() as Rows;
  expectTensorClose(value, reference(point), { atol: 1e-5, rtol: 1e-4 });
  expectTensorClose(grads[proxies.name]!, numericGradient(reference, point), { atol: 1e-4, rtol: 1e-3 });
  tf.dispose([x, y, value, ...Object.values(grads)]);
}

// ---------------------------------------------------------------------------------------------

describe.each([
  ['proxyNcaLoss', (o: { numClasses: number; embeddingDim: number; seed?: number; rng?: Rng }) => proxyNcaLoss(o), () => 1, 2],
  ['proxyAnchorLoss', (o: { numClasses: number; embeddingDim: number; seed?: number; rng?: Rng }) => proxyAnchorLoss(o), (c: number) => Math.sqrt(2 / c), 0.05],
] as const)('%s: proxies', (name, make, std, learningRate) => {
  it(`is a ProxyLoss named ${name} with one [numClasses, embeddingDim] trainable float32 variable`, () => {
    const loss = make({ numClasses: 5, embeddingDim: 3 });
    expect(loss.name).toBe(name);
    expect(loss.trainableVariables).toHaveLength(1);
    const [proxies] = loss.trainableVariables as [tf.Variable];
    expect(proxies.shape).toEqual([5, 3]);
    expect(proxies.dtype).toBe('float32');
    expect(proxies.trainable).toBe(true);
    loss.dispose();
    expect(proxies.isDisposed).toBe(true);
    loss.dispose(); // a second call does nothing
  });

  it('draws the proxies from core Rng: the seed (default 0) or a given generator, as PML inits them', () => {
    const values = (rng: Rng, c: number, d: number): number[] => Array.from(rng.normalArray(c * d, 0, std(c)));
    const seeded = make({ numClasses: 4, embeddingDim: 3, seed: 7 });
    expectTensorClose(seeded.trainableVariables[0]!, values(new Rng(7), 4, 3), { atol: 1e-7, rtol: 1e-6 });
    const byDefault = make({ numClasses: 4, embeddingDim: 3 });
    expectTensorClose(byDefault.trainableVariables[0]!, values(new Rng(0), 4, 3), { atol: 1e-7, rtol: 1e-6 });
    const rng = new Rng(9);
    const fromRng = make({ numClasses: 4, embeddingDim: 3, rng });
    const expectedRng = new Rng(9);
    expectTensorClose(fromRng.trainableVariables[0]!, values(expectedRng, 4, 3), { atol: 1e-7, rtol: 1e-6 });
    expect(rng.uniform()).toBe(expectedRng.uniform()); // the given generator was advanced
    for (const loss of [seeded, byDefault, fromRng]) loss.dispose();
  });

  it(`initial standard deviation is ${name === 'proxyNcaLoss' ? '1 (normal_)' : 'sqrt(2 / numClasses) (kaiming_normal_, fan_out)'}`, () => {
    const loss = make({ numClasses: 50, embeddingDim: 200, seed: 3 });
    const values = Array.from(loss.trainableVariables[0]!.dataSync());
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    const sd = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length);
    expect(Math.abs(mean)).toBeLessThan(0.02 * std(50));
    expect(Math.abs(sd / std(50) - 1)).toBeLessThan(0.03);
    loss.dispose();
  });

  it('labels must lie in [0, numClasses): checked at compute', () => {
    const loss = make({ numClasses: 3, embeddingDim: 2 });
    const x = tf.tensor2d([[1, 0], [0, 1]]);
    for (const bad of [[0, 3], [-1, 0], [2147483647, 1]]) {
      const y = int32(bad);
      const before = tf.memory().numTensors;
      expectContrastiveError(
        () => loss.compute({ embeddings: x, labels: y }),
        'INVALID_ARGUMENT',
        new RegExp(`Argument 'labels' passed to '${name}' must hold class indices in \\[0, 3\\) \\(numClasses\\), got values in \\[${Math.min(...bad)}, ${Math.max(...bad)}\\]`),
      );
      expect(tf.memory().numTensors).toBe(before);
      y.dispose();
    }
    x.dispose();
    loss.dispose();
  });

  it('rejects bad shared options before allocating anything', () => {
    const before = tf.memory().numTensors;
    const cases: [unknown, RegExp][] = [
      [{ numClasses: 0, embeddingDim: 2 }, new RegExp(`Argument 'numClasses' passed to '${name}' must be an integer >= 1, got 0`)],
      [{ numClasses: 1.5, embeddingDim: 2 }, /Argument 'numClasses' .* must be an integer >= 1, got 1.5/],
      [{ embeddingDim: 2 }, /Argument 'numClasses' .* must be an integer >= 1, got undefined/],
      [{ numClasses: 2, embeddingDim: Number.NaN }, /Argument 'embeddingDim' .* must be an integer >= 1, got NaN/],
      [{ numClasses: 2, embeddingDim: 2, seed: 0.5 }, /Argument 'seed' .* must be an integer, got 0.5/],
      [{ numClasses: 2, embeddingDim: 2, seed: 1, rng: new Rng(1) }, /Arguments 'seed' and 'rng' passed to .* are exclusive/],
      [{ numClasses: 2, embeddingDim: 2, rng: { uniform: () => 0 } }, /Argument 'rng' .* must be an Rng/],
      [null, new RegExp(`Argument 'options' passed to '${name}' must be \\{ numClasses, embeddingDim, ... \\}, got null`)],
      [{ numClasses: 2, embeddingDim: 2, distance: { name: 'x' } }, /Argument 'distance' .* must be a Distance/],
    ];
    for (const [options, message] of cases) {
      expectContrastiveError(() => make(options as { numClasses: number; embeddingDim: number }), 'INVALID_ARGUMENT', message);
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it('rejects bad inputs at compute, naming the argument, without leaking; STATE after dispose', () => {
    const loss = make({ numClasses: 3, embeddingDim: 2 });
    const x = tf.tensor2d([[1, 0], [0, 1]]);
    const y = int32([0, 1]);
    const cases: [() => unknown, Parameters<typeof expectContrastiveError>[1], RegExp][] = [
      [() => loss.compute({ embeddings: tf.zeros([2, 3]) as tf.Tensor2D, labels: y }), 'SHAPE_MISMATCH', new RegExp(`Argument 'embeddings' passed to '${name}' must have 2 columns \\(embeddingDim\\), got 3`)],
      [() => loss.compute({ embeddings: x, labels: tf.tensor1d([0, 1]) }), 'DTYPE_MISMATCH', /Argument 'labels' .* must have dtype int32, got float32/],
      [() => loss.compute({ embeddings: x, labels: int32([0]) }), 'LABEL_COUNT', /Argument 'labels' .* must have 2 entries \(one per embedding\), got 1/],
      [() => loss.compute({ embeddings: x, labels: y, ref: { embeddings: x, labels: y } }), 'INVALID_ARGUMENT', new RegExp(`Argument 'ref' passed to '${name}' is not supported \\(the batch is compared with the class proxies\\)`)],
      [() => loss.compute({ embeddings: x, labels: y, tuples: { kind: 'pairs', anchorPos: int32([0]), positive: int32([]), anchorNeg: int32([]), negative: int32([]) } }), 'SHAPE_MISMATCH', /Argument 'tuples.positive' .* must have 1 entries/],
    ];
    for (const [call, code, message] of cases) {
      const before = tf.memory().numTensors;
      expectContrastiveError(() => tf.tidy(() => void call()), code, message);
      expect(tf.memory().numTensors).toBe(before);
    }
    loss.dispose();
    expectContrastiveError(() => loss.compute({ embeddings: x, labels: y }), 'STATE', new RegExp(`'${name}.compute' was called after dispose\\(\\)`));
    tf.dispose([x, y]);
  });

  it('leaks no tensor, forward or backward (embeddings and proxies); dispose frees the proxies', async () => {
    const x = tf.tensor2d(randomRows(new Rng(41), 8, 4));
    const y = int32([0, 1, 2, 3, 0, 1, 2, 3]);
    const tuples = tripletTuples([[0, 4], [4, 0], [1, 2]]);
    const one = { embeddings: tf.tensor2d([[1, 2, 3, 4]]), labels: int32([2]) };
    await expectNoLeak(() => {
      const loss = make({ numClasses: 5, embeddingDim: 4 });
      const inputs = [{ embeddings: x, labels: y }, { embeddings: x, labels: y, tuples }, one];
      for (const input of inputs) {
        loss.compute(input).dispose();
        const { value, grads } = tf.variableGrads(() => loss.compute(input), loss.trainableVariables);
        tf.dispose([value, ...Object.values(grads)]);
        const result = tf.valueAndGrad((e: tf.Tensor) => loss.compute({ ...input, embeddings: e as tf.Tensor2D }))(input.embeddings);
        tf.dispose([result.value, result.grad]);
      }
      loss.dispose();
    });
    disposeTuples(tuples);
    tf.dispose([x, y, one.embeddings, one.labels]);
  });

  it('trains under optimizer.minimize with the default variable list: the proxies move, the loss falls', () => {
    const embeddings = tf.variable(tf.tensor2d(randomRows(new Rng(51), 16, 8, 0.5)));
    const labels = int32(Array.from({ length: 16 }, (_, i) => i % 4));
    const loss = make({ numClasses: 4, embeddingDim: 8, seed: 2 });
    const initial = proxiesOf(loss);
    const optimizer = tf.train.sgd(learningRate);
    const step = (varList?: tf.Variable[]): number => {
      const cost = optimizer.minimize(() => loss.compute({ embeddings, labels }), true, varList);
      const value = scalarValue(cost as tf.Scalar);
      cost?.dispose();
      return value;
    };
    const first = step();
    const moved = proxiesOf(loss).flat().map((v, i) => Math.abs(v - (initial.flat()[i] as number)));
    expect(Math.max(...moved)).toBeGreaterThan(1e-4);
    const before = tf.memory().numTensors;
    let last = first;
    for (let i = 0; i < 30; i++) last = step([embeddings, ...loss.trainableVariables]);
    expect(tf.memory().numTensors).toBe(before);
    expect(last).toBeLessThan(first * 0.8);
    optimizer.dispose();
    loss.dispose();
    tf.dispose([embeddings, labels]);
  });

  it('an encoder and the proxies train together on wasm/cpu: only the proxies given move', () => {
    const weights = tf.variable(tf.tensor2d(randomRows(new Rng(52), 6, 4, 0.3)));
    const inputs = tf.tensor2d(randomRows(new Rng(53), 12, 6));
    const labels = int32(Array.from({ length: 12 }, (_, i) => i % 3));
    const loss = make({ numClasses: 3, embeddingDim: 4, seed: 4 });
    const frozen = make({ numClasses: 3, embeddingDim: 4, seed: 5 });
    const frozenBefore = proxiesOf(frozen);
    const optimizer = tf.train.adam(0.05);
    const cost = (): tf.Scalar => loss.compute({ embeddings: tf.matMul(inputs, weights), labels });
    const first = scalarValue(tf.tidy(cost));
    for (let i = 0; i < 20; i++) optimizer.minimize(cost, false, [weights, ...loss.trainableVariables]);
    expect(scalarValue(tf.tidy(cost))).toBeLessThan(first);
    expect(proxiesOf(frozen)).toEqual(frozenBefore);
    optimizer.dispose();
    loss.dispose();
    frozen.dispose();
    tf.dispose([weights, inputs, labels]);
  });
});

// ---------------------------------------------------------------------------------------------

describe('proxyNcaLoss: against the float64 loops', () => {
  it('the TSDoc example prints 2.3758831', () => {
    const loss = proxyNcaLoss({ numClasses: 3, embeddingDim: 2, seed: 1 });
    const embeddings = tf.tensor2d([[1, 0], [0, 1], [-1, 0]]);
    const labels = int32([0, 1, 2]);
    const value = loss.compute({ embeddings, labels });
    expect(scalarValue(value)).toBeCloseTo(2.3758831, 6);
    tf.dispose([embeddings, labels, value]);
    loss.dispose();
  });

  it.each([
    [1, 3, 2, 1],
    [4, 3, 3, 1],
    [8, 16, 5, 0.5],
    [16, 8, 4, 4],
    [32, 32, 10, 1],
    [64, 12, 7, 8],
  ])('n=%i d=%i classes=%i softmaxScale=%s: value, gradients for embeddings and proxies', (n, d, classes, scale) => {
    const rng = new Rng(n * 100 + d);
    const rows = randomRows(rng, n, d);
    const labels = randomLabels(rng, n, classes);
    const loss = proxyNcaLoss({ numClasses: classes, embeddingDim: d, softmaxScale: scale, seed: n });
    const proxies = proxiesOf(loss);
    const x = tf.tensor2d(rows);
    const y = int32(labels);
    const value = loss.compute({ embeddings: x, labels: y });
    expectTensorClose(value, referenceProxyNca(rows, labels, proxies, { scale }), FLOAT32_TOLERANCE);
    if (n <= 16) {
      checkGradients((e) => loss.compute({ embeddings: e, labels: y }), (r) => referenceProxyNca(r, labels, proxies, { scale }), rows);
      checkProxyGradient(loss, rows, labels, (p) => referenceProxyNca(rows, labels, p, { scale }));
    }
    tf.dispose([x, y, value]);
    loss.dispose();
  });

  it.each([
    ['lpDistance() (Euclidean)', () => lpDistance(), euclideanNormalized, false],
    ['lpDistance({ power: 2, normalize: false })', () => lpDistance({ power: 2, normalize: false }), squaredEuclidean, false],
    ['cosineSimilarity', () => cosineSimilarity(), cosine, true],
  ] as [string, () => Distance, Measure, boolean][])('distance %s: value and gradient', (_, makeDistance, measure, similarity) => {
    const rows = randomRows(new Rng(11), 10, 4, 0.5);
    const labels = randomLabels(new Rng(12), 10, 5);
    const loss = proxyNcaLoss({ numClasses: 5, embeddingDim: 4, softmaxScale: 2, distance: makeDistance(), seed: 3 });
    const proxies = proxiesOf(loss);
    const y = int32(labels);
    checkGradients((e) => loss.compute({ embeddings: e, labels: y }), (r) => referenceProxyNca(r, labels, proxies, { scale: 2, measure, similarity }), rows, {
      atol: 1e-5,
      rtol: 1e-4,
    });
    y.dispose();
    loss.dispose();
  });

  it('tuples weigh each row by its count among the anchors (PML convert_to_weights with a reference)', () => {
    const rows = randomRows(new Rng(21), 8, 5);
    const labels = [0, 1, 2, 3, 0, 1, 2, 3];
    const loss = proxyNcaLoss({ numClasses: 4, embeddingDim: 5, seed: 8 });
    const proxies = proxiesOf(loss);
    const lists = [[0, 4, 1], [4, 0, 5], [0, 0, 6], [1, 2, 7]];
    const pairs = pairTuples(lists);
    const pairWeights = referenceWeights(8, [lists[0]!, lists[2]!]);
    expect(pairWeights).toEqual([1, 1 / 3, 0, 0, 1 / 3, 0, 1 / 3, 0]);
    expect(valueAndGrad(loss, rows, labels, pairs).value).toBeCloseTo(referenceProxyNca(rows, labels, proxies, { weights: pairWeights }), 5);
    const triplets = tripletTuples([[3, 3, 5], [7, 7, 1], [0, 1, 2]]);
    const tripletWeights = referenceWeights(8, [[3, 3, 5]]);
    expect(valueAndGrad(loss, rows, labels, triplets).value).toBeCloseTo(referenceProxyNca(rows, labels, proxies, { weights: tripletWeights }), 5);
    const empty = pairTuples([[], [], [], []]);
    expect(valueAndGrad(loss, rows, labels, empty).value).toBeCloseTo(referenceProxyNca(rows, labels, proxies), 5);
    [pairs, triplets, empty].forEach(disposeTuples);
    loss.dispose();
  });

  it('accepts a reducer: sumReducer gives n times the mean', () => {
    const rows = randomRows(new Rng(22), 6, 3);
    const labels = [0, 1, 2, 0, 1, 2];
    const loss = proxyNcaLoss({ numClasses: 3, embeddingDim: 3, seed: 1, reducer: sumReducer() });
    expect(valueAndGrad(loss, rows, labels).value).toBeCloseTo(6 * referenceProxyNca(rows, labels, proxiesOf(loss)), 5);
    loss.dispose();
    expectContrastiveError(() => proxyNcaLoss({ numClasses: 2, embeddingDim: 2, reducer: {} as Reducer }), 'INVALID_ARGUMENT', /Argument 'reducer' passed to 'proxyNcaLoss' must be a Reducer/);
    for (const softmaxScale of [0, -1, Number.POSITIVE_INFINITY]) {
      expectContrastiveError(() => proxyNcaLoss({ numClasses: 2, embeddingDim: 2, softmaxScale }), 'INVALID_ARGUMENT', /Argument 'softmaxScale' passed to 'proxyNcaLoss' must be a finite number > 0/);
    }
  });

  it('edge cases: one class, batch of one, identical and zero vectors stay finite and exact', () => {
    const single = proxyNcaLoss({ numClasses: 1, embeddingDim: 3 });
    const one = valueAndGrad(single, [[0.3, -0.2, 0.9]], [0]);
    expect(one.value).toBe(0); // the only proxy has probability 1
    expect(one.finite).toBe(true);
    single.dispose();
    const loss = proxyNcaLoss({ numClasses: 4, embeddingDim: 3, seed: 6 });
    const proxies = proxiesOf(loss);
    for (const rows of [Array.from({ length: 4 }, () => [0.2, -1.5, 0.7]), Array.from({ length: 4 }, () => [0, 0, 0])]) {
      const labels = [0, 1, 2, 3];
      const result = valueAndGrad(loss, rows, labels);
      expect(result.finite).toBe(true);
      expect(result.value).toBeCloseTo(referenceProxyNca(rows, labels, proxies), 5);
    }
    loss.dispose();
  });

  it('softmaxScale 100 with embeddings scaled by 1e4 stays finite', () => {
    const rows = randomRows(new Rng(5), 12, 4, 1e4);
    const labels = Array.from({ length: 12 }, (_, i) => i % 4);
    for (const distance of [lpDistance({ power: 2 }), lpDistance({ power: 2, normalize: false })]) {
      const loss = proxyNcaLoss({ numClasses: 4, embeddingDim: 4, softmaxScale: 100, distance });
      const result = valueAndGrad(loss, rows, labels);
      expect(result.finite).toBe(true);
      if (distance.normalizes) expect(result.value).toBeCloseTo(referenceProxyNca(rows, labels, proxiesOf(loss), { scale: 100 }), 3);
      loss.dispose();
    }
  });
});

// ---------------------------------------------------------------------------------------------

describe('proxyAnchorLoss: against the float64 loops', () => {
  it('the TSDoc example prints 40.3354416', () => {
    const loss = proxyAnchorLoss({ numClasses: 3, embeddingDim: 2, seed: 1 });
    const embeddings = tf.tensor2d([[1, 0], [0, 1], [-1, 0]]);
    const labels = int32([0, 1, 2]);
    const value = loss.compute({ embeddings, labels });
    expect(scalarValue(value)).toBeCloseTo(40.3354416, 4);
    tf.dispose([embeddings, labels, value]);
    loss.dispose();
  });

  it.each([
    [1, 3, 2, 0.1, 32],
    [4, 3, 3, 0.1, 32],
    [8, 16, 5, 0.2, 16],
    [16, 8, 4, 0.1, 8],
    [32, 32, 10, 0.05, 32],
    [64, 12, 7, 0, 4],
  ])('n=%i d=%i classes=%i δ=%s α=%s: value, gradients for embeddings and proxies', (n, d, classes, margin, alpha) => {
    const rng = new Rng(n * 100 + d + 1);
    const rows = randomRows(rng, n, d);
    const labels = randomLabels(rng, n, classes);
    const loss = proxyAnchorLoss({ numClasses: classes, embeddingDim: d, margin, alpha, seed: n });
    const proxies = proxiesOf(loss);
    const x = tf.tensor2d(rows);
    const y = int32(labels);
    const value = loss.compute({ embeddings: x, labels: y });
    const expected = referenceProxyAnchor(rows, labels, proxies, { margin, alpha });
    expectTensorClose(value, expected, FLOAT32_TOLERANCE);
    if (n <= 16) {
      const tolerance = { atol: 1e-4 * Math.max(1, alpha / 8), rtol: 1e-3 };
      checkGradients((e) => loss.compute({ embeddings: e, labels: y }), (r) => referenceProxyAnchor(r, labels, proxies, { margin, alpha }), rows, tolerance);
      checkProxyGradient(loss, rows, labels, (p) => referenceProxyAnchor(rows, labels, p, { margin, alpha }));
    }
    tf.dispose([x, y, value]);
    loss.dispose();
  });

  it('defaults: δ = 0.1, α = 32, cosine similarity', () => {
    const rows = randomRows(new Rng(8), 10, 6);
    const labels = randomLabels(new Rng(9), 10, 4);
    const loss = proxyAnchorLoss({ numClasses: 4, embeddingDim: 6 });
    expect(valueAndGrad(loss, rows, labels).value).toBeCloseTo(referenceProxyAnchor(rows, labels, proxiesOf(loss)), 4);
    loss.dispose();
  });

  it('a distance applies the margins the other way round (PML distance.margin)', () => {
    const rows = randomRows(new Rng(11), 10, 4, 0.5);
    const labels = randomLabels(new Rng(12), 10, 5);
    const loss = proxyAnchorLoss({ numClasses: 5, embeddingDim: 4, alpha: 4, distance: lpDistance(), seed: 3 });
    const proxies = proxiesOf(loss);
    const y = int32(labels);
    const options = { alpha: 4, measure: euclideanNormalized, similarity: false };
    checkGradients((e) => loss.compute({ embeddings: e, labels: y }), (r) => referenceProxyAnchor(r, labels, proxies, options), rows);
    y.dispose();
    loss.dispose();
  });

  it('tuples add log-weight w - 1 to every row (PML: unseen rows are scaled by e^-1, not removed)', () => {
    const rows = randomRows(new Rng(21), 8, 5);
    const labels = [0, 1, 2, 3, 0, 1, 2, 3];
    const loss = proxyAnchorLoss({ numClasses: 4, embeddingDim: 5, alpha: 8, seed: 8 });
    const proxies = proxiesOf(loss);
    const lists = [[0, 4, 1], [4, 0, 5], [0, 0], [1, 2]];
    const pairs = pairTuples(lists);
    const weights = referenceWeights(8, lists);
    expect(weights).toEqual([1, 0.5, 0.25, 0, 0.5, 0.25, 0, 0]);
    const y = int32(labels);
    checkGradients((e) => loss.compute({ embeddings: e, labels: y, tuples: pairs }), (r) => referenceProxyAnchor(r, labels, proxies, { alpha: 8, weights }), rows);
    const triplets = tripletTuples([[3, 3, 5], [7, 7, 1], [0, 1, 2]]);
    const tripletWeights = referenceWeights(8, [[3, 3, 5], [7, 7, 1], [0, 1, 2]]);
    expect(valueAndGrad(loss, rows, labels, triplets).value).toBeCloseTo(referenceProxyAnchor(rows, labels, proxies, { alpha: 8, weights: tripletWeights }), 4);
    const empty = tripletTuples([[], [], []]);
    expect(valueAndGrad(loss, rows, labels, empty).value).toBeCloseTo(referenceProxyAnchor(rows, labels, proxies, { alpha: 8 }), 4);
    [pairs, triplets, empty].forEach(disposeTuples);
    y.dispose();
    loss.dispose();
  });

  it('rejects a bad margin or alpha', () => {
    for (const margin of [Number.NaN, Number.POSITIVE_INFINITY]) {
      expectContrastiveError(() => proxyAnchorLoss({ numClasses: 2, embeddingDim: 2, margin }), 'INVALID_ARGUMENT', /Argument 'margin' passed to 'proxyAnchorLoss' must be a finite number, got/);
    }
    for (const alpha of [0, -1, Number.NaN]) {
      expectContrastiveError(() => proxyAnchorLoss({ numClasses: 2, embeddingDim: 2, alpha }), 'INVALID_ARGUMENT', /Argument 'alpha' passed to 'proxyAnchorLoss' must be a finite number > 0, got/);
    }
  });

  it('edge cases: one class (no negatives), batch of one, identical and zero vectors', () => {
    const single = proxyAnchorLoss({ numClasses: 1, embeddingDim: 3 });
    const rows = randomRows(new Rng(4), 3, 3);
    const result = valueAndGrad(single, rows, [0, 0, 0]);
    expect(result.finite).toBe(true);
    expect(result.value).toBeCloseTo(referenceProxyAnchor(rows, [0, 0, 0], proxiesOf(single)), 4);
    single.dispose();
    const loss = proxyAnchorLoss({ numClasses: 4, embeddingDim: 3, seed: 6 });
    const proxies = proxiesOf(loss);
    const cases: [Rows, number[]][] = [
      [[[0.3, -0.2, 0.9]], [2]],
      [Array.from({ length: 4 }, () => [0.2, -1.5, 0.7]), [0, 1, 2, 0]],
      [Array.from({ length: 4 }, () => [0, 0, 0]), [0, 1, 2, 3]],
    ];
    for (const [points, labels] of cases) {
      const out = valueAndGrad(loss, points, labels);
      expect(out.finite).toBe(true);
      expect(out.value).toBeCloseTo(referenceProxyAnchor(points, labels, proxies), 4);
    }
    // Zero vectors have cosine 0 with every proxy: log(1 + k e^{αδ}) and log(1 + m e^{αδ}) terms.
    loss.dispose();
  });

  it('α = 100 with embeddings scaled by 1e4 stays finite and exact', () => {
    const rows = randomRows(new Rng(5), 16, 8, 1e4);
    const labels = Array.from({ length: 16 }, (_, i) => i % 4);
    const loss = proxyAnchorLoss({ numClasses: 6, embeddingDim: 8, alpha: 100 });
    const result = valueAndGrad(loss, rows, labels);
    expect(result.finite).toBe(true);
    const expected = referenceProxyAnchor(rows, labels, proxiesOf(loss), { alpha: 100 });
    expect(Math.abs(result.value - expected)).toBeLessThan(1e-4 * expected);
    loss.dispose();
  });
});

it('runs on the selected test backend', () => {
  expect(tf.getBackend()).toBe(backend);
});
