import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng, viewLabels } from '@contrastive/core';
import type { LossInput, PairTuples } from '@contrastive/core';
import {
  FLOAT32_TOLERANCE,
  LOOSE_TOLERANCE,
  checkGradients,
  expectContrastiveError,
  expectNoLeak,
  expectTensorClose,
  useTestBackend,
} from '@contrastive/core/testing';
import { expectGoldenGrad, expectGoldenValue, goldenCase, goldenCases, goldenRows } from './test-support/golden.js';
import type { GoldenCase } from './test-support/golden.js';
import { protoNceLoss } from './proto-nce-loss.js';
import type { ProtoNceLossOptions, ProtoNcePrototypes } from './proto-nce-loss.js';
import { allFinite, int32, randomRows, scalarValue } from './test-support/harness.js';
import type { Rows } from './test-support/harness.js';

let backend: 'wasm' | 'cpu';
beforeAll(async () => {
  backend = await useTestBackend();
});

// ---------------------------------------------------------------------------------------------
// float64 reference: PCL (Li et al. 2021) eq. 10 and salesforce/PCL builder.py, as obvious loops
// ---------------------------------------------------------------------------------------------


function dot(a: number[], b: number[]): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += (a[i] as number) * (b[i] as number);
  return sum;
}
function unit(v: number[]): number[] {
  const norm = Math.sqrt(dot(v, v));
  return v.map((x) => x / Math.max(norm, 1e-12));
}
function logSumExp(values: number[]): number {
  const max = Math.max(...values);
  return max + Math.log(values.reduce((s, v) => s + Math.exp(v - max), 0));
}

interface PlainClusters {
  prototypes: Rows[];
  phi: number[][];
  assignments: number[][];
}

interface ReferenceOptions {
  tau: number;
  form: 'paper' | 'code';
  clusters?: PlainClusters;
  /** Key rows (view 2) held fixed, for gradients; default rows N..2N-1 of the input. */
  keys?: Rows;
  queue?: Rows;
  /** Per granularity: paper — picked negatives of each query ([N] lists); code — picked columns of the batch. */
  paperPicks?: number[][][];
  codePicks?: number[][];
}

/** [instance term, per-granularity prototype terms]. */
function referenceTerms(rows: Rows, instances: number[], options: ReferenceOptions): [number, number[]] {
  const n = rows.length / 2;
  const q = rows.slice(0, n).map(unit);
  const k = (options.keys ?? rows.slice(n)).map(unit);
  let instance = 0;
  for (let i = 0; i < n; i++) {
    const logits =
      options.queue === undefined
        ? k.map((key) => dot(q[i] as number[], key) / options.tau)
        : [dot(q[i] as number[], k[i] as number[]), ...options.queue.map((row) => dot(q[i] as number[], unit(row)))].map((v) => v / options.tau);
    instance += logSumExp(logits) - (logits[options.queue === undefined ? i : 0] as number);
  }
  instance /= n;
  const terms: number[] = [];
  const clusters = options.clusters;
  if (clusters === undefined) return [instance, terms];
  clusters.prototypes.forEach((centres, g) => {
    const phi = clusters.phi[g] as number[];
    const s = instances.map((id) => (clusters.assignments[g] as number[])[id] as number);
    const logit = (i: number, j: number): number => dot(q[i] as number[], centres[j] as number[]) / (phi[j] as number);
    let total = 0;
    for (let i = 0; i < n; i++) {
      const own = s[i] as number;
      let columns: number[];
      if (options.form === 'paper') {
        const picks = options.paperPicks?.[g]?.[i];
        columns = picks === undefined ? centres.map((_, j) => j) : [own, ...picks];
      } else {
        const outside = centres.map((_, j) => j).filter((j) => !s.includes(j));
        const picks = options.codePicks?.[g];
        columns = [...s, ...(picks === undefined ? outside : picks.filter((j) => outside.includes(j)))];
      }
      total += logSumExp(columns.map((j) => logit(i, j))) - logit(i, own);
    }
    terms.push(total / n);
  });
  return [instance, terms];
}

function referenceProtoNce(rows: Rows, instances: number[], options: ReferenceOptions): number {
  const [instance, terms] = referenceTerms(rows, instances, options);
  return terms.length === 0 ? instance : instance + terms.reduce((a, b) => a + b, 0) / terms.length;
}

/** Replays the loss's draws of `r` negative prototypes (one `rng.uniformArray` per sampled granularity, in order). */
function replayPicks(clusters: PlainClusters, instances: number[], r: number, form: 'paper' | 'code', seed: number): { paperPicks?: number[][][]; codePicks?: number[][] } {
  const rng = new Rng(seed);
  const topR = (scores: number[]): number[] =>
    scores
      .map((score, j) => [score, j] as const)
      .sort((a, b) => b[0] - a[0])
      .slice(0, r)
      .map(([, j]) => j);
  if (form === 'paper') {
    const paperPicks = clusters.prototypes.map((centres, g) => {
      const size = centres.length;
      if (r >= size - 1) return undefined as unknown as number[][];
      const u = rng.uniformArray(instances.length * size);
      return instances.map((id, i) => {
        const own = (clusters.assignments[g] as number[])[id] as number;
        return topR(Array.from({ length: size }, (_, j) => Math.fround((u[i * size + j] as number) - (j === own ? 2 : 0))));
      });
    });
    return { paperPicks };
  }
  const codePicks = clusters.prototypes.map((centres, g) => {
    const size = centres.length;
    if (r >= size) return undefined as unknown as number[];
    const s = instances.map((id) => (clusters.assignments[g] as number[])[id] as number);
    const u = rng.uniformArray(size);
    return topR(Array.from({ length: size }, (_, j) => Math.fround((u[j] as number) + (s.includes(j) ? 0 : 2))));
  });
  return { codePicks };
}

function randomClusters(rng: Rng, sizes: number[], d: number, instances: number): PlainClusters {
  return {
    prototypes: sizes.map((size) => randomRows(rng, size, d).map(unit)),
    phi: sizes.map((size) => Array.from({ length: size }, () => 0.1 + 0.3 * rng.uniform())),
    assignments: sizes.map((size) => Array.from({ length: instances }, () => rng.int(size))),
  };
}
function toTensors(clusters: PlainClusters): ProtoNcePrototypes {
  return {
    prototypes: clusters.prototypes.map((rows) => tf.tensor2d(rows)),
    concentrations: clusters.phi.map((values) => tf.tensor1d(values)),
    assignments: clusters.assignments.map((values) => int32(values)),
  };
}
function disposeClusters(clusters: ProtoNcePrototypes): void {
  tf.dispose([...clusters.prototypes, ...clusters.concentrations, ...clusters.assignments]);
}
function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

// ---------------------------------------------------------------------------------------------
// golden cases (direct implementation of the paper and of PCL's builder.py; see the JSON)
// ---------------------------------------------------------------------------------------------

interface ProtoParams {
  tau_instance: number;
  prototypes: Rows[];
  concentrations_phi: number[][];
  assignments: number[][];
  variant: 'paper' | 'code';
}

function goldenClusters(c: GoldenCase): PlainClusters {
  const params = c.params as unknown as ProtoParams;
  return { prototypes: params.prototypes, phi: params.concentrations_phi, assignments: params.assignments };
}

describe('protoNceLoss: golden values', () => {
  const cases = goldenCases('protonce_');

  it('has the paper and code cases', () => {
    expect(cases.map((c) => c.name).sort()).toEqual(['protonce_code_s16x8', 'protonce_paper_s16x8']);
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s: value and gradient (keys receive none)', (_, c) => {
    const params = c.params as unknown as ProtoParams;
    const rows = goldenRows(c);
    const clusters = toTensors(goldenClusters(c));
    const x = tf.tensor2d(rows);
    const labels = viewLabels(rows.length / 2);
    const loss = protoNceLoss({ tauInstance: params.tau_instance, form: params.variant, ...clusters });
    const { value, grad } = tf.valueAndGrad((e: tf.Tensor) => loss.compute({ embeddings: e as tf.Tensor2D, labels }))(x);
    expectGoldenValue(value, c);
    expectGoldenGrad(grad, c);
    expect(Math.abs(referenceProtoNce(rows, range(8), { tau: params.tau_instance, form: params.variant, clusters: goldenClusters(c) }) - c.expected.value)).toBeLessThan(1e-12);
    disposeClusters(clusters);
    tf.dispose([x, labels, value, grad]);
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s: the instance and per-granularity terms (aux)', (_, c) => {
    const params = c.params as unknown as ProtoParams;
    const aux = c.expected.aux as { instance_term: number; proto_term_per_clustering: number[] };
    const rows = goldenRows(c);
    const plain = goldenClusters(c);
    const x = tf.tensor2d(rows);
    const labels = viewLabels(8);
    const instanceOnly = protoNceLoss({ tauInstance: params.tau_instance }).compute({ embeddings: x, labels });
    expectTensorClose(instanceOnly, aux.instance_term, { atol: 1e-6, rtol: 1e-5 });
    plain.prototypes.forEach((_, g) => {
      const single = toTensors({ prototypes: [plain.prototypes[g]!], phi: [plain.phi[g]!], assignments: [plain.assignments[g]!] });
      const value = protoNceLoss({ tauInstance: params.tau_instance, form: params.variant, ...single }).compute({ embeddings: x, labels });
      expectTensorClose(value, aux.instance_term + aux.proto_term_per_clustering[g]!, { atol: 1e-6, rtol: 1e-5 });
      disposeClusters(single);
      value.dispose();
    });
    tf.dispose([x, labels, instanceOnly]);
  });

  it('code form = paper form + log(count) when every prototype is used equally often', () => {
    const c = goldenCase('protonce_paper_s16x8');
    const code = goldenCase('protonce_code_s16x8');
    const aux = (g: GoldenCase): number[] => (g.expected.aux as { proto_term_per_clustering: number[] }).proto_term_per_clustering;
    expect(aux(code)[0]! - aux(c)[0]!).toBeCloseTo(Math.log(2), 10);
    expect(aux(code)[1]! - aux(c)[1]!).toBeCloseTo(Math.log(4), 10);
  });
});

// ---------------------------------------------------------------------------------------------

describe('protoNceLoss: against the float64 loops', () => {
  it('returns a float32 scalar named protoNceLoss; the TSDoc example prints 0.4401896', () => {
    const embeddings = tf.tensor2d([[1, 0], [0, 1], [0.8, 0.6], [0.6, 0.8]]);
    const labels = viewLabels(2);
    const plain: PlainClusters = { prototypes: [[[1, 0], [0, 1]]], phi: [[0.5, 0.5]], assignments: [[0, 1]] };
    const clusters = toTensors(plain);
    const loss = protoNceLoss(clusters);
    const value = loss.compute({ embeddings, labels });
    expect(loss.name).toBe('protoNceLoss');
    expect(value.shape).toEqual([]);
    expect(value.dtype).toBe('float32');
    expect(scalarValue(value)).toBeCloseTo(0.4401896, 5);
    expect(referenceProtoNce(embeddings.arraySync(), [0, 1], { tau: 0.2, form: 'paper', clusters: plain })).toBeCloseTo(0.4401896, 6);
    disposeClusters(clusters);
    tf.dispose([embeddings, labels, value]);
  });

  it.each([
    [4, 3, [3], 'paper', 0.2],
    [8, 8, [4, 2], 'code', 0.2],
    [16, 5, [6, 10, 3], 'paper', 0.1],
    [16, 5, [6, 10, 3], 'code', 0.1],
    [32, 16, [20, 40], 'paper', 0.5],
    [32, 16, [20, 40], 'code', 0.05],
  ] as [number, number, number[], 'paper' | 'code', number][])('N=%i d=%i K=%o form=%s τ=%s, with and without a queue', (n, d, sizes, form, tau) => {
    const rng = new Rng(n * 100 + d + sizes.length);
    const rows = randomRows(rng, 2 * n, d);
    const plain = randomClusters(rng, sizes, d, n);
    const queue = randomRows(rng, 12, d);
    const clusters = toTensors(plain);
    const x = tf.tensor2d(rows);
    const labels = viewLabels(n);
    const ref = { embeddings: tf.tensor2d(queue), labels: int32(range(12)) };
    const loss = protoNceLoss({ tauInstance: tau, form, ...clusters });
    const value = loss.compute({ embeddings: x, labels });
    expectTensorClose(value, referenceProtoNce(rows, range(n), { tau, form, clusters: plain }), FLOAT32_TOLERANCE);
    const withQueue = loss.compute({ embeddings: x, labels, ref });
    expectTensorClose(withQueue, referenceProtoNce(rows, range(n), { tau, form, clusters: plain, queue }), FLOAT32_TOLERANCE);
    disposeClusters(clusters);
    tf.dispose([x, labels, ref.embeddings, ref.labels, value, withQueue]);
  });

  it('labels are dataset indices into the assignments (a dataset of 50 instances)', () => {
    const rng = new Rng(5);
    const n = 10;
    const rows = randomRows(rng, 2 * n, 6);
    const plain = randomClusters(rng, [5, 8], 6, 50);
    const ids = rng.choice(50, n);
    const clusters = toTensors(plain);
    const x = tf.tensor2d(rows);
    const labels = int32([...ids, ...ids]);
    for (const form of ['paper', 'code'] as const) {
      const value = protoNceLoss({ form, ...clusters }).compute({ embeddings: x, labels });
      expectTensorClose(value, referenceProtoNce(rows, Array.from(ids), { tau: 0.2, form, clusters: plain }), FLOAT32_TOLERANCE);
      value.dispose();
    }
    disposeClusters(clusters);
    tf.dispose([x, labels]);
  });

  it.each([
    ['paper', 2],
    ['paper', 5],
    ['code', 1],
    ['code', 4],
    ['code', 30],
  ] as ['paper' | 'code', number][])('%s form with r = %i sampled negative prototypes equals the loops on the replayed draws', (form, r) => {
    const rng = new Rng(r * 13);
    const n = 8;
    const rows = randomRows(rng, 2 * n, 4);
    const plain = randomClusters(rng, [12, 7], 4, n);
    const clusters = toTensors(plain);
    const x = tf.tensor2d(rows);
    const labels = viewLabels(n);
    const value = protoNceLoss({ form, negativePrototypes: r, rng: new Rng(77), ...clusters }).compute({ embeddings: x, labels });
    const picks = replayPicks(plain, range(n), r, form, 77);
    expectTensorClose(value, referenceProtoNce(rows, range(n), { tau: 0.2, form, clusters: plain, ...picks }), FLOAT32_TOLERANCE);
    disposeClusters(clusters);
    tf.dispose([x, labels, value]);
  });

  it('r >= K - 1 (paper) or r >= K (code) is the same as all negatives', () => {
    const rng = new Rng(3);
    const rows = randomRows(rng, 8, 3);
    const plain = randomClusters(rng, [4], 3, 4);
    const clusters = toTensors(plain);
    const x = tf.tensor2d(rows);
    const labels = viewLabels(4);
    for (const [form, r] of [['paper', 3], ['code', 4]] as const) {
      const sampled = protoNceLoss({ form, negativePrototypes: r, ...clusters }).compute({ embeddings: x, labels });
      const all = protoNceLoss({ form, ...clusters }).compute({ embeddings: x, labels });
      expectTensorClose(sampled, scalarValue(all), FLOAT32_TOLERANCE);
      tf.dispose([sampled, all]);
    }
    disposeClusters(clusters);
    tf.dispose([x, labels]);
  });

  it.each([
    ['paper', 'all'],
    ['code', 'all'],
    ['paper', 3],
    ['code', 2],
  ] as ['paper' | 'code', 'all' | number][])('gradient (%s form, negatives %s) matches central differences, keys held fixed', (form, r) => {
    const rng = new Rng(41);
    const n = 6;
    const rows = randomRows(rng, 2 * n, 4);
    const plain = randomClusters(rng, [5, 9], 4, n);
    const queue = randomRows(rng, 5, 4);
    const clusters = toTensors(plain);
    const labels = viewLabels(n);
    const ref = { embeddings: tf.tensor2d(queue), labels: int32(range(5)) };
    const keys = rows.slice(n);
    for (const withQueue of [false, true]) {
      const picks = r === 'all' ? {} : replayPicks(plain, range(n), r, form, 8);
      const loss = protoNceLoss({ form, negativePrototypes: r, rng: new Rng(8), tauInstance: 0.3, ...clusters });
      const { analytic } = checkGradients(
        (e) => loss.compute(withQueue ? { embeddings: e, labels, ref } : { embeddings: e, labels }),
        (x) => referenceProtoNce(x, range(n), { tau: 0.3, form, clusters: plain, keys, ...picks, ...(withQueue ? { queue } : {}) }),
        rows,
      );
      expect(analytic.slice(n).flat().every((g) => g === 0)).toBe(true);
    }
    disposeClusters(clusters);
    tf.dispose([labels, ref.embeddings, ref.labels]);
  });
});

// ---------------------------------------------------------------------------------------------

describe('protoNceLoss: prototypes across E-steps', () => {
  const rng = new Rng(51);
  const rows = randomRows(rng, 12, 4);
  const first = randomClusters(rng, [3, 5], 4, 6);
  const second = randomClusters(rng, [4], 4, 6);

  it('withPrototypes rebuilds the loss for the next E-step; undefined gives the instance term (warm-up)', () => {
    const x = tf.tensor2d(rows);
    const labels = viewLabels(6);
    const [a, b] = [toTensors(first), toTensors(second)];
    const warmUp = protoNceLoss({ tauInstance: 0.1, form: 'code' });
    const epoch1 = warmUp.withPrototypes(a);
    const epoch2 = epoch1.withPrototypes(b);
    const back = epoch2.withPrototypes(undefined);
    const values = [warmUp, epoch1, epoch2, back].map((loss) => loss.compute({ embeddings: x, labels }));
    expectTensorClose(values[0]!, referenceProtoNce(rows, range(6), { tau: 0.1, form: 'code' }), FLOAT32_TOLERANCE);
    expectTensorClose(values[1]!, referenceProtoNce(rows, range(6), { tau: 0.1, form: 'code', clusters: first }), FLOAT32_TOLERANCE);
    expectTensorClose(values[2]!, referenceProtoNce(rows, range(6), { tau: 0.1, form: 'code', clusters: second }), FLOAT32_TOLERANCE);
    expectTensorClose(values[3]!, scalarValue(values[0]!), FLOAT32_TOLERANCE);
    expect(epoch2.name).toBe('protoNceLoss');
    disposeClusters(a);
    disposeClusters(b);
    tf.dispose([x, labels, ...values]);
  });

  it('withPrototypes validates like the factory', () => {
    const a = toTensors(first);
    const loss = protoNceLoss();
    expectContrastiveError(
      () => loss.withPrototypes({ ...a, concentrations: [a.concentrations[0]!] }),
      'INVALID_ARGUMENT',
      /Argument 'concentrations' passed to 'protoNceLoss' must have 2 entries \(one per granularity of 'prototypes'\), got 1/,
    );
    disposeClusters(a);
  });

  it('the prototypes receive no gradient and are neither disposed nor copied', () => {
    const x = tf.tensor2d(rows);
    const labels = viewLabels(6);
    const a = toTensors(first);
    const before = tf.memory().numTensors;
    const loss = protoNceLoss(a);
    expect(tf.memory().numTensors).toBe(before);
    const gradient = tf.grad((centres: tf.Tensor) =>
      protoNceLoss({ ...a, prototypes: [centres as tf.Tensor2D, a.prototypes[1]!] }).compute({ embeddings: x, labels }),
    )(a.prototypes[0]!);
    expect(Array.from(gradient.dataSync()).every((g) => g === 0)).toBe(true);
    loss.compute({ embeddings: x, labels }).dispose();
    expect([...a.prototypes, ...a.concentrations, ...a.assignments].some((t) => t.isDisposed)).toBe(false);
    disposeClusters(a);
    tf.dispose([x, labels, gradient]);
  });
});

// ---------------------------------------------------------------------------------------------

describe('protoNceLoss: edge cases', () => {
  function run(rows: Rows, plain: PlainClusters | undefined, options: ProtoNceLossOptions = {}): { value: number; grad: number[]; finite: boolean } {
    const clusters = plain === undefined ? undefined : toTensors(plain);
    const x = tf.tensor2d(rows);
    const labels = viewLabels(rows.length / 2);
    const loss = protoNceLoss({ ...options, ...clusters });
    const result = tf.valueAndGrad((e: tf.Tensor) => loss.compute({ embeddings: e as tf.Tensor2D, labels }))(x);
    const out = { value: scalarValue(result.value), grad: Array.from(result.grad.dataSync()), finite: allFinite(result.value) && allFinite(result.grad) };
    if (clusters !== undefined) disposeClusters(clusters);
    tf.dispose([x, labels, result.value, result.grad]);
    return out;
  }
  const twoPrototypes: PlainClusters = { prototypes: [[[1, 0], [0, 1]]], phi: [[0.2, 0.3]], assignments: [[0]] };

  it('a batch of one sample: the instance term is 0, the prototype term remains', () => {
    const rows = [[0.6, 0.8], [1, 0]];
    const single = run(rows, undefined);
    expect(single.value).toBeCloseTo(0, 6);
    expect(single.grad.every((g) => Math.abs(g) < 1e-7)).toBe(true);
    const withPrototypes = run(rows, twoPrototypes);
    expect(withPrototypes.value).toBeCloseTo(referenceProtoNce(rows, [0], { tau: 0.2, form: 'paper', clusters: twoPrototypes }), 5);
  });

  it('a granularity with a single prototype (tf.oneHot rejects depth 1): exact, both forms', () => {
    const rows = [[0.6, 0.8], [1, -0.5], [0.2, 0.9], [-0.3, 1]];
    const plain: PlainClusters = { prototypes: [[[1, 0], [0, 1]], [[0.6, -0.8]]], phi: [[0.2, 0.3], [0.4]], assignments: [[0, 1], [0, 0]] };
    for (const form of ['paper', 'code'] as const) {
      const result = run(rows, plain, { form });
      expect(result.finite).toBe(true);
      expect(result.value).toBeCloseTo(referenceProtoNce(rows, [0, 1], { tau: 0.2, form, clusters: plain }), 5);
    }
  });

  it('identical and zero vectors: finite, log N + log K for zero vectors', () => {
    const plain: PlainClusters = { prototypes: [[[1, 0, 0], [0, 1, 0], [0, 0, 1]]], phi: [[0.2, 0.3, 0.1]], assignments: [[0, 1, 2, 0]] };
    const identical = run(Array.from({ length: 8 }, () => [0.2, -1.5, 0.7]), plain, { form: 'code' });
    expect(identical.finite).toBe(true);
    expect(identical.value).toBeCloseTo(referenceProtoNce(Array.from({ length: 8 }, () => [0.2, -1.5, 0.7]), range(4), { tau: 0.2, form: 'code', clusters: plain }), 4);
    const zeros = run(Array.from({ length: 8 }, () => [0, 0, 0]), plain);
    expect(zeros.finite).toBe(true);
    expect(zeros.value).toBeCloseTo(Math.log(4) + Math.log(3), 5);
  });

  it('τ = 0.01, concentrations of 0.01 and embeddings scaled by 1e4: finite and exact', () => {
    const rng = new Rng(61);
    const rows = randomRows(rng, 16, 8, 1e4);
    const plain = randomClusters(rng, [5, 12], 8, 8);
    plain.phi = plain.phi.map((values) => values.map(() => 0.01));
    for (const form of ['paper', 'code'] as const) {
      const { value, finite } = run(rows, plain, { tauInstance: 0.01, form });
      expect(finite).toBe(true);
      const expected = referenceProtoNce(rows, range(8), { tau: 0.01, form, clusters: plain });
      expect(Math.abs(value - expected)).toBeLessThan(LOOSE_TOLERANCE.atol + LOOSE_TOLERANCE.rtol * expected);
    }
  });
});

// ---------------------------------------------------------------------------------------------

describe('protoNceLoss: training and resources', () => {
  it('leaks no tensor on any path, forward or backward', async () => {
    const rng = new Rng(71);
    const x = tf.tensor2d(randomRows(rng, 8, 4));
    const labels = viewLabels(4);
    const clusters = toTensors(randomClusters(rng, [3, 6], 4, 4));
    const ref = { embeddings: tf.tensor2d(randomRows(rng, 5, 4)), labels: int32(range(5)) };
    const losses = [
      protoNceLoss(),
      protoNceLoss(clusters),
      protoNceLoss({ form: 'code', ...clusters }),
      protoNceLoss({ negativePrototypes: 2, ...clusters }),
      protoNceLoss({ form: 'code', negativePrototypes: 2, ...clusters }),
    ];
    const inputs: LossInput[] = [{ embeddings: x, labels }, { embeddings: x, labels, ref }];
    for (const loss of losses) for (const input of inputs) loss.compute(input).dispose(); // warm-up
    await expectNoLeak(() => {
      for (const loss of losses) {
        for (const input of inputs) {
          loss.compute(input).dispose();
          const { value, grad } = tf.valueAndGrad((e: tf.Tensor) => loss.compute({ ...input, embeddings: e as tf.Tensor2D }))(x);
          tf.dispose([value, grad]);
        }
      }
    });
    expect(x.isDisposed || labels.isDisposed || ref.embeddings.isDisposed).toBe(false);
    disposeClusters(clusters);
    tf.dispose([x, labels, ref.embeddings, ref.labels]);
  });

  it('trains under optimizer.minimize: the loss falls, no tensor growth', () => {
    const rng = new Rng(81);
    const n = 8;
    const variable = tf.variable(tf.tensor2d(randomRows(rng, 2 * n, 6)));
    const labels = viewLabels(n);
    const clusters = toTensors(randomClusters(rng, [4, 8], 6, n));
    const loss = protoNceLoss({ form: 'code', negativePrototypes: 3, ...clusters });
    const optimizer = tf.train.sgd(0.5);
    const step = (): number => {
      const cost = optimizer.minimize(() => loss.compute({ embeddings: variable, labels }), true, [variable]);
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
    optimizer.dispose();
    disposeClusters(clusters);
    tf.dispose([variable, labels]);
  });
});

// ---------------------------------------------------------------------------------------------

describe('protoNceLoss: errors', () => {
  it('rejects bad hyper-parameters in the factory', () => {
    for (const tauInstance of [0, -1, Number.NaN]) {
      expectContrastiveError(() => protoNceLoss({ tauInstance }), 'INVALID_ARGUMENT', /Argument 'tauInstance' passed to 'protoNceLoss' must be a finite number > 0, got/);
    }
    expectContrastiveError(() => protoNceLoss({ negativePrototypes: 0 }), 'INVALID_ARGUMENT', /Argument 'negativePrototypes' passed to 'protoNceLoss' must be an integer >= 1, got 0/);
    expectContrastiveError(() => protoNceLoss({ negativePrototypes: 1.5 }), 'INVALID_ARGUMENT', /Argument 'negativePrototypes' passed to 'protoNceLoss' must be an integer >= 1, got 1.5/);
    expectContrastiveError(() => protoNceLoss({ negativePrototypes: 'some' as 'all' }), 'INVALID_ARGUMENT', /Argument 'negativePrototypes' passed to 'protoNceLoss' must be one of "all", got "some"/);
    expectContrastiveError(() => protoNceLoss({ form: 'both' as 'paper' }), 'INVALID_ARGUMENT', /Argument 'form' passed to 'protoNceLoss' must be one of "paper", "code", got "both"/);
    expectContrastiveError(() => protoNceLoss({ rng: {} as Rng }), 'INVALID_ARGUMENT', /Argument 'rng' passed to 'protoNceLoss' must be an Rng, got object/);
  });

  it('rejects inconsistent prototypes, concentrations and assignments, naming the argument', () => {
    const good = toTensors({ prototypes: [[[1, 0], [0, 1]], [[1, 0]]], phi: [[0.2, 0.3], [0.5]], assignments: [[0, 1, 1], [0, 0, 0]] });
    const extras: tf.Tensor[] = [];
    const keep = <T extends tf.Tensor>(t: T): T => (extras.push(t), t);
    const cases: [() => unknown, Parameters<typeof expectContrastiveError>[1], RegExp][] = [
      [() => protoNceLoss({ prototypes: good.prototypes }), 'INVALID_ARGUMENT', /Arguments 'prototypes', 'concentrations' and 'assignments' passed to 'protoNceLoss' must be given together or not at all, got prototypes only/],
      [() => protoNceLoss({ ...good, prototypes: [] }), 'INVALID_ARGUMENT', /Argument 'prototypes' passed to 'protoNceLoss' must be a non-empty array of tensors \(one per granularity\), got an empty array/],
      [() => protoNceLoss({ ...good, assignments: [good.assignments[0]!] }), 'INVALID_ARGUMENT', /Argument 'assignments' passed to 'protoNceLoss' must have 2 entries/],
      [() => protoNceLoss({ ...good, prototypes: [good.prototypes[0]!, keep(tf.tensor1d([1, 0])) as unknown as tf.Tensor2D] }), 'SHAPE_MISMATCH', /Argument 'prototypes\[1\]' passed to 'protoNceLoss' must be rank 2, got rank 1/],
      [() => protoNceLoss({ ...good, prototypes: [good.prototypes[0]!, keep(tf.tensor2d([[1, 0, 0]]))] }), 'SHAPE_MISMATCH', /Argument 'prototypes\[1\]' passed to 'protoNceLoss' must have 2 columns/],
      [() => protoNceLoss({ ...good, concentrations: [keep(tf.tensor1d([0.2])), good.concentrations[1]!] }), 'SHAPE_MISMATCH', /Argument 'concentrations\[0\]' passed to 'protoNceLoss' must have 2 entries \(one per prototype\), got 1/],
      [() => protoNceLoss({ ...good, concentrations: [keep(tf.tensor1d([0.2, 0])), good.concentrations[1]!] }), 'INVALID_ARGUMENT', /Argument 'concentrations\[0\]' passed to 'protoNceLoss' must hold finite numbers > 0, got 0 at index 1/],
      [() => protoNceLoss({ ...good, concentrations: [good.concentrations[0]!, keep(tf.tensor1d([Number.NaN]))] }), 'INVALID_ARGUMENT', /Argument 'concentrations\[1\]' passed to 'protoNceLoss' must hold finite numbers > 0, got NaN at index 0/],
      [() => protoNceLoss({ ...good, assignments: [keep(tf.tensor1d([0, 1, 1])), good.assignments[1]!] }), 'DTYPE_MISMATCH', /Argument 'assignments\[0\]' passed to 'protoNceLoss' must have dtype int32, got float32/],
      [() => protoNceLoss({ ...good, assignments: [good.assignments[0]!, keep(int32([0, 0]))] }), 'SHAPE_MISMATCH', /Argument 'assignments\[1\]' passed to 'protoNceLoss' must have 3 entries \(one per instance, as 'assignments\[0\]'\), got 2/],
      [() => protoNceLoss({ ...good, assignments: [keep(int32([])), good.assignments[1]!] }), 'SHAPE_MISMATCH', /Argument 'assignments\[0\]' passed to 'protoNceLoss' must have at least 1 entry \(one per instance\), got 0/],
      [() => protoNceLoss({ ...good, assignments: [keep(int32([0, 2, 1])), good.assignments[1]!] }), 'INVALID_ARGUMENT', /Argument 'assignments\[0\]' passed to 'protoNceLoss' must hold cluster indices in \[0, 2\), got 2 at index 1/],
      [() => protoNceLoss({ ...good, assignments: [good.assignments[0]!, keep(int32([0, -1, 0]))] }), 'INVALID_ARGUMENT', /Argument 'assignments\[1\]' passed to 'protoNceLoss' must hold cluster indices in \[0, 1\), got -1 at index 1/],
    ];
    for (const [call, code, message] of cases) expectContrastiveError(call, code, message);
    disposeClusters(good);
    tf.dispose(extras);
  });

  it('rejects bad tensors in compute, naming the argument, and leaks nothing', () => {
    const clusters = toTensors({ prototypes: [[[1, 0, 0], [0, 1, 0]]], phi: [[0.2, 0.3]], assignments: [[0, 1, 1, 0]] });
    const loss = protoNceLoss(clusters);
    const x = tf.tensor2d(randomRows(new Rng(91), 4, 3));
    const labels = viewLabels(2);
    const cases: [() => unknown, Parameters<typeof expectContrastiveError>[1], RegExp][] = [
      [() => loss.compute({ embeddings: tf.zeros([3, 3]), labels: int32([0, 1, 2]) }), 'SHAPE_MISMATCH', /Argument 'embeddings' passed to 'protoNceLoss' must have an even number of rows \(queries in rows 0..N-1, keys in rows N..2N-1\), got 3/],
      [() => loss.compute({ embeddings: tf.zeros([4, 2]), labels }), 'SHAPE_MISMATCH', /Argument 'prototypes\[0\]' passed to 'protoNceLoss' must have 2 columns \(the embeddings' dimension\), got 3/],
      [() => loss.compute({ embeddings: x, labels: int32([0, 1]) }), 'LABEL_COUNT', /Argument 'labels' passed to 'protoNceLoss' must have 4 entries \(one per embedding\), got 2/],
      [() => loss.compute({ embeddings: x, labels: tf.tensor1d([0, 1, 0, 1]) }), 'DTYPE_MISMATCH', /Argument 'labels' passed to 'protoNceLoss' must have dtype int32, got float32/],
      [() => loss.compute({ embeddings: x, labels, ref: { embeddings: tf.zeros([5, 4]), labels: int32(range(5)) } }), 'SHAPE_MISMATCH', /Argument 'ref.embeddings' passed to 'protoNceLoss' must have 3 columns/],
      [() => loss.compute({ embeddings: x, labels, ref: { embeddings: tf.zeros([5, 3]), labels: int32([0]) } }), 'LABEL_COUNT', /Argument 'ref.labels' passed to 'protoNceLoss' must have 5 entries/],
      [
        () => loss.compute({ embeddings: x, labels, tuples: { kind: 'pairs', anchorPos: int32([0]), positive: int32([2]), anchorNeg: int32([0]), negative: int32([1]) } as PairTuples }),
        'INVALID_ARGUMENT',
        /Argument 'tuples' passed to 'protoNceLoss' must be undefined/,
      ],
      [() => loss.compute(null as unknown as LossInput), 'INVALID_ARGUMENT', /Argument 'input' passed to 'protoNceLoss.compute'/],
    ];
    for (const [call, code, message] of cases) {
      const before = tf.memory().numTensors;
      expectContrastiveError(() => tf.tidy(() => void call()), code, message);
      expect(tf.memory().numTensors).toBe(before);
    }
    const disposed = tf.tensor2d([[1, 2, 3], [4, 5, 6]]);
    disposed.dispose();
    const one = viewLabels(1);
    expectContrastiveError(() => loss.compute({ embeddings: disposed, labels: one }), 'DISPOSED', /Argument 'embeddings' passed to 'protoNceLoss' has been disposed/);
    disposeClusters(clusters);
    tf.dispose([x, labels, one]);
  });
});

it('runs on the selected test backend', () => {
  expect(tf.getBackend()).toBe(backend);
});
