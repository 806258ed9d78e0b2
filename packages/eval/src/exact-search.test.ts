import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@contrastive/core';
import { expectNoLeak, useTestBackend } from '@contrastive/core/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { blockRowsFor, kernelMemoryBytes, kernelSearch, type RankedChunk, type SearchDistance } from './exact-search.js';
import { retrievalMetrics, searchRanked } from './retrieval.js';

beforeAll(async () => {
  await useTestBackend();
});

/** float32 rows as float64 numbers, so the reference ranks exactly what the kernel was given. */
function randomRows(rng: Rng, n: number, d: number): number[][] {
  return Array.from({ length: n }, () => Array.from(Float32Array.from(rng.normalArray(d))));
}

/** Float64 brute force: the `width` best references of each query (ties: lower index). */
function bruteForce(query: number[][], reference: number[][], width: number, distance: SearchDistance, excludeSelf: boolean): number[][] {
  const unit = (row: number[]): number[] => {
    const norm = Math.sqrt(row.reduce((s, v) => s + v * v, 0));
    return row.map((v) => v / Math.max(norm, 1e-12));
  };
  const q = distance === 'cosine' ? query.map(unit) : query;
  const r = distance === 'cosine' ? reference.map(unit) : reference;
  return q.map((row, i) => {
    const scored = r
      .map((other, index) => {
        let dot = 0;
        let sq = 0;
        for (let k = 0; k < row.length; k++) {
          dot += (row[k] as number) * (other[k] as number);
          sq += ((row[k] as number) - (other[k] as number)) ** 2;
        }
        return { index, value: distance === 'euclidean' ? -sq : dot };
      })
      .filter(({ index }) => !excludeSelf || index !== i);
    scored.sort((a, b) => b.value - a.value || a.index - b.index);
    return scored.slice(0, width).map(({ index }) => index);
  });
}

async function kernelRanks(
  query: number[][],
  reference: number[][] | undefined,
  width: number,
  distance: SearchDistance,
  threads: number,
  blockRows?: number,
): Promise<number[][]> {
  const q = tf.tensor2d(query);
  const r = reference === undefined ? q : tf.tensor2d(reference);
  const rows: number[][] = [];
  let expectedStart = 0;
  await kernelSearch(q, r, { width, distance, excludeSelf: reference === undefined, threads, caller: 'test', ...(blockRows === undefined ? {} : { blockRows }) }, (chunk: RankedChunk) => {
    expect(chunk.start).toBe(expectedStart);
    expectedStart += chunk.rows;
    expect(chunk.width).toBe(width);
    expect(chunk.indices.length).toBe(chunk.rows * width);
    for (let row = 0; row < chunk.rows; row++) rows.push(Array.from(chunk.indices.subarray(row * width, (row + 1) * width)));
  });
  expect(expectedStart).toBe(query.length);
  tf.dispose(reference === undefined ? [q] : [q, r]);
  return rows;
}

describe('kernelSearch: the exact kNN WebAssembly kernel against a float64 brute force', () => {
  const rng = new Rng(77);
  // Sizes that are not multiples of the 4 x 8 tile, odd and tiny dimensions.
  const shapes: [number, number, number][] = [
    [1, 1, 1],
    [3, 9, 1],
    [13, 37, 5],
    [29, 64, 16],
    [50, 103, 33],
  ];
  for (const distance of ['euclidean', 'cosine', 'dot'] as const) {
    for (const [q, m, d] of shapes) {
      it(`${distance}: ${q} queries x ${m} references x ${d} dims, several widths`, async () => {
        const query = randomRows(rng, q, d);
        const reference = randomRows(rng, m, d);
        for (const width of [...new Set([1, Math.min(3, m), m])]) {
          const got = await kernelRanks(query, reference, width, distance, 1);
          expect(got).toEqual(bruteForce(query, reference, width, distance, false));
        }
      });
    }
    it(`${distance}: self-search excludes each query's own row, up to the whole set`, async () => {
      const set = randomRows(rng, 45, 7);
      for (const width of [1, 5, 44]) {
        expect(await kernelRanks(set, undefined, width, distance, 1)).toEqual(bruteForce(set, set, width, distance, true));
      }
    });
  }

  it('equals the tensor engine (matMul + topk) on a larger set', async () => {
    const set = randomRows(rng, 300, 24);
    const q = tf.tensor2d(set);
    for (const distance of ['euclidean', 'cosine', 'dot'] as const) {
      const viaTensor: number[][] = [];
      await searchRanked(q, q, { width: 11, distance, chunkSize: 64 }, (chunk) => {
        for (let row = 0; row < chunk.rows; row++) {
          const i = chunk.start + row;
          viaTensor.push(Array.from(chunk.indices.subarray(row * 11, (row + 1) * 11)).filter((j) => j !== i).slice(0, 10));
        }
      });
      expect(await kernelRanks(set, undefined, 10, distance, 1)).toEqual(viaTensor);
    }
    q.dispose();
  });

  it('ties rank the lower reference index first, across tiles and heap replacements', async () => {
    // 20 copies of one point and 20 of another: every score ties within a group.
    const reference = Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? [1, 0] : [0, 1]));
    const got = await kernelRanks([[1, 0], [0, 1]], reference, 25, 'dot', 1);
    const evens = Array.from({ length: 20 }, (_, i) => 2 * i);
    const odds = evens.map((i) => i + 1);
    expect(got[0]).toEqual([...evens, ...odds.slice(0, 5)]);
    expect(got[1]).toEqual([...odds, ...evens.slice(0, 5)]);
  });

  it('the same bits for 1, 2 and 3 threads and any block size', async () => {
    const set = randomRows(rng, 203, 19);
    const reference = randomRows(rng, 517, 19);
    const one = await kernelRanks(set, reference, 9, 'euclidean', 1);
    expect(await kernelRanks(set, reference, 9, 'euclidean', 2)).toEqual(one);
    expect(await kernelRanks(set, reference, 9, 'euclidean', 3, 24)).toEqual(one);
    expect(await kernelRanks(set, reference, 9, 'euclidean', 1, 4)).toEqual(one);
    const selfOne = await kernelRanks(set, undefined, 6, 'cosine', 1, 8);
    expect(await kernelRanks(set, undefined, 6, 'cosine', 2, 16)).toEqual(selfOne);
    expect(selfOne).toEqual(bruteForce(set, set, 6, 'cosine', true));
  });

  it('leaves no tensor behind and never disposes its inputs', async () => {
    const q = tf.tensor2d(randomRows(rng, 20, 6));
    await expectNoLeak(async () => {
      await kernelSearch(q, q, { width: 3, distance: 'cosine', excludeSelf: true, threads: 2, caller: 'test' }, () => undefined);
    });
    expect(q.isDisposed).toBe(false);
    q.dispose();
  });
});

describe('kernel memory bound', () => {
  it('refuses a width beyond the references available', async () => {
    const q = tf.tensor2d([[1], [2], [3]]);
    await expect(kernelSearch(q, q, { width: 3, distance: 'dot', excludeSelf: true, threads: 1, caller: 'f' }, () => undefined)).rejects.toThrow(
      /Argument 'width' passed to 'f' must be an integer in \[1, 2\]/,
    );
    await expect(kernelSearch(q, q, { width: 0, distance: 'dot', excludeSelf: false, threads: 1, caller: 'f' }, () => undefined)).rejects.toThrow(
      /in \[1, 3\], got 0/,
    );
    q.dispose();
  });

  it('counts the packed reference, the staging rows, the block and its heaps', () => {
    // 1,000,000 x 128: 512 MB of packed reference dominates.
    const bytes = kernelMemoryBytes(1_000_000, 128, 1000, blockRowsFor(1_000_000, 1000, 2), 2);
    expect(bytes).toBeGreaterThan(512_000_000);
    expect(bytes).toBeLessThan(700_000_000);
    // Past the 4 GiB of a wasm32 memory: not representable.
    expect(kernelMemoryBytes(10_000_000, 128, 10, 1024, 1)).toBe(Number.POSITIVE_INFINITY);
  });

  it('blocks are whole groups of 4 rows per thread, capped by the query count and the heap budget', () => {
    expect(blockRowsFor(10, 5, 1)).toBe(12);
    expect(blockRowsFor(10, 5, 2)).toBe(16);
    expect(blockRowsFor(1_000_000, 1, 2)).toBe(8192);
    expect(blockRowsFor(1_000_000, 100_000, 1)).toBe(80);
    expect(blockRowsFor(100, 3, 3, 30)).toBe(24);
  });

  it('names the reference when the search cannot fit a WebAssembly memory', async () => {
    // A reference past 4 GiB is too costly to build in a test; a block whose heaps overflow the
    // memory takes the same path: 4 rows x 2^28 neighbours x 8 bytes = 8 GiB.
    // Only the shape is read before the check, so a stand-in avoids allocating a gigabyte.
    const q = { shape: [2 ** 28 + 1, 1] } as unknown as tf.Tensor2D;
    await expect(
      kernelSearch(q, q, { width: 2 ** 28, distance: 'dot', excludeSelf: true, threads: 1, blockRows: 4, caller: 'retrievalMetrics' }, () => undefined),
    ).rejects.toThrow(/Argument 'reference' passed to 'retrievalMetrics' is too large for the exact CPU search/);
  });
});

describe('retrievalMetrics: engines agree', () => {
  it('kernel (1 and 2 threads) and tensor give identical metrics on 400 labelled points', async () => {
    const rng = new Rng(5);
    const rows = randomRows(rng, 400, 16);
    const labels = Array.from({ length: 400 }, () => rng.int(7));
    const query = tf.tensor2d(rows);
    const queryLabels = tf.tensor1d(labels, 'int32');
    for (const distance of ['euclidean', 'cosine'] as const) {
      const tensor = await retrievalMetrics({ query, queryLabels, distance, engine: 'tensor' });
      const kernel = await retrievalMetrics({ query, queryLabels, distance, engine: 'kernel', threads: 1 });
      const threaded = await retrievalMetrics({ query, queryLabels, distance, engine: 'kernel', threads: 2 });
      expect(kernel).toEqual(tensor);
      expect(threaded).toEqual(kernel);
    }
    tf.dispose([query, queryLabels]);
  });
});
