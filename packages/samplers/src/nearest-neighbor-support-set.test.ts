import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@contrastive/core';
import { expectContrastiveError, expectNoLeak, expectTensorClose, useTestBackend } from '@contrastive/core/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { NearestNeighborSupportSet } from './nearest-neighbor-support-set.js';

beforeAll(async () => {
  await useTestBackend();
});

type Rows = number[][];

function normalize(row: number[]): number[] {
  const norm = Math.hypot(...row);
  return row.map((value) => value / Math.max(norm, 1e-12));
}

/** Float64 brute force: for each query, the support row of largest cosine similarity (first on ties). */
function referenceNearest(queries: Rows, support: Rows): Rows {
  return queries.map((query) => {
    const q = normalize(query);
    let best = -1;
    let bestSimilarity = -Infinity;
    support.forEach((entry, j) => {
      const e = normalize(entry);
      const similarity = q.reduce((sum, value, k) => sum + value * e[k]!, 0);
      if (similarity > bestSimilarity) {
        bestSimilarity = similarity;
        best = j;
      }
    });
    return normalize(support[best]!);
  });
}

function randomRows(rng: Rng, n: number, dim: number): Rows {
  return Array.from({ length: n }, () => Array.from({ length: dim }, () => rng.normal()));
}

function expectRowsClose(rows: Rows, expected: Rows): void {
  const actual = tf.tensor2d(rows);
  try {
    expectTensorClose(actual, expected);
  } finally {
    actual.dispose();
  }
}

function nearestRows(support: NearestNeighborSupportSet, rows: Rows, update = false): Rows {
  return tf.tidy(() => support.nearest(tf.tensor2d(rows), { update }).arraySync());
}

describe('NearestNeighborSupportSet', () => {
  it('returns the nearest entry by cosine similarity, then enqueues the queries (lookup before update), across wrap-around', () => {
    const size = 7;
    const support = new NearestNeighborSupportSet({ size, dim: 4, initialize: 'empty' });
    const rng = new Rng(2);
    const stored: Rows = [];
    let head = 0;
    for (let step = 0; step < 6; step++) {
      const queries = randomRows(rng, 3, 4);
      const got = nearestRows(support, queries, true);
      const expected = stored.length === 0 ? queries.map(normalize) : referenceNearest(queries, stored);
      expectRowsClose(got, expected);
      for (const query of queries) {
        stored[head] = normalize(query);
        head = (head + 1) % size;
      }
      expect(support.queue.length).toBe(stored.length);
    }
    // Without update the support set is unchanged.
    const queries = randomRows(rng, 5, 4);
    expectRowsClose(nearestRows(support, queries), referenceNearest(queries, stored));
    expect(support.queue.pointer).toBe(head);
    support.dispose();
  });

  it('does not find a query itself when it updates (lightly: lookup, then update)', () => {
    const support = new NearestNeighborSupportSet({ size: 4, dim: 2, initialize: 'empty' });
    expect(nearestRows(support, [[3, 4]], true)).toEqual([[0.6000000238418579, 0.800000011920929]]);
    // [0, -2] is nearest to the only entry [0.6, 0.8] although it is then enqueued itself.
    expectRowsClose(nearestRows(support, [[0, -2]], true), [[0.6, 0.8]]);
    expectRowsClose(nearestRows(support, [[1, 1], [0, -5]]), [[0.6, 0.8], [0, -1]]);
    support.dispose();
  });

  it('breaks ties towards the first entry, as torch.argmax', () => {
    const support = new NearestNeighborSupportSet({ size: 3, dim: 2, initialize: 'empty' });
    tf.tidy(() => support.nearest(tf.tensor2d([[0.6, -0.8], [0.6, 0.8]]), { update: true }));
    expectRowsClose(nearestRows(support, [[1, 0]]), [[0.6, -0.8]]);
    support.dispose();
  });

  it("starts full of seeded random unit vectors by default (lightly's bank), with 65,536 entries", () => {
    const small = new NearestNeighborSupportSet({ size: 16, dim: 3, rng: new Rng(4) });
    expect(small.queue.length).toBe(16);
    const { embeddings, labels } = small.queue.reference();
    const entries = embeddings.arraySync();
    for (const row of entries) expect(Math.hypot(...row)).toBeCloseTo(1, 6);
    const queries = randomRows(new Rng(5), 4, 3);
    expectRowsClose(nearestRows(small, queries), referenceNearest(queries, entries));
    tf.dispose([embeddings, labels]);
    small.dispose();
    const full = new NearestNeighborSupportSet({ dim: 2 });
    expect([full.size, full.dim, full.queue.length]).toEqual([65536, 2, 65536]);
    full.dispose();
  });

  it('returns detached neighbours: no gradient flows through them', () => {
    const support = new NearestNeighborSupportSet({ size: 4, dim: 2, initialize: 'empty' });
    const x = tf.tensor2d([[1, 2], [3, -1]]);
    const grad = tf.grad((input: tf.Tensor) => {
      const neighbours = support.nearest(input as tf.Tensor2D, { update: true });
      const again = support.nearest(input as tf.Tensor2D);
      return tf.add(tf.sum(input), tf.add(tf.sum(tf.mul(neighbours, 5)), tf.sum(again))) as tf.Scalar;
    })(x);
    expectTensorClose(grad, [[1, 1], [1, 1]]);
    expect(support.queue.length).toBe(2);
    tf.dispose([x, grad]);
    support.dispose();
  });

  it('leaks no tensor over 1,000 lookups with updates, and round-trips its state', async () => {
    const support = new NearestNeighborSupportSet({ size: 50, dim: 8, rng: new Rng(0) });
    const queries = tf.randomNormal([16, 8]) as tf.Tensor2D;
    await expectNoLeak(() => {
      for (let i = 0; i < 1000; i++) support.nearest(queries, { update: i % 2 === 0 }).dispose();
    });
    const state = support.state();
    const restored = new NearestNeighborSupportSet({ size: 50, dim: 8, initialize: 'empty' });
    restored.load(state);
    tf.dispose(state);
    const a = support.nearest(queries);
    const b = restored.nearest(queries);
    expectTensorClose(b, a, { atol: 0, rtol: 0 });
    expect(restored.queue.pointer).toBe(support.queue.pointer);
    tf.dispose([queries, a, b]);
    support.dispose();
    restored.dispose();
  });

  it('rejects bad options and queries with named errors', () => {
    expectContrastiveError(() => new NearestNeighborSupportSet({ dim: 0 }), 'INVALID_ARGUMENT', /'dim' passed to 'NearestNeighborSupportSet' must be an integer >= 1, got 0/);
    expectContrastiveError(() => new NearestNeighborSupportSet({ size: -1, dim: 2 }), 'INVALID_ARGUMENT', /'size' .* got -1/);
    expectContrastiveError(
      () => new NearestNeighborSupportSet({ dim: 2, initialize: 'zeros' as never }),
      'INVALID_ARGUMENT',
      /'initialize' .* must be one of "random", "empty"/,
    );
    const support = new NearestNeighborSupportSet({ size: 4, dim: 2, initialize: 'empty' });
    const wide = tf.zeros([1, 3]) as tf.Tensor2D;
    expectContrastiveError(() => support.nearest(wide), 'SHAPE_MISMATCH', /'embeddings' passed to 'NearestNeighborSupportSet.nearest' must have 2 columns \(the support set's dim\), got 3/);
    const ok = tf.ones([1, 2]) as tf.Tensor2D;
    expectContrastiveError(() => support.nearest(ok, { update: 1 as never }), 'INVALID_ARGUMENT', /'update' .* must be one of true, false, got 1/);
    const ints = tf.ones([1, 2], 'int32') as tf.Tensor2D;
    expectContrastiveError(() => support.nearest(ints), 'DTYPE_MISMATCH', /'embeddings' .* float32/);
    expect(support.queue.length).toBe(0);
    support.dispose();
    expectContrastiveError(() => support.nearest(ok), 'STATE', /'NearestNeighborSupportSet.nearest' was called after dispose\(\)/);
    tf.dispose([wide, ok, ints]);
  });
});
