import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@contrastive/core';
import { expectNoLeak, useTestBackend } from '@contrastive/core/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { hnswIndex, type AnnIndex } from './ann.js';
import { kernelSearch } from './exact-search.js';
import { retrievalMetrics } from './retrieval.js';

beforeAll(async () => {
  await useTestBackend();
});

function gaussian(rng: Rng, n: number, d: number): tf.Tensor2D {
  return tf.tensor2d(Float32Array.from(rng.normalArray(n * d)), [n, d]);
}

async function exactTopK(query: tf.Tensor2D, reference: tf.Tensor2D, k: number, distance: 'euclidean' | 'cosine' | 'dot'): Promise<Int32Array> {
  const out = new Int32Array(query.shape[0] * k);
  await kernelSearch(query, reference, { width: k, distance, excludeSelf: false, threads: 1, caller: 'test' }, (chunk) => {
    out.set(chunk.indices, chunk.start * k);
  });
  return out;
}

describe('hnswIndex (hnswlib-node): recall against the exact kernel', () => {
  it.each(['euclidean', 'cosine', 'dot'] as const)('%s: recall@10 >= 0.98 on 4,000 x 32 unclustered Gaussians', async (distance) => {
    const rng = new Rng(11);
    const reference = gaussian(rng, 4000, 32);
    const query = gaussian(rng, 300, 32);
    const index = await hnswIndex(reference, { distance });
    expect([index.size, index.dimension, index.distance]).toEqual([4000, 32, distance]);
    const approx = await index.search((await query.data()) as Float32Array, 300, 10);
    const exact = await exactTopK(query, reference, 10, distance);
    let hits = 0;
    for (let i = 0; i < 300; i++) {
      const truth = new Set(exact.subarray(i * 10, i * 10 + 10));
      for (const id of approx.subarray(i * 10, i * 10 + 10)) if (truth.has(id)) hits++;
    }
    expect(hits / 3000).toBeGreaterThanOrEqual(0.98);
    index.dispose();
    tf.dispose([reference, query]);
  });

  it('is deterministic for a seed', async () => {
    const rng = new Rng(3);
    const reference = gaussian(rng, 800, 8);
    const rows = (await reference.data()) as Float32Array;
    const a = await hnswIndex(reference, { seed: 7, efConstruction: 40, ef: 20 });
    const b = await hnswIndex(reference, { seed: 7, efConstruction: 40, ef: 20 });
    expect(await a.search(rows.subarray(0, 80), 10, 5)).toEqual(await b.search(rows.subarray(0, 80), 10, 5));
    a.dispose();
    b.dispose();
    reference.dispose();
  });
});

describe("retrievalMetrics with engine 'ann'", () => {
  const rng = new Rng(21);
  const classes = 8;
  const centres = rng.normalArray(classes * 16).map((v) => 3 * v);
  const n = 1200;
  const labels = Array.from({ length: n }, (_, i) => i % classes);
  const rows = Float32Array.from({ length: n * 16 }, (_, t) => (centres[(labels[Math.floor(t / 16)] as number) * 16 + (t % 16)] as number) + (rng.normal() as number));

  it('self-retrieval metrics match the exact kernel within 0.01 and never retrieve the query itself', async () => {
    const query = tf.tensor2d(rows, [n, 16]);
    const queryLabels = tf.tensor1d(labels, 'int32');
    const exact = await retrievalMetrics({ query, queryLabels, engine: 'kernel', k: 10 });
    const approx = await retrievalMetrics({ query, queryLabels, engine: 'ann', k: 10 });
    for (const name of ['precisionAtOne', 'precisionAtK', 'recallAtK', 'meanAveragePrecision', 'meanReciprocalRank', 'ndcgAtK'] as const) {
      expect(Math.abs((approx[name] as number) - (exact[name] as number)), name).toBeLessThanOrEqual(0.01);
    }
    expect(approx.evaluatedQueries).toBe(n);
    tf.dispose([query, queryLabels]);
  });

  it('an exact AnnIndex wrapper gives exactly the kernel metrics; short lists (-1) end the ranking', async () => {
    const query = tf.tensor2d(rows, [n, 16]);
    const queryLabels = tf.tensor1d(labels, 'int32');
    const exactIndex = (limit: number): AnnIndex => ({
      size: n,
      dimension: 16,
      distance: 'euclidean',
      async search(queries, count, k) {
        const q = tf.tensor2d(queries, [count, 16]);
        const full = await exactTopK(q, query, k, 'euclidean');
        q.dispose();
        // Return only the first `limit` neighbours of each row, -1 after them.
        for (let i = 0; i < count; i++) full.fill(-1, i * k + Math.min(k, limit), (i + 1) * k);
        return full;
      },
      dispose() {},
    });
    const metrics = ['precisionAtOne', 'meanAveragePrecisionAtR', 'rPrecision'] as const;
    const kernel = await retrievalMetrics({ query, queryLabels, engine: 'kernel', metrics: [...metrics] });
    const wrapped = await retrievalMetrics({ query, queryLabels, annIndex: exactIndex(n), metrics: [...metrics] });
    expect(wrapped).toEqual(kernel);
    // With only 3 neighbours (self among them for most rows): P@1 still exact, MAP@R can only drop.
    const short = await retrievalMetrics({ query, queryLabels, annIndex: exactIndex(3), metrics: [...metrics] });
    expect(short.precisionAtOne).toBe(kernel.precisionAtOne);
    expect(short.meanAveragePrecisionAtR as number).toBeLessThan(kernel.meanAveragePrecisionAtR as number);
    tf.dispose([query, queryLabels]);
  });

  it('leaves no tensor behind', async () => {
    const query = tf.tensor2d(rows.subarray(0, 200 * 16), [200, 16]);
    const queryLabels = tf.tensor1d(labels.slice(0, 200), 'int32');
    await expectNoLeak(async () => {
      await retrievalMetrics({ query, queryLabels, engine: 'ann', k: 5 });
    });
    tf.dispose([query, queryLabels]);
  });
});

describe('hnswIndex and annIndex errors', () => {
  it('rejects bad options and references', async () => {
    const ok = tf.tensor2d([[0, 1], [1, 0]]);
    await expect(hnswIndex(ok, { distance: 'l1' as 'dot' })).rejects.toThrow(/Argument 'distance' passed to 'hnswIndex' must be one of/);
    await expect(hnswIndex(ok, { m: 1 })).rejects.toThrow(/Argument 'm' passed to 'hnswIndex'/);
    await expect(hnswIndex(ok, { ef: 0 })).rejects.toThrow(/Argument 'ef' passed to 'hnswIndex'/);
    await expect(hnswIndex(ok, null as unknown as object)).rejects.toThrow(/Argument 'options' passed to 'hnswIndex' must be an object/);
    const bad = tf.tensor2d([[0, NaN]]);
    await expect(hnswIndex(bad)).rejects.toThrow(/Argument 'reference' passed to 'hnswIndex' must hold finite values/);
    const vector = tf.tensor1d([1, 2]);
    await expect(hnswIndex(vector as unknown as tf.Tensor2D)).rejects.toThrow(/Argument 'reference' passed to 'hnswIndex' must be rank 2/);
    tf.dispose([ok, bad, vector]);
  });

  it('a disposed index, a wrong query length or k are refused', async () => {
    const reference = tf.tensor2d([[0, 1], [1, 0], [1, 1]]);
    const index = await hnswIndex(reference);
    await expect(index.search(new Float32Array(3), 1, 1)).rejects.toThrow(/Argument 'queries' passed to 'AnnIndex.search' must hold 1 x 2 floats, got 3/);
    await expect(index.search(new Float32Array(2), 1, 4)).rejects.toThrow(/Argument 'k' passed to 'AnnIndex.search'/);
    index.dispose();
    await expect(index.search(new Float32Array(2), 1, 1)).rejects.toThrow(/was disposed/);
    reference.dispose();
  });

  it('retrievalMetrics refuses an index over another set', async () => {
    const query = tf.tensor2d([[0, 1], [1, 0], [1, 1]]);
    const queryLabels = tf.tensor1d([0, 0, 1], 'int32');
    const other = tf.tensor2d([[0, 1], [1, 0]]);
    const index = await hnswIndex(other);
    await expect(retrievalMetrics({ query, queryLabels, annIndex: index })).rejects.toThrow(
      /Argument 'annIndex' passed to 'retrievalMetrics' must index the 3 x 2 reference by 'euclidean', got 2 x 2 by 'euclidean'/,
    );
    await expect(retrievalMetrics({ query, queryLabels, engine: 'nearest' as 'ann' })).rejects.toThrow(/must be one of "auto", "kernel", "tensor", "ann"/);
    index.dispose();
    tf.dispose([query, queryLabels, other]);
  });
});
