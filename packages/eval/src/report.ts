import * as tf from '@tensorflow/tfjs-core';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { UMAP } from 'umap-js';
import { ContrastiveError, Rng, assertEmbeddings, assertLabels, assertNumber, assertOneOf, l2Normalize, type Embeddings } from '@contrastive/core';
import { jacobiEigen } from './eigen.js';
import { MAX_RANK_DIMENSION } from './health.js';
import { assertFiniteTensor } from './split.js';

/**
 * Training curves shown by {@link embeddingReport}: one value per recorded epoch.
 * @category Reports
 */
export interface EmbeddingReportHistory {
  /** Epoch numbers (x axis), finite. */
  readonly epochs: readonly number[];
  /** Training loss per epoch, finite, same length as `epochs`. */
  readonly loss: readonly number[];
  /** Further curves by name (e.g. `{ 'kNN top-1': [...] }`), each the length of `epochs`. @defaultValue none */
  readonly metrics?: Readonly<Record<string, readonly number[]>>;
}

/**
 * Input of {@link embeddingReport}.
 * @category Reports
 */
export interface EmbeddingReportInput {
  /** `[n, d]` float32 embeddings, finite (borrowed: never disposed or modified). */
  readonly embeddings: Embeddings;
  /** `[n]` int32 tensor or `n` integers: the class of each row (colours the map). @defaultValue none */
  readonly labels?: tf.Tensor1D | ArrayLike<number>;
  /** Display name of class `c` (`classNames[c]`); labels outside the array are shown as numbers. @defaultValue none */
  readonly classNames?: readonly string[];
  /** Training curves; without it the report has no training chart. @defaultValue none */
  readonly history?: EmbeddingReportHistory;
  /** Page title. @defaultValue 'Embedding report' */
  readonly title?: string;
  /** `k` nearest neighbours (cosine, self excluded) listed per query row; 0 drops the table. @defaultValue 5 */
  readonly neighbours?: number;
  /** Number of query rows of the neighbour table, spread evenly over the rows. @defaultValue 5 */
  readonly neighbourQueries?: number;
  /** Most rows fitted by the PCA and drawn on the map; more rows are subsampled without replacement. @defaultValue 2000 */
  readonly maxPoints?: number;
  /**
   * The 2-D map: `'pca'` (linear, scikit-learn's `PCA(n_components=2)`) or `'umap'` (McInnes et al.
   * 2018, by umap-js, seeded from `rng`; the PCA is still computed for the summary).
   * @defaultValue 'pca'
   */
  readonly map?: 'pca' | 'umap';
  /** UMAP parameters (umap-js / umap-learn names). @defaultValue `{ nNeighbors: 15, minDist: 0.1, nEpochs: 200 }` */
  readonly umap?: { readonly nNeighbors?: number; readonly minDist?: number; readonly nEpochs?: number };
  /** Random source of the subsample and of UMAP. @defaultValue `new Rng(0)` */
  readonly rng?: Rng;
}

/**
 * A 2-D PCA of a row-major float64 matrix.
 * @internal
 */
export interface Pca2 {
  /** `[m, 2]` row-major projections onto the two leading components. */
  readonly projection: Float64Array;
  /** The two leading components, `[2, d]` row-major, unit norm, largest-magnitude entry positive. */
  readonly components: Float64Array;
  /** Variance (divisor `m − 1`) along each component. */
  readonly explainedVariance: [number, number];
  /** Share of the total variance along each component (0 when the total is 0). */
  readonly explainedVarianceRatio: [number, number];
}

/**
 * Eigen-decomposition of a symmetric `[m, m]` float64 matrix (row-major, overwritten): the shared
 * Jacobi solver of `eigen.ts` with its eigenvectors, used for the small `d x d` covariance of the
 * report's PCA.
 *
 * @returns eigenvalues in descending order and the matching eigenvectors as the rows of a
 *   row-major `[m, m]` matrix.
 * @internal
 */
export function symmetricEigen(matrix: Float64Array, m: number): { values: Float64Array; vectors: Float64Array } {
  const { values, vectors } = jacobiEigen(matrix, m, true);
  return { values, vectors: vectors as Float64Array };
}

/**
 * PCA to two components of `[m, d]` row-major float64 data, as scikit-learn's
 * `PCA(n_components=2).fit_transform(x)`: centred, covariance with divisor `m − 1`, components
 * signed so that their largest-magnitude entry is positive (`svd_flip` with
 * `u_based_decision=False`, scikit-learn >= 1.5). Dimensions beyond `d` are padded with zero
 * components.
 * @internal
 */
export function pca2(x: Float64Array, m: number, d: number): Pca2 {
  const mean = new Float64Array(d);
  for (let i = 0; i < m; i++) for (let j = 0; j < d; j++) mean[j] = (mean[j] as number) + (x[i * d + j] as number);
  for (let j = 0; j < d; j++) mean[j] = (mean[j] as number) / m;
  const centred = new Float64Array(m * d);
  for (let i = 0; i < m * d; i++) centred[i] = (x[i] as number) - (mean[i % d] as number);
  const cov = new Float64Array(d * d);
  const divisor = Math.max(m - 1, 1);
  for (let i = 0; i < m; i++) {
    const offset = i * d;
    for (let a = 0; a < d; a++) {
      const value = centred[offset + a] as number;
      if (value === 0) continue;
      for (let b = a; b < d; b++) cov[a * d + b] = (cov[a * d + b] as number) + value * (centred[offset + b] as number);
    }
  }
  let totalVariance = 0;
  for (let a = 0; a < d; a++) {
    for (let b = a; b < d; b++) {
      const value = (cov[a * d + b] as number) / divisor;
      cov[a * d + b] = value;
      cov[b * d + a] = value;
    }
    totalVariance += cov[a * d + a] as number;
  }
  const { values, vectors } = symmetricEigen(cov, d);
  const components = new Float64Array(2 * d);
  const explainedVariance: [number, number] = [0, 0];
  for (let c = 0; c < Math.min(2, d); c++) {
    let best = 0;
    for (let k = 1; k < d; k++) if (Math.abs(vectors[c * d + k] as number) > Math.abs(vectors[c * d + best] as number)) best = k;
    const sign = (vectors[c * d + best] as number) < 0 ? -1 : 1;
    for (let k = 0; k < d; k++) components[c * d + k] = sign * (vectors[c * d + k] as number);
    explainedVariance[c] = Math.max(values[c] as number, 0);
  }
  const projection = new Float64Array(m * 2);
  for (let i = 0; i < m; i++) {
    for (let c = 0; c < 2; c++) {
      let dot = 0;
      for (let k = 0; k < d; k++) dot += (centred[i * d + k] as number) * (components[c * d + k] as number);
      projection[i * 2 + c] = dot;
    }
  }
  const ratio = (value: number): number => (totalVariance > 0 ? value / totalVariance : 0);
  return { projection, components, explainedVariance, explainedVarianceRatio: [ratio(explainedVariance[0]), ratio(explainedVariance[1])] };
}

/** Escape text for HTML element content and double-quoted attributes. @internal */
export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

function invalid(argument: string, fn: string, what: string, got: unknown): ContrastiveError {
  return new ContrastiveError('INVALID_ARGUMENT', `Argument '${argument}' passed to '${fn}' must be ${what}, got ${typeof got === 'string' ? JSON.stringify(got) : String(got)}`);
}

function assertFiniteSeries(values: unknown, length: number | undefined, argument: string, fn: string): number {
  if (!Array.isArray(values)) throw invalid(argument, fn, 'an array of numbers', values);
  if (length !== undefined && values.length !== length) {
    throw new ContrastiveError('SHAPE_MISMATCH', `Argument '${argument}' passed to '${fn}' must have ${length} entries (one per epoch), got ${values.length}`);
  }
  for (let i = 0; i < values.length; i++) {
    const value: unknown = values[i];
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw new ContrastiveError('NON_FINITE', `Argument '${argument}' passed to '${fn}' must hold finite numbers, got ${String(value)} at index ${i}`);
    }
  }
  return values.length;
}

function assertHistory(history: unknown, fn: string): asserts history is EmbeddingReportHistory {
  if (history === null || typeof history !== 'object') throw invalid('history', fn, 'an object { epochs, loss, metrics? }', history);
  const h = history as Partial<EmbeddingReportHistory>;
  const length = assertFiniteSeries(h.epochs, undefined, 'history.epochs', fn);
  if (length === 0) throw new ContrastiveError('SHAPE_MISMATCH', `Argument 'history.epochs' passed to '${fn}' must have at least 1 entry, got 0`);
  assertFiniteSeries(h.loss, length, 'history.loss', fn);
  if (h.metrics !== undefined) {
    if (h.metrics === null || typeof h.metrics !== 'object') throw invalid('history.metrics', fn, 'an object of number arrays', h.metrics);
    for (const [name, values] of Object.entries(h.metrics)) assertFiniteSeries(values, length, `history.metrics[${JSON.stringify(name)}]`, fn);
  }
}

async function readReportLabels(labels: tf.Tensor1D | ArrayLike<number>, n: number, fn: string): Promise<Int32Array> {
  if (labels instanceof tf.Tensor) {
    assertLabels(labels, n, 'labels', fn);
    return (await labels.data()) as Int32Array;
  }
  if (labels === null || typeof labels !== 'object' || typeof (labels as ArrayLike<number>).length !== 'number') {
    throw invalid('labels', fn, 'an int32 tensor or an array of integers', labels);
  }
  if (labels.length !== n) {
    throw new ContrastiveError('LABEL_COUNT', `Argument 'labels' passed to '${fn}' must have ${n} entries (one per embedding), got ${labels.length}`);
  }
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const value = labels[i];
    if (typeof value !== 'number' || !Number.isInteger(value) || Math.abs(value) > 2 ** 31 - 1) {
      throw invalid('labels', fn, `integers (entry ${i})`, value);
    }
    out[i] = value;
  }
  return out;
}

/**
 * Top-`k` cosine neighbours (self excluded, ties to the lower index) of the `queries` rows: a
 * `[q, chunkRows]` similarity block per reference chunk with its top `k + 1` on the device, merged
 * on the host.
 * @internal
 */
export async function cosineNeighbours(
  x: Embeddings,
  queries: readonly number[],
  k: number,
  chunkRows = Math.max(1, Math.floor(2 ** 20 / Math.max(1, x.shape[1]))),
): Promise<{ index: number; similarity: number }[][]> {
  const [n, d] = x.shape;
  const candidates: { index: number; similarity: number }[][] = queries.map(() => []);
  const queryUnit = tf.tidy(() => l2Normalize(tf.gather(x, tf.tensor1d(queries as number[], 'int32'))));
  try {
    for (let start = 0; start < n; start += chunkRows) {
      const rows = Math.min(chunkRows, n - start);
      const take = Math.min(k + 1, rows);
      const { values, indices } = tf.tidy(() => {
        const referenceT = tf.transpose(l2Normalize(tf.slice(x, [start, 0], [rows, d])));
        return tf.topk(tf.matMul(queryUnit, referenceT), take, true);
      });
      try {
        const [sims, idx] = await Promise.all([values.data(), indices.data()]);
        queries.forEach((query, q) => {
          const list = candidates[q] as { index: number; similarity: number }[];
          for (let t = 0; t < take; t++) {
            const index = start + (idx[q * take + t] as number);
            if (index !== query) list.push({ index, similarity: sims[q * take + t] as number });
          }
        });
      } finally {
        tf.dispose([values, indices]);
      }
    }
  } finally {
    queryUnit.dispose();
  }
  return candidates.map((list) => list.sort((a, b) => b.similarity - a.similarity || a.index - b.index).slice(0, k));
}

async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

function format(value: number, digits = 4): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(digits);
}

const STYLE = `body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;max-width:60rem;color:#222;padding:0 1rem}
h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:.9rem}th,td{border:1px solid #ddd;padding:.25rem .6rem;text-align:left}
th{background:#f5f5f5}td.num{text-align:right;font-variant-numeric:tabular-nums}figure{margin:0}`;

/**
 * A self-contained HTML page describing a set of embeddings: title, summary statistics, an SVG
 * line chart of the training loss and metric curves, an SVG map of the 2-D PCA projection (or,
 * with `map: 'umap'`, of a seeded UMAP — McInnes, Healy & Melville 2018 — by umap-js) coloured by label, and a nearest-neighbour table (cosine similarity, self excluded). The charts
 * are vega-lite specs rendered to SVG strings by vega (headless, no canvas); the page has no
 * external script, style or font and works offline. Isomorphic: returns a string — write it with
 * `fs` in Node or serve it as a download in a browser.
 *
 * Equivalents: the PCA is scikit-learn's `PCA(n_components=2).fit_transform` of the plotted rows
 * (components signed as `svd_flip(u_based_decision=False)`); the neighbours are
 * pytorch-metric-learning's `CustomKNN(CosineSimilarity())` with the query excluded. Memory: the
 * PCA reads only the (at most `maxPoints`) plotted rows to the host; the neighbour search scans
 * the references in chunks against the few query rows.
 *
 * @param input - see {@link EmbeddingReportInput}: `embeddings` `[n, d]` float32 (borrowed),
 *   optional `labels` `[n]`, `classNames`, `history`, `title`, `neighbours`, `neighbourQueries`,
 *   `maxPoints`, `rng`.
 * @returns the HTML page as a string: one `<svg>` for the training curves (when `history` is given)
 *   and one for the map, one point mark per plotted row.
 * @throws `ContrastiveError` (from `@contrastive/core`) `SHAPE_MISMATCH`/`DTYPE_MISMATCH` for bad
 *   embeddings or history lengths, `LABEL_COUNT` for labels of the wrong length, `NON_FINITE` for
 *   NaN/Infinity in embeddings or history, `INVALID_ARGUMENT` for other bad options (`d` above
 *   `MAX_RANK_DIMENSION` for the PCA).
 * @example
 * ```ts
 * const html = await embeddingReport({
 *   embeddings: tf.tensor2d([[1, 0], [0.9, 0.1], [0, 1], [0.1, 0.9]]),
 *   labels: [0, 0, 1, 1],
 *   classNames: ['cat', 'dog'],
 *   history: { epochs: [1, 2], loss: [1.2, 0.7] },
 * });
 * console.log(html.match(/<svg/g)?.length); // 2
 * ```
 * @category Reports
 */
export async function embeddingReport(input: EmbeddingReportInput): Promise<string> {
  const fn = 'embeddingReport';
  if (input === null || typeof input !== 'object') throw invalid('input', fn, 'an object { embeddings, labels?, ... }', input);
  const { embeddings, history, classNames } = input;
  assertEmbeddings(embeddings, 'embeddings', fn);
  const [n, d] = embeddings.shape;
  if (d > MAX_RANK_DIMENSION) {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'embeddings' passed to '${fn}' must have d <= ${MAX_RANK_DIMENSION} columns (the PCA's Jacobi solver is O(d^3)), got ${d}`);
  }
  const title = input.title ?? 'Embedding report';
  if (typeof title !== 'string') throw invalid('title', fn, 'a string', title);
  const k = input.neighbours ?? 5;
  assertNumber(k, 'neighbours', fn, { integer: true, min: 0 });
  const queryCount = input.neighbourQueries ?? 5;
  assertNumber(queryCount, 'neighbourQueries', fn, { integer: true, min: 1 });
  const maxPoints = input.maxPoints ?? 2000;
  assertNumber(maxPoints, 'maxPoints', fn, { integer: true, min: 2 });
  if (input.rng !== undefined && !(input.rng instanceof Rng)) throw invalid('rng', fn, 'an Rng', input.rng);
  const mapKind = input.map ?? 'pca';
  assertOneOf(mapKind, ['pca', 'umap'] as const, 'map', fn);
  const umapOptions = input.umap ?? {};
  if (umapOptions === null || typeof umapOptions !== 'object') throw invalid('umap', fn, 'an object { nNeighbors?, minDist?, nEpochs? }', umapOptions);
  const nNeighbors = umapOptions.nNeighbors ?? 15;
  const minDist = umapOptions.minDist ?? 0.1;
  const nEpochs = umapOptions.nEpochs ?? 200;
  assertNumber(nNeighbors, 'umap.nNeighbors', fn, { integer: true, min: 2 });
  assertNumber(minDist, 'umap.minDist', fn, { min: 0 });
  assertNumber(nEpochs, 'umap.nEpochs', fn, { integer: true, min: 1 });
  if (classNames !== undefined && (!Array.isArray(classNames) || classNames.some((name) => typeof name !== 'string'))) {
    throw invalid('classNames', fn, 'an array of strings', classNames);
  }
  if (history !== undefined) assertHistory(history, fn);
  const labels = input.labels === undefined ? undefined : await readReportLabels(input.labels, n, fn);
  await assertFiniteTensor(embeddings, 'embeddings', fn);

  const className = (label: number): string => classNames?.[label] ?? String(label);

  // Rows of the map: all, or a seeded subsample in row order.
  const rng = input.rng ?? new Rng(0);
  let rows: Int32Array;
  if (n > maxPoints) {
    rows = rng.choice(n, maxPoints).slice().sort();
  } else {
    rows = Int32Array.from({ length: n }, (_, i) => i);
  }
  const m = rows.length;
  const picked = tf.tidy(() => (m === n ? tf.clone(embeddings) : tf.gather(embeddings, tf.tensor1d(rows, 'int32'))));
  const meanNormTensor = tf.tidy(() => tf.mean(tf.sqrt(tf.sum(tf.square(embeddings), 1))));
  let hostRows: Float32Array;
  let meanNorm: number;
  try {
    hostRows = (await picked.data()) as Float32Array;
    meanNorm = (await meanNormTensor.data())[0] as number;
  } finally {
    tf.dispose([picked, meanNormTensor]);
  }
  const pca = pca2(Float64Array.from(hostRows), m, d);
  let coordinates: ArrayLike<number> = pca.projection;
  if (mapKind === 'umap') {
    if (m <= nNeighbors) {
      throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'umap.nNeighbors' passed to '${fn}' must be below the ${m} rows on the map, got ${nNeighbors}`);
    }
    const vectors = Array.from({ length: m }, (_, i) => Array.from(hostRows.subarray(i * d, (i + 1) * d)));
    const embedding = new UMAP({ nComponents: 2, nNeighbors, minDist, nEpochs, random: () => rng.uniform() }).fit(vectors);
    coordinates = Float64Array.from(embedding.flat());
  }
  const axis = (c: 0 | 1): string =>
    mapKind === 'umap' ? `UMAP ${c + 1}` : `PC${c + 1} (${(100 * pca.explainedVarianceRatio[c]).toFixed(1)}% var.)`;

  const points = Array.from(rows, (row, i) => ({
    row,
    pc1: coordinates[i * 2] as number,
    pc2: coordinates[i * 2 + 1] as number,
    ...(labels ? { label: className(labels[row] as number) } : {}),
  }));
  // Legend in class-index order, not alphabetical.
  const legendOrder = labels ? [...new Set([...new Set(labels)].sort((a, b) => a - b).map(className))] : [];
  const scatterSpec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    width: 480,
    height: 400,
    data: { values: points },
    mark: { type: 'point', filled: true, size: 30, opacity: 0.75 },
    encoding: {
      x: { field: 'pc1', type: 'quantitative', title: axis(0), scale: { zero: false } },
      y: { field: 'pc2', type: 'quantitative', title: axis(1), scale: { zero: false } },
      ...(labels ? { color: { field: 'label', type: 'nominal', title: 'label', scale: { domain: legendOrder } } } : {}),
    },
  };
  const scatterSvg = await renderSvg(scatterSpec);

  let historySvg: string | undefined;
  if (history !== undefined) {
    const values: { epoch: number; value: number; series: string; panel: string }[] = [];
    history.epochs.forEach((epoch, i) => values.push({ epoch, value: history.loss[i] as number, series: 'loss', panel: 'loss' }));
    const metricNames = Object.keys(history.metrics ?? {});
    for (const name of metricNames) {
      const series = (history.metrics as Record<string, readonly number[]>)[name] as readonly number[];
      history.epochs.forEach((epoch, i) => values.push({ epoch, value: series[i] as number, series: name, panel: 'metrics' }));
    }
    const panel = (which: 'loss' | 'metrics', yTitle: string) => ({
      width: 480,
      height: 200,
      transform: [{ filter: { field: 'panel', equal: which } }],
      mark: { type: 'line' as const },
      encoding: {
        x: { field: 'epoch', type: 'quantitative' as const, title: 'epoch' },
        y: { field: 'value', type: 'quantitative' as const, title: yTitle, scale: { zero: false } },
        color: { field: 'series', type: 'nominal' as const, title: 'curve' },
      },
    });
    const historySpec: TopLevelSpec = {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      data: { values },
      vconcat: metricNames.length > 0 ? [panel('loss', 'loss'), panel('metrics', 'metric')] : [panel('loss', 'loss')],
      resolve: { scale: { color: 'independent' } },
    };
    historySvg = await renderSvg(historySpec);
  }

  let neighbourTable = '';
  if (k > 0 && n > 1) {
    const kk = Math.min(k, n - 1);
    const q = Math.min(queryCount, n);
    const queries = Array.from({ length: q }, (_, i) => Math.floor((i * n) / q));
    const found = await cosineNeighbours(embeddings, queries, kk);
    const labelCell = (row: number): string => (labels ? `<td>${escapeHtml(className(labels[row] as number))}</td>` : '');
    const body = queries
      .map((query, qi) =>
        (found[qi] as { index: number; similarity: number }[])
          .map((hit, rank) => `<tr><td class="num">${query}</td>${labelCell(query)}<td class="num">${rank + 1}</td><td class="num">${hit.index}</td>${labelCell(hit.index)}<td class="num">${hit.similarity.toFixed(4)}</td></tr>`)
          .join('\n'),
      )
      .join('\n');
    const head = `<tr><th>query</th>${labels ? '<th>query label</th>' : ''}<th>rank</th><th>neighbour</th>${labels ? '<th>neighbour label</th>' : ''}<th>cosine</th></tr>`;
    neighbourTable = `<section id="neighbours"><h2>Nearest neighbours (cosine, k = ${kk})</h2>\n<table class="neighbours">\n${head}\n${body}\n</table></section>`;
  }

  const summary: [string, string][] = [
    ['embeddings', `${n} × ${d}`],
    ['mean L2 norm', format(meanNorm)],
    ['points on the map', m < n ? `${m} (seeded subsample of ${n})` : String(m)],
    ['PCA explained variance ratio', `${pca.explainedVarianceRatio[0].toFixed(4)}, ${pca.explainedVarianceRatio[1].toFixed(4)}`],
  ];
  if (labels) summary.push(['classes', String(new Set(labels).size)]);
  if (history !== undefined) summary.push(['final loss', format(history.loss[history.loss.length - 1] as number, 6)]);

  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>${escapeHtml(title)}</h1>
<section id="summary"><h2>Summary</h2>
<table class="summary">
${summary.map(([key, value]) => `<tr><th>${escapeHtml(key)}</th><td>${escapeHtml(value)}</td></tr>`).join('\n')}
</table></section>
${historySvg === undefined ? '' : `<section id="training"><h2>Training</h2>\n<figure class="chart">${historySvg}</figure></section>`}
<section id="map"><h2>${mapKind === 'umap' ? 'UMAP' : 'PCA'} map</h2>
<figure class="chart">${scatterSvg}</figure></section>
${neighbourTable}
</body>
</html>
`;
}
