import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isContrastiveError } from '@contrastive/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDatasetSpec } from './datasets.js';

let dir: string;

/** An IDX file (big-endian header, uint8 payload). */
function idx(shape: number[], values: ArrayLike<number>): Uint8Array {
  const header = 4 + 4 * shape.length;
  const bytes = new Uint8Array(header + values.length);
  const view = new DataView(bytes.buffer);
  bytes.set([0, 0, 0x08, shape.length]);
  shape.forEach((size, d) => view.setUint32(4 + 4 * d, size, false));
  bytes.set(values, header);
  return bytes;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'contrastive-datasets-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function rejectsWith(promise: Promise<unknown>, code: string, message: RegExp): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(isContrastiveError(error)).toBe(true);
  expect((error as { code: string }).code).toBe(code);
  expect((error as Error).message).toMatch(message);
}

describe('loadDatasetSpec', () => {
  it('mnist: RECIPE.md 8,000 / 2,000 split, train and test limits class round-robin', async () => {
    const full = await loadDatasetSpec('mnist');
    expect([full.train.count, full.test.count]).toEqual([8000, 2000]);
    const small = await loadDatasetSpec('mnist', { trainLimit: 30, testLimit: 20 });
    expect([small.train.count, small.test.count]).toEqual([30, 20]);
    expect(Array.from(small.train.labels.slice(0, 12))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]);
    expect(Array.from(small.test.labels.slice(0, 10))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('idx:<dir> reads four IDX files with the MNIST names as [0, 1] pixels', async () => {
    const idxDir = join(dir, 'idx');
    const { mkdir } = await import('node:fs/promises');
    await mkdir(idxDir);
    const pixels = (count: number) => Uint8Array.from({ length: count * 64 }, (_, i) => (i * 37) % 256);
    await writeFile(join(idxDir, 'train-images-idx3-ubyte'), idx([6, 8, 8], pixels(6)));
    await writeFile(join(idxDir, 'train-labels-idx1-ubyte'), idx([6], [0, 1, 2, 0, 1, 2]));
    await writeFile(join(idxDir, 't10k-images-idx3-ubyte'), idx([3, 8, 8], pixels(3)));
    await writeFile(join(idxDir, 't10k-labels-idx1-ubyte'), idx([3], [2, 1, 0]));
    const dataset = await loadDatasetSpec(`idx:${idxDir}`);
    expect(dataset.train.shape).toEqual([8, 8, 1]);
    expect([dataset.train.count, dataset.test.count]).toEqual([6, 3]);
    expect(dataset.train.images[1]).toBeCloseTo(37 / 255, 6);
    expect(Array.from(dataset.test.labels)).toEqual([2, 1, 0]);
    await rejectsWith(loadDatasetSpec(`idx:${join(dir, 'missing')}`), 'DATA', /missing/);
  });

  it('csv:<file> holds out every 5th row per class; square feature counts are images (0-255 scaled), others standardised tables', async () => {
    const rows = 20;
    const imageCsv = Array.from({ length: rows }, (_, r) => [...Array.from({ length: 64 }, (_, j) => (r * 64 + j) % 256), r % 2 === 0 ? 'cat' : 'dog'].join(',')).join('\n');
    await writeFile(join(dir, 'images.csv'), `${imageCsv}\n`);
    const images = await loadDatasetSpec(`csv:${join(dir, 'images.csv')}`);
    expect(images.train.shape).toEqual([8, 8, 1]);
    expect(images.classNames).toEqual(['cat', 'dog']);
    expect([images.train.count, images.test.count]).toEqual([16, 4]); // rows 8, 9, 18, 19 (the 5th and 10th of each class)
    expect(images.test.images[0]).toBeCloseTo(((8 * 64) % 256) / 255, 6);
    expect(Math.max(...images.train.images)).toBeLessThanOrEqual(1);

    const table = 'a,b,c,label\n' + Array.from({ length: rows }, (_, r) => `${r},${2 * r + 1},5,${r % 2}`).join('\n');
    await writeFile(join(dir, 'table.csv'), `${table}\n`);
    const tabular = await loadDatasetSpec(`csv:${join(dir, 'table.csv')}`, { trainLimit: 10 });
    expect(tabular.train.shape).toEqual([1, 3, 1]);
    expect(tabular.train.count).toBe(10);
    // Standardised with the train split's statistics: the constant column becomes 0.
    expect(tabular.test.images[2]).toBe(0);

    await writeFile(join(dir, 'test.csv'), `a,b,c,label\n1,2,3,1\n4,5,6,0\n`);
    const paired = await loadDatasetSpec(`csv:${join(dir, 'table.csv')},${join(dir, 'test.csv')}`);
    expect([paired.train.count, paired.test.count]).toEqual([20, 2]);
    expect(Array.from(paired.test.labels)).toEqual([1, 0]);

    await writeFile(join(dir, 'narrow.csv'), `1,2,0\n3,4,1\n`);
    await rejectsWith(loadDatasetSpec(`csv:${join(dir, 'table.csv')},${join(dir, 'narrow.csv')}`), 'DATA', /2 feature columns, but .* has 3/);
    await rejectsWith(loadDatasetSpec('csv:a.csv,b.csv,c.csv' as `csv:${string}`), 'INVALID_ARGUMENT', /'spec'/);
    await rejectsWith(loadDatasetSpec(`csv:${join(dir, 'nope.csv')}`), 'DATA', /nope\.csv/);
  });
});
