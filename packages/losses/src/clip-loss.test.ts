import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng, viewLabels } from '@contrastive/core';
import type { TripletTuples } from '@contrastive/core';
import {
  FLOAT32_TOLERANCE,
  LOOSE_TOLERANCE,
  checkGradients,
  expectContrastiveError,
  expectNoLeak,
  expectTensorClose,
  useTestBackend,
} from '@contrastive/core/testing';
import { expectGoldenGrad, expectGoldenValue, goldenCases, goldenRows } from './test-support/golden.js';
import { clipLoss } from './clip-loss.js';
import { allFinite, int32, randomRows, scalarValue } from './test-support/harness.js';
import type { Rows } from './test-support/harness.js';

let backend: 'wasm' | 'cpu';
beforeAll(async () => {
  backend = await useTestBackend();
});

// ---------------------------------------------------------------------------------------------
// float64 reference: CLIP's pseudocode (Radford et al. 2021, Figure 3) as loops
// ---------------------------------------------------------------------------------------------


const dot = (a: number[], b: number[]): number => a.reduce((sum, x, i) => sum + x * (b[i] as number), 0);
function unit(v: number[]): number[] {
  const norm = Math.sqrt(dot(v, v));
  return v.map((x) => x / Math.max(norm, 1e-12));
}

/** Mean over rows i of CE(logits row i, target i); logits = scale · cos(a_i, b_j). */
function crossEntropy(a: Rows, b: Rows, scale: number): number {
  let total = 0;
  a.forEach((row, i) => {
    const logits = b.map((other) => scale * dot(unit(row), unit(other)));
    const max = Math.max(...logits);
    total += max + Math.log(logits.reduce((s, l) => s + Math.exp(l - max), 0)) - (logits[i] as number);
  });
  return total / a.length;
}

function referenceClip(rows: Rows, scale: number, options: { texts?: Rows; symmetric?: boolean } = {}): number {
  const half = rows.length / 2;
  const images = options.texts === undefined ? rows.slice(0, half) : rows;
  const texts = options.texts ?? rows.slice(half);
  const forward = crossEntropy(images, texts, scale);
  return options.symmetric === false ? forward : 0.5 * (forward + crossEntropy(texts, images, scale));
}

const zerosLabels = (n: number): tf.Tensor1D => tf.zeros([n], 'int32') as tf.Tensor1D;
// ---------------------------------------------------------------------------------------------

describe('clipLoss: golden values', () => {
  const cases = goldenCases('infonce_clip_');
  it('has the four infonce_clip_* cases', () => {
    expect(cases).toHaveLength(4);
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s: value and gradient (fixed, learnable, chunked)', (_, c) => {
    const rows = goldenRows(c);
    const temperature = c.params['temperature'] as number;
    const x = tf.tensor2d(rows);
    const y = viewLabels(rows.length / 2);
    const variants = [clipLoss({ temperature }), clipLoss({ temperature, learnableScale: true }), clipLoss({ temperature, chunkElements: rows.length / 2 })];
    for (const loss of variants) {
      const { value, grad } = tf.valueAndGrad((e: tf.Tensor) => loss.compute({ embeddings: e as tf.Tensor2D, labels: y }))(x);
      expectGoldenValue(value, c);
      expectGoldenGrad(grad, c);
      tf.dispose([value, grad]);
      loss.dispose();
    }
    const aux = c.expected.aux as { loss_1to2: number };
    const oneWay = clipLoss({ temperature, symmetric: false });
    const value = oneWay.compute({ embeddings: x, labels: y });
    expectTensorClose(value, aux.loss_1to2, { atol: 1e-6, rtol: 1e-4 });
    expect(Math.abs(referenceClip(rows, 1 / temperature) - c.expected.value)).toBeLessThan(1e-12);
    tf.dispose([x, y, value]);
  });
});

describe('clipLoss: against the float64 loops', () => {
  it('returns a float32 scalar named clipLoss; defaults τ = 0.07, symmetric, fixed scale', () => {
    const rows = randomRows(new Rng(1), 10, 4);
    const x = tf.tensor2d(rows);
    const y = viewLabels(5);
    const loss = clipLoss();
    const value = loss.compute({ embeddings: x, labels: y });
    expect(loss.name).toBe('clipLoss');
    expect(loss.logitScale).toBeNull();
    expect(loss.trainableVariables).toEqual([]);
    expect(value.shape).toEqual([]);
    expect(value.dtype).toBe('float32');
    expectTensorClose(value, referenceClip(rows, 1 / 0.07), FLOAT32_TOLERANCE);
    tf.dispose([x, y, value]);
  });

  it('the TSDoc example prints 0.5130152 and log(1 / 0.07) = 2.6592600', () => {
    const rows = [[1, 0], [0, 1], [0.8, 0.6], [0.6, 0.8]];
    const embeddings = tf.tensor2d(rows);
    const labels = viewLabels(2);
    const value = clipLoss({ temperature: 0.5 }).compute({ embeddings, labels });
    expect(scalarValue(value)).toBeCloseTo(referenceClip(rows, 2), 6);
    expect(scalarValue(value)).toBeCloseTo(0.5130152, 6);
    const learnable = clipLoss({ learnableScale: true });
    expect(scalarValue(learnable.logitScale as tf.Variable)).toBeCloseTo(2.65926, 5);
    learnable.dispose();
    tf.dispose([embeddings, labels, value]);
  });

  it.each([
    [2, 3, 0.07, true],
    [8, 16, 0.1, true],
    [16, 8, 0.5, false],
    [24, 5, 0.2, true],
    [64, 12, 1, false],
  ])('N=%i d=%i τ=%s symmetric=%s', (pairs, d, temperature, symmetric) => {
    const rows = randomRows(new Rng(pairs * 10 + d), 2 * pairs, d);
    const x = tf.tensor2d(rows);
    const y = viewLabels(pairs);
    const value = clipLoss({ temperature, symmetric }).compute({ embeddings: x, labels: y });
    expectTensorClose(value, referenceClip(rows, 1 / temperature, { symmetric }), FLOAT32_TOLERANCE);
    tf.dispose([x, y, value]);
  });

  it.each([
    [6, 3, 0.5, true],
    [10, 4, 0.1, false],
    [12, 5, 0.07, true],
  ])('gradient matches central differences: rows=%i d=%i τ=%s symmetric=%s', (n, d, temperature, symmetric) => {
    const rows = randomRows(new Rng(n * 5 + d), n, d);
    const y = viewLabels(n / 2);
    const loss = clipLoss({ temperature, symmetric });
    checkGradients((e) => loss.compute({ embeddings: e, labels: y }), (r) => referenceClip(r, 1 / temperature, { symmetric }), rows);
    y.dispose();
  });

  it('images against ref texts: value, gradient into both modalities', () => {
    const rng = new Rng(17);
    const images = randomRows(rng, 6, 4);
    const texts = randomRows(rng, 6, 4);
    const x = tf.tensor2d(images);
    const y = zerosLabels(6);
    const ref = { embeddings: tf.tensor2d(texts), labels: zerosLabels(6) };
    const loss = clipLoss({ temperature: 0.2 });
    const value = loss.compute({ embeddings: x, labels: y, ref });
    expectTensorClose(value, referenceClip(images, 5, { texts }), FLOAT32_TOLERANCE);
    checkGradients((e) => loss.compute({ embeddings: e, labels: y, ref }), (r) => referenceClip(r, 5, { texts }), images);
    checkGradients((t) => loss.compute({ embeddings: x, labels: y, ref: { embeddings: t, labels: ref.labels } }), (r) => referenceClip(images, 5, { texts: r }), texts);
    tf.dispose([x, y, ref.embeddings, ref.labels, value]);
  });
});

describe('clipLoss: learnable logit scale', () => {
  const rows = randomRows(new Rng(23), 12, 5);

  it('the gradient of logitScale is d loss / d scale · scale (central differences in float64)', () => {
    const loss = clipLoss({ temperature: 0.1, learnableScale: true });
    const variable = loss.logitScale as tf.Variable;
    expect(loss.trainableVariables).toEqual([variable]);
    const x = tf.tensor2d(rows);
    const y = viewLabels(6);
    const { value, grads } = tf.variableGrads(() => loss.compute({ embeddings: x, labels: y }), [variable]);
    const logit = Math.log(10);
    const step = 1e-6;
    const numeric = (referenceClip(rows, Math.exp(logit + step)) - referenceClip(rows, Math.exp(logit - step))) / (2 * step);
    expectTensorClose(value, referenceClip(rows, 10), FLOAT32_TOLERANCE);
    expectTensorClose(grads[variable.name] as tf.Tensor, numeric, { atol: 1e-5, rtol: 1e-3 });
    tf.dispose([x, y, value, ...Object.values(grads)]);
    loss.dispose();
  });

  it('caps exp(logitScale) at maxScale, with a zero scale gradient above the cap', () => {
    const loss = clipLoss({ temperature: 0.001, learnableScale: true, maxScale: 20 });
    const variable = loss.logitScale as tf.Variable;
    const x = tf.tensor2d(rows);
    const y = viewLabels(6);
    const { value, grads } = tf.variableGrads(() => loss.compute({ embeddings: x, labels: y }), [variable]);
    expectTensorClose(value, referenceClip(rows, 20), FLOAT32_TOLERANCE);
    expect(scalarValue(grads[variable.name] as tf.Tensor)).toBe(0);
    tf.dispose([x, y, value, ...Object.values(grads)]);
    loss.dispose();
  });

  it('trains embeddings and scale under optimizer.minimize; no tensor growth; dispose frees the variable', () => {
    const embeddings = tf.variable(tf.tensor2d(randomRows(new Rng(51), 16, 8)));
    const labels = viewLabels(8);
    const loss = clipLoss({ temperature: 0.5, learnableScale: true });
    const optimizer = tf.train.adam(0.05);
    const step = (): number => {
      const cost = optimizer.minimize(() => loss.compute({ embeddings, labels }), true, [embeddings, ...loss.trainableVariables]);
      const value = scalarValue(cost as tf.Scalar);
      cost?.dispose();
      return value;
    };
    const first = step();
    const before = tf.memory().numTensors;
    let last = first;
    for (let i = 0; i < 30; i++) last = step();
    expect(tf.memory().numTensors).toBe(before);
    expect(last).toBeLessThan(first * 0.8);
    expect(scalarValue(loss.logitScale as tf.Variable)).not.toBeCloseTo(Math.log(2), 3);
    const count = tf.memory().numTensors;
    loss.dispose();
    loss.dispose(); // idempotent
    expect(tf.memory().numTensors).toBe(count - 1);
    expectContrastiveError(() => loss.compute({ embeddings, labels }), 'STATE', /'clipLoss' was used after dispose\(\)/);
    optimizer.dispose();
    tf.dispose([embeddings, labels]);
  });
});

describe('clipLoss: edge cases', () => {
  function valueAndGrad(rows: Rows, temperature = 0.1): { value: number; grad: number[]; finite: boolean } {
    const x = tf.tensor2d(rows);
    const y = zerosLabels(rows.length);
    const loss = clipLoss({ temperature });
    const result = tf.valueAndGrad((e: tf.Tensor) => loss.compute({ embeddings: e as tf.Tensor2D, labels: y }))(x);
    const out = { value: scalarValue(result.value), grad: Array.from(result.grad.dataSync()), finite: allFinite(result.value) && allFinite(result.grad) };
    tf.dispose([x, y, result.value, result.grad]);
    return out;
  }

  it('a batch of one gives a connected 0', () => {
    const { value, grad } = valueAndGrad([[0.3, -0.4]]);
    expect(value === 0).toBe(true);
    expect(grad).toEqual([0, 0]);
  });

  it('one pair (no negative) gives 0 with zero gradients', () => {
    const { value, grad } = valueAndGrad([[0.3, -0.4], [1, 2]]);
    expect(value).toBeCloseTo(0, 6);
    expect(Math.max(...grad.map(Math.abs))).toBeLessThan(1e-6);
  });

  it('identical and zero vectors: log N, finite gradient', () => {
    for (const row of [[0.2, -1.5, 0.7], [0, 0, 0]]) {
      const { value, finite } = valueAndGrad(Array.from({ length: 8 }, () => [...row]));
      expect(value).toBeCloseTo(Math.log(4), 5);
      expect(finite).toBe(true);
    }
  });

  it('τ = 0.01 with embeddings scaled by 1e4 stays finite', () => {
    const rows = randomRows(new Rng(4), 16, 6, 1e4);
    const { value, finite } = valueAndGrad(rows, 0.01);
    expect(finite).toBe(true);
    expect(Math.abs(value - referenceClip(rows, 100))).toBeLessThan(LOOSE_TOLERANCE.atol + LOOSE_TOLERANCE.rtol * value);
  });
});

describe('clipLoss: resources and errors', () => {
  it('leaks no tensor, forward or backward, fixed or learnable', async () => {
    const x = tf.tensor2d(randomRows(new Rng(41), 8, 4));
    const y = zerosLabels(8);
    const ref = { embeddings: tf.tensor2d(randomRows(new Rng(42), 8, 4)), labels: zerosLabels(8) };
    const losses = [clipLoss(), clipLoss({ learnableScale: true }), clipLoss({ symmetric: false, chunkElements: 8 })];
    losses[0]!.compute({ embeddings: x, labels: y }).dispose();
    await expectNoLeak(() => {
      for (const loss of losses) {
        for (const input of [{ embeddings: x, labels: y }, { embeddings: x, labels: y, ref }]) {
          loss.compute(input).dispose();
          const { value, grad } = tf.valueAndGrad((e: tf.Tensor) => loss.compute({ ...input, embeddings: e as tf.Tensor2D }))(x);
          tf.dispose([value, grad]);
        }
      }
    });
    for (const loss of losses) loss.dispose();
    tf.dispose([x, y, ref.embeddings, ref.labels]);
  });

  it('rejects bad hyper-parameters in the factory', () => {
    expectContrastiveError(() => clipLoss({ temperature: -0.07 }), 'INVALID_ARGUMENT', /Argument 'temperature' passed to 'clipLoss' must be a finite number > 0, got -0.07/);
    expectContrastiveError(() => clipLoss({ maxScale: 0 }), 'INVALID_ARGUMENT', /Argument 'maxScale' passed to 'clipLoss' must be a finite number > 0, got 0/);
    expectContrastiveError(() => clipLoss({ learnableScale: 'true' as never }), 'INVALID_ARGUMENT', /Argument 'learnableScale' passed to 'clipLoss' must be a boolean, got string/);
    expectContrastiveError(() => clipLoss({ symmetric: 0 as never }), 'INVALID_ARGUMENT', /Argument 'symmetric' passed to 'clipLoss' must be a boolean, got number/);
    expectContrastiveError(() => clipLoss({ chunkElements: 0 }), 'INVALID_ARGUMENT', /Argument 'chunkElements' passed to 'clipLoss' must be an integer >= 1, got 0/);
  });

  it('rejects odd batches, mismatched refs, tuples and bad tensors, without leaking', () => {
    const loss = clipLoss();
    const x = tf.tensor2d(randomRows(new Rng(71), 6, 3));
    const y = zerosLabels(6);
    const inTidy = (call: () => unknown) => () => tf.tidy(() => void call());
    const before = tf.memory().numTensors;
    expectContrastiveError(
      inTidy(() => loss.compute({ embeddings: tf.zeros([7, 3]) as tf.Tensor2D, labels: zerosLabels(7) })),
      'SHAPE_MISMATCH',
      /Argument 'embeddings' passed to 'clipLoss' must have an even number of rows .* got 7/,
    );
    expectContrastiveError(
      inTidy(() => loss.compute({ embeddings: x, labels: y, ref: { embeddings: tf.zeros([5, 3]) as tf.Tensor2D, labels: zerosLabels(5) } })),
      'SHAPE_MISMATCH',
      /Argument 'ref.embeddings' passed to 'clipLoss' must have 6 rows \(one text per image\), got 5/,
    );
    const tuples: TripletTuples = { kind: 'triplets', anchor: int32([0]), positive: int32([3]), negative: int32([1]) };
    expectContrastiveError(inTidy(() => loss.compute({ embeddings: x, labels: y, tuples })), 'INVALID_ARGUMENT', /Argument 'tuples' passed to 'clipLoss' is not supported/);
    tf.dispose([tuples.anchor, tuples.positive, tuples.negative]);
    expectContrastiveError(inTidy(() => loss.compute({ embeddings: x, labels: tf.zeros([6]) as tf.Tensor1D })), 'DTYPE_MISMATCH', /Argument 'labels' passed to 'clipLoss' must have dtype int32, got float32/);
    expectContrastiveError(inTidy(() => loss.compute({ embeddings: x, labels: y, ref: { embeddings: tf.zeros([6, 2]) as tf.Tensor2D, labels: zerosLabels(6) } })), 'SHAPE_MISMATCH', /Argument 'ref.embeddings' passed to 'clipLoss' must have 3 columns/);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, y]);
  });
});

it('runs on the selected test backend', () => {
  expect(tf.getBackend()).toBe(backend);
});
