import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng, isContrastiveError } from '@contrastive/core';
import { expectNoLeak, useTestBackend } from '@contrastive/core/testing';
import { cosineNeighbours, embeddingReport, escapeHtml, pca2, symmetricEigen } from './report.js';

beforeAll(async () => {
  await useTestBackend();
});

const count = (html: string, pattern: RegExp): number => html.match(pattern)?.length ?? 0;
const POINT = /aria-roledescription="point"/g;

/** Float64 reference PCA by power iteration with deflation on the covariance (plain loops). */
function referencePca(x: number[][]): number[][] {
  const m = x.length;
  const d = (x[0] as number[]).length;
  const mean = Array.from({ length: d }, (_, j) => x.reduce((s, row) => s + (row[j] as number), 0) / m);
  const c = x.map((row) => row.map((v, j) => v - (mean[j] as number)));
  const cov = Array.from({ length: d }, (_, a) =>
    Array.from({ length: d }, (_, b) => c.reduce((s, row) => s + (row[a] as number) * (row[b] as number), 0) / (m - 1)),
  );
  const components: number[][] = [];
  for (let comp = 0; comp < 2; comp++) {
    let v = Array.from({ length: d }, (_, j) => 1 + j * 0.37);
    for (let it = 0; it < 5000; it++) {
      const w = cov.map((row) => row.reduce((s, value, j) => s + value * (v[j] as number), 0));
      for (const prev of components) {
        const dot = w.reduce((s, value, j) => s + value * (prev[j] as number), 0);
        for (let j = 0; j < d; j++) w[j] = (w[j] as number) - dot * (prev[j] as number);
      }
      const norm = Math.hypot(...w);
      v = w.map((value) => value / norm);
    }
    components.push(v);
  }
  return c.map((row) => components.map((comp) => row.reduce((s, value, j) => s + value * (comp[j] as number), 0)));
}

describe('pca2 / symmetricEigen', () => {
  it('decomposes a symmetric matrix: A v = λ v, descending', () => {
    const a = [4, 1, 2, 1, 3, 0, 2, 0, 1];
    const { values, vectors } = symmetricEigen(Float64Array.from(a), 3);
    expect(values[0]).toBeGreaterThanOrEqual(values[1] as number);
    expect(values[1]).toBeGreaterThanOrEqual(values[2] as number);
    for (let r = 0; r < 3; r++) {
      for (let i = 0; i < 3; i++) {
        let av = 0;
        for (let j = 0; j < 3; j++) av += (a[i * 3 + j] as number) * (vectors[r * 3 + j] as number);
        expect(av).toBeCloseTo((values[r] as number) * (vectors[r * 3 + i] as number), 12);
      }
    }
    expect((values[0] as number) + (values[1] as number) + (values[2] as number)).toBeCloseTo(8, 12);
  });

  it('equals a float64 power-iteration reference up to the sign of each component', () => {
    const rng = new Rng(3);
    const x = Array.from({ length: 12 }, (_, i) => [rng.normal() * 3, rng.normal() * 2 + i * 0.1, rng.normal(), rng.normal() * 0.5]);
    const reference = referencePca(x);
    const { projection, explainedVarianceRatio, components } = pca2(Float64Array.from(x.flat()), 12, 4);
    for (let c = 0; c < 2; c++) {
      const sign = Math.sign(projection[c] as number) === Math.sign((reference[0] as number[])[c] as number) ? 1 : -1;
      for (let i = 0; i < 12; i++) expect(sign * (projection[i * 2 + c] as number)).toBeCloseTo((reference[i] as number[])[c] as number, 9);
      // scikit-learn's svd_flip: the largest-magnitude entry of each component is positive.
      const row = Array.from(components.slice(c * 4, c * 4 + 4));
      const largest = row.reduce((best, v) => (Math.abs(v) > Math.abs(best) ? v : best), 0);
      expect(largest).toBeGreaterThan(0);
    }
    expect(explainedVarianceRatio[0]).toBeGreaterThanOrEqual(explainedVarianceRatio[1]);
  });

  it('points on a line: one component explains everything', () => {
    const { projection, explainedVarianceRatio } = pca2(Float64Array.from([0, 0, 1, 1, 2, 2, 3, 3]), 4, 2);
    expect(explainedVarianceRatio[0]).toBeCloseTo(1, 12);
    expect(explainedVarianceRatio[1]).toBeCloseTo(0, 12);
    const expected = [-1.5, -0.5, 0.5, 1.5].map((t) => t * Math.SQRT2);
    for (let i = 0; i < 4; i++) expect(projection[i * 2]).toBeCloseTo(expected[i] as number, 12);
  });

  it('escapes HTML', () => {
    expect(escapeHtml(`<b>&"'`)).toBe('&lt;b&gt;&amp;&quot;&#39;');
  });
});

describe('embeddingReport', () => {
  const rng = new Rng(7);
  const n = 30;
  const data = Array.from({ length: n }, (_, i) => [rng.normal() + (i % 3) * 4, rng.normal(), rng.normal() - (i % 3)]);
  const labels = Array.from({ length: n }, (_, i) => i % 3);

  it('renders the training chart, the map with one mark per row, and the neighbour table', async () => {
    const x = tf.tensor2d(data);
    const html = await expectNoLeak(() =>
      embeddingReport({
        embeddings: x,
        labels,
        classNames: ['<b>', 'cat & dog', 'zebra'],
        title: 'Run <1> "final"',
        history: { epochs: [1, 2, 3], loss: [2, 1.5, 1.2], metrics: { 'kNN top-1': [0.3, 0.5, 0.7] } },
        neighbours: 3,
        neighbourQueries: 2,
      }),
    );
    x.dispose();
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(count(html, /<svg/g)).toBe(2);
    expect(count(html, POINT)).toBe(n);
    expect(html).toContain('<title>Run &lt;1&gt; &quot;final&quot;</title>');
    expect(html).toContain('&lt;b&gt;');
    expect(html).toContain('cat &amp; dog');
    expect(html).not.toMatch(/<b>/);
    expect(html).not.toMatch(/<script|<link|@import|url\(|src=/i);
    // Neighbour table: 2 queries x 3 neighbours.
    expect(count(html, /<tr><td class="num">/g)).toBe(6);
    expect(html).toContain('kNN top-1');
    // Legend in class-index order.
    expect(html).toContain("legend titled 'label' for fill color with 3 values: &lt;b&gt;, cat &amp; dog, zebra");
  });

  it('neighbours are the brute-force cosine top-k with self excluded', async () => {
    const x = tf.tensor2d(data);
    const html = await embeddingReport({ embeddings: x, neighbours: 4, neighbourQueries: 3 });
    x.dispose();
    const cos = (a: number[], b: number[]): number =>
      a.reduce((s, v, j) => s + v * (b[j] as number), 0) / (Math.hypot(...a) * Math.hypot(...b));
    const rowsHtml = html.match(/<tr><td class="num">(\d+)<\/td><td class="num">(\d+)<\/td><td class="num">(\d+)<\/td><td class="num">([-\d.]+)<\/td><\/tr>/g) ?? [];
    expect(rowsHtml.length).toBe(12);
    for (const query of [0, 10, 20]) {
      const expected = data
        .map((row, j) => ({ j, s: cos(data[query] as number[], row) }))
        .filter(({ j }) => j !== query)
        .sort((a, b) => b.s - a.s)
        .slice(0, 4);
      const got = rowsHtml
        .map((r) => r.match(/>([-\d.]+)</g)?.map((cell) => Number(cell.slice(1, -1))) as number[])
        .filter((cells) => cells[0] === query);
      expect(got.map((cells) => cells[2])).toEqual(expected.map(({ j }) => j));
      got.forEach((cells, i) => expect(cells[3]).toBeCloseTo((expected[i] as { s: number }).s, 3));
    }
  });

  it('chunked neighbour search equals the single-block search', async () => {
    const x = tf.tensor2d(data);
    const whole = await cosineNeighbours(x, [0, 7, 29], 6);
    const chunked = await expectNoLeak(() => cosineNeighbours(x, [0, 7, 29], 6, 4));
    x.dispose();
    expect(chunked.map((list) => list.map((hit) => hit.index))).toEqual(whole.map((list) => list.map((hit) => hit.index)));
    for (const [q, list] of chunked.entries()) expect(list.every((hit) => hit.index !== [0, 7, 29][q])).toBe(true);
  });

  it('without history there is no training chart; labels as an int32 tensor; subsampling is seeded', async () => {
    const x = tf.tensor2d(data);
    const t = tf.tensor1d(labels, 'int32');
    const a = await expectNoLeak(() => embeddingReport({ embeddings: x, labels: t, maxPoints: 10, rng: new Rng(1), neighbours: 0 }));
    const b = await embeddingReport({ embeddings: x, labels: t, maxPoints: 10, rng: new Rng(1), neighbours: 0 });
    tf.dispose([x, t]);
    expect(count(a, /<svg/g)).toBe(1);
    expect(a).not.toContain('id="training"');
    expect(a).not.toContain('id="neighbours"');
    expect(count(a, POINT)).toBe(10);
    expect(a).toContain('10 (seeded subsample of 30)');
    expect(a).toBe(b);
  });

  it('the map projection matches the float64 reference PCA', async () => {
    const small = data.slice(0, 8);
    const x = tf.tensor2d(small);
    const html = await embeddingReport({ embeddings: x, neighbours: 0 });
    x.dispose();
    const reference = referencePca(small.map((row) => row.map((v) => Math.fround(v))));
    // vega's aria-label of each point holds its encoded values (12 significant digits, U+2212 minus), in row order.
    const marks = [...html.matchAll(/aria-label="PC1 \([^)]*\): ([−\d.e+-]+); PC2 \([^)]*\): ([−\d.e+-]+)"/g)];
    expect(marks.length).toBe(8);
    const parse = (text: string): number => Number(text.replace('−', '-'));
    for (let c = 0; c < 2; c++) {
      const got = marks.map((mark) => parse(mark[c + 1] as string));
      const ref = reference.map((row) => row[c] as number);
      const sign = Math.sign(got[0] as number) === Math.sign(ref[0] as number) ? 1 : -1;
      got.forEach((value, i) => expect(sign * value).toBeCloseTo(ref[i] as number, 8));
    }
  });

  it("map: 'umap' draws every row, keeps separated classes apart, and is seeded by rng", async () => {
    // 3 classes of 20, far apart in 6-D: on the UMAP each class's points are nearer their own
    // centroid than any other class's centroid.
    const local = new Rng(5);
    const rows = Array.from({ length: 60 }, (_, i) => Array.from({ length: 6 }, (_, k) => local.normal() * 0.3 + (k === i % 3 ? 10 : 0)));
    const classes = rows.map((_, i) => i % 3);
    const x = tf.tensor2d(rows);
    const report = (seed: number): Promise<string> =>
      embeddingReport({ embeddings: x, labels: classes, map: 'umap', umap: { nNeighbors: 10, nEpochs: 150 }, rng: new Rng(seed), neighbours: 0 });
    const html = await expectNoLeak(() => report(1));
    expect(html).toContain('<h2>UMAP map</h2>');
    expect(count(html, POINT)).toBe(60);
    const marks = [...html.matchAll(/aria-label="UMAP 1: ([−\d.e+-]+); UMAP 2: ([−\d.e+-]+); label: (\d)"/g)];
    expect(marks.length).toBe(60);
    const parse = (text: string): number => Number(text.replace('−', '-'));
    const points = marks.map((mark) => ({ x: parse(mark[1] as string), y: parse(mark[2] as string), label: Number(mark[3]) }));
    const centroids = [0, 1, 2].map((c) => {
      const own = points.filter((p) => p.label === c);
      return { x: own.reduce((s, p) => s + p.x, 0) / own.length, y: own.reduce((s, p) => s + p.y, 0) / own.length };
    });
    for (const p of points) {
      const dist = centroids.map((c) => Math.hypot(p.x - c.x, p.y - c.y));
      expect(dist.indexOf(Math.min(...dist))).toBe(p.label);
    }
    expect(await report(1)).toBe(html);
    expect(await report(2)).not.toBe(html);
    x.dispose();
  });

  it("rejects bad map options", async () => {
    const x = tf.tensor2d([[1, 0], [0, 1], [1, 1]]);
    await expect(embeddingReport({ embeddings: x, map: 'tsne' as 'pca' })).rejects.toThrow(/Argument 'map' passed to 'embeddingReport' must be one of "pca", "umap"/);
    await expect(embeddingReport({ embeddings: x, map: 'umap', umap: { nNeighbors: 1 } })).rejects.toThrow(/Argument 'umap.nNeighbors' passed to 'embeddingReport'/);
    await expect(embeddingReport({ embeddings: x, map: 'umap' })).rejects.toThrow(/Argument 'umap.nNeighbors' passed to 'embeddingReport' must be below the 3 rows on the map, got 15/);
    await expect(embeddingReport({ embeddings: x, map: 'umap', umap: { minDist: -1 } })).rejects.toThrow(/Argument 'umap.minDist' passed to 'embeddingReport'/);
    x.dispose();
  });

  it('rejects bad input with messages naming the argument', async () => {
    const expectRejects = async (promise: Promise<unknown>, code: string, message: RegExp): Promise<void> => {
      let thrown: unknown;
      try {
        await promise;
      } catch (error) {
        thrown = error;
      }
      expect(isContrastiveError(thrown)).toBe(true);
      expect((thrown as { code: string }).code).toBe(code);
      expect((thrown as Error).message).toMatch(message);
    };
    const x = tf.tensor2d([[1, 0], [0, 1], [1, 1]]);
    const nan = tf.tensor2d([[1, Number.NaN], [0, 1]]);
    const before = tf.memory().numTensors;
    await expectRejects(embeddingReport({ embeddings: x, labels: [0, 1] }), 'LABEL_COUNT', /Argument 'labels' passed to 'embeddingReport' must have 3 entries/);
    await expectRejects(embeddingReport({ embeddings: x, labels: [0, 1.5, 2] }), 'INVALID_ARGUMENT', /Argument 'labels' passed to 'embeddingReport' must be integers/);
    await expectRejects(embeddingReport({ embeddings: nan }), 'NON_FINITE', /Argument 'embeddings' passed to 'embeddingReport' must hold finite values/);
    await expectRejects(
      embeddingReport({ embeddings: x, history: { epochs: [1, 2], loss: [1] } }),
      'SHAPE_MISMATCH',
      /Argument 'history.loss' passed to 'embeddingReport' must have 2 entries/,
    );
    await expectRejects(
      embeddingReport({ embeddings: x, history: { epochs: [1, 2], loss: [1, Number.NaN] } }),
      'NON_FINITE',
      /Argument 'history.loss' passed to 'embeddingReport' must hold finite numbers, got NaN at index 1/,
    );
    await expectRejects(
      embeddingReport({ embeddings: x, history: { epochs: [1], loss: [1], metrics: { acc: [1, 2] } } }),
      'SHAPE_MISMATCH',
      /Argument 'history.metrics\["acc"\]' passed to 'embeddingReport' must have 1 entries/,
    );
    await expectRejects(embeddingReport({ embeddings: x, neighbours: -1 }), 'INVALID_ARGUMENT', /Argument 'neighbours' passed to 'embeddingReport'/);
    await expectRejects(embeddingReport({ embeddings: x, maxPoints: 1 }), 'INVALID_ARGUMENT', /Argument 'maxPoints' passed to 'embeddingReport'/);
    await expectRejects(embeddingReport({ embeddings: x, classNames: [1] as unknown as string[] }), 'INVALID_ARGUMENT', /Argument 'classNames'/);
    await expectRejects(embeddingReport({ embeddings: tf.tensor1d([1]) as unknown as tf.Tensor2D }), 'SHAPE_MISMATCH', /Argument 'embeddings'/);
    expect(tf.memory().numTensors).toBe(before + 1); // the rank-1 tensor made inline above
    tf.dispose([x, nan]);
  });
});
