import { ContrastiveError, assertEmbeddings, assertNumber, assertOneOf, type Embeddings } from '@contrastive/core';
import { isNode } from './exact-search.js';
import { assertFiniteTensor } from './split.js';

/**
 * What an {@link AnnIndex} ranks by — the same three choices as `retrievalMetrics`' `distance`:
 * smallest Euclidean distance, largest cosine similarity, largest dot product.
 * @category Retrieval
 */
export type AnnDistance = 'euclidean' | 'cosine' | 'dot';

/**
 * An approximate-nearest-neighbour index over a reference set, the interface `retrievalMetrics`
 * (`engine: 'ann'`) searches through. Build one with {@link hnswIndex}, or wrap any other engine.
 * @category Retrieval
 */
export interface AnnIndex {
  /** Reference rows indexed, `m`; row `j` of the reference is id `j`. */
  readonly size: number;
  /** Embedding dimension `d`. */
  readonly dimension: number;
  /** How the index ranks. */
  readonly distance: AnnDistance;
  /**
   * The `k` nearest references of each query.
   * @param queries - `rows · dimension` floats, row-major.
   * @param rows - query rows.
   * @param k - neighbours per query (`1 <= k <= size`).
   * @returns `[rows, k]` reference ids, best first; `-1` where the index found fewer than `k`.
   */
  search(queries: Float32Array, rows: number, k: number): Promise<Int32Array>;
  /** Frees the index. */
  dispose(): void;
}

/**
 * Options of {@link hnswIndex}: the HNSW parameters of Malkov & Yashunin.
 * @category Retrieval
 */
export interface HnswIndexOptions {
  /** @defaultValue 'euclidean' */
  readonly distance?: AnnDistance;
  /** Graph degree `M`. @defaultValue 16 */
  readonly m?: number;
  /** Candidate list while building. @defaultValue 200 */
  readonly efConstruction?: number;
  /** Candidate list while searching (raised to `k` when smaller). @defaultValue 200 */
  readonly ef?: number;
  /** Seed of the level draws (the build is deterministic for a seed). @defaultValue 100 */
  readonly seed?: number;
}

interface HnswModule {
  HierarchicalNSW: new (space: 'l2' | 'ip' | 'cosine', dimension: number) => HnswNative;
}
interface HnswNative {
  initIndex(maxElements: number, m?: number, efConstruction?: number, randomSeed?: number): void;
  addPoint(point: number[], label: number): void;
  setEf(ef: number): void;
  searchKnn(point: number[], k: number): { distances: number[]; neighbors: number[] };
}

const FN = 'hnswIndex';

async function loadHnswlib(): Promise<HnswModule> {
  if (!isNode()) {
    throw new ContrastiveError('BACKEND', `'${FN}' needs the Node.js package hnswlib-node, which does not run in a browser`);
  }
  try {
    const loaded = (await import(/* @vite-ignore */ 'hnswlib-node')) as HnswModule & { default?: HnswModule };
    return loaded.HierarchicalNSW ? loaded : (loaded.default as HnswModule);
  } catch (error) {
    throw new ContrastiveError(
      'BACKEND',
      `'${FN}' needs the optional dependency hnswlib-node (a native addon built by node-gyp at install), which did not load: ${(error as Error).message}`,
    );
  }
}

/**
 * An HNSW approximate-nearest-neighbour index (Malkov & Yashunin 2018, "Efficient and robust
 * approximate nearest neighbor search using Hierarchical Navigable Small World graphs") over the
 * rows of `reference`, by the hnswlib library through the optional Node.js package `hnswlib-node`
 * (chosen over LanceDB's IVF-PQ by measurement: see the package README). For reference sets past
 * what the exact kernel of `retrievalMetrics` holds (about 8 million x 128 in the 4 GiB of a
 * WebAssembly memory), or when exact search is too slow.
 *
 * Euclidean ranks by hnswlib's `l2` space (squared distance), cosine by its `cosine` space
 * (normalized rows), dot by `ip`. Ties and near-ties come back in the graph's order.
 *
 * @param reference - `[m, d]` float32 reference (borrowed: never disposed or modified).
 * @param options - `distance`, `m`, `efConstruction`, `ef`, `seed`; see {@link HnswIndexOptions}.
 * @returns a promise of an {@link AnnIndex}; call `dispose()` when done.
 * @throws `ContrastiveError` `SHAPE_MISMATCH` / `DTYPE_MISMATCH` / `NON_FINITE` (bad reference),
 *   `INVALID_ARGUMENT` (bad option), `BACKEND` (hnswlib-node is not installed, or in a browser).
 * @example
 * ```ts
 * const index = await hnswIndex(gallery, { distance: 'cosine' });
 * const result = await retrievalMetrics({ query, queryLabels, reference: gallery, referenceLabels, distance: 'cosine', engine: 'ann', annIndex: index });
 * index.dispose();
 * ```
 * @category Retrieval
 */
export async function hnswIndex(reference: Embeddings, options: HnswIndexOptions = {}): Promise<AnnIndex> {
  if (options === null || typeof options !== 'object') {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'options' passed to '${FN}' must be an object, got ${String(options)}`);
  }
  assertEmbeddings(reference, 'reference', FN);
  const distance = options.distance ?? 'euclidean';
  assertOneOf(distance, ['euclidean', 'cosine', 'dot'] as const, 'distance', FN);
  const degree = options.m ?? 16;
  const efConstruction = options.efConstruction ?? 200;
  const ef = options.ef ?? 200;
  const seed = options.seed ?? 100;
  assertNumber(degree, 'm', FN, { integer: true, min: 2 });
  assertNumber(efConstruction, 'efConstruction', FN, { integer: true, min: 1 });
  assertNumber(ef, 'ef', FN, { integer: true, min: 1 });
  assertNumber(seed, 'seed', FN, { integer: true, min: 0 });
  await assertFiniteTensor(reference, 'reference', FN);
  const { HierarchicalNSW } = await loadHnswlib();
  const [m, d] = reference.shape;
  const rows = (await reference.data()) as Float32Array;
  const native: HnswNative | null = new HierarchicalNSW(distance === 'euclidean' ? 'l2' : distance === 'cosine' ? 'cosine' : 'ip', d);
  native.initIndex(m, degree, efConstruction, seed);
  for (let j = 0; j < m; j++) native.addPoint(Array.from(rows.subarray(j * d, (j + 1) * d)), j);
  let alive: HnswNative | null = native;
  return {
    size: m,
    dimension: d,
    distance,
    async search(queries: Float32Array, count: number, k: number): Promise<Int32Array> {
      if (alive === null) throw new ContrastiveError('DISPOSED', `The index built by '${FN}' was disposed`);
      assertNumber(k, 'k', 'AnnIndex.search', { integer: true, min: 1, max: m });
      assertNumber(count, 'rows', 'AnnIndex.search', { integer: true, min: 0 });
      if (queries.length !== count * d) {
        throw new ContrastiveError('SHAPE_MISMATCH', `Argument 'queries' passed to 'AnnIndex.search' must hold ${count} x ${d} floats, got ${queries.length}`);
      }
      alive.setEf(Math.max(ef, k));
      const out = new Int32Array(count * k).fill(-1);
      for (let i = 0; i < count; i++) {
        const { neighbors } = alive.searchKnn(Array.from(queries.subarray(i * d, (i + 1) * d)), k);
        for (let j = 0; j < neighbors.length && j < k; j++) out[i * k + j] = neighbors[j] as number;
      }
      return out;
    },
    dispose(): void {
      alive = null; // hnswlib-node frees the native index when the object is collected
    },
  };
}

/**
 * The `width` best references of every query through an {@link AnnIndex}, in chunks of query rows.
 * With `excludeSelf`, query row `i` asks for one more neighbour and drops id `i`.
 * @internal
 */
export async function annSearch(
  query: Embeddings,
  index: AnnIndex,
  options: { width: number; excludeSelf: boolean; chunkRows: number },
  onChunk: (chunk: { start: number; rows: number; width: number; indices: Int32Array }) => void,
): Promise<void> {
  const [q, d] = query.shape;
  const { width, excludeSelf, chunkRows } = options;
  const ask = Math.min(index.size, width + (excludeSelf ? 1 : 0));
  const all = (await query.data()) as Float32Array;
  for (let start = 0; start < q; start += chunkRows) {
    const rows = Math.min(chunkRows, q - start);
    const found = await index.search(all.subarray(start * d, (start + rows) * d), rows, ask);
    const indices = new Int32Array(rows * width).fill(-1);
    for (let r = 0; r < rows; r++) {
      let filled = 0;
      for (let j = 0; j < ask && filled < width; j++) {
        const id = found[r * ask + j] as number;
        if (id < 0 || (excludeSelf && id === start + r)) continue;
        indices[r * width + filled++] = id;
      }
    }
    onChunk({ start, rows, width, indices });
  }
}
