/**
 * Reliability battery of `@contrastive/data/node` (issue 9): every runtime export of the node
 * entry point has bad-input cases or a reason to be exempt. Malformed files (truncated, wrong
 * magic, ...) are in `../corrupt-data.test.ts`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expectRejectsContrastive, exportCoverageGaps } from '@contrastive/core/testing';
import type { BadInputCase, ExportCoverage } from '@contrastive/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as api from './index.js';
import type { LoadIdxDatasetOptions } from './index.js';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'contrastive-data-node-reliability-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const coverage: Record<keyof typeof api, ExportCoverage> = {
  FASHION_MNIST_DEFAULT_DIR: { exempt: 'a string constant (a directory path)' },
  loadCsv: [
    { what: 'empty path', run: () => api.loadCsv(''), code: 'INVALID_ARGUMENT', argument: 'path' },
    { what: 'options not an object', run: () => api.loadCsv('x.csv', null as unknown as object), code: 'INVALID_ARGUMENT', argument: 'options' },
    { what: 'a missing file', run: () => api.loadCsv(join(dir, 'nothing-here.csv')), code: 'DATA', argument: null },
    { what: 'a directory', run: () => api.loadCsv(dir), code: 'DATA', argument: null },
  ],
  readIdxFile: [
    { what: 'empty path', run: () => api.readIdxFile(''), code: 'INVALID_ARGUMENT', argument: 'path' },
    { what: 'path not a string', run: () => api.readIdxFile(5 as unknown as string), code: 'INVALID_ARGUMENT', argument: 'path' },
    { what: 'a missing file', run: () => api.readIdxFile(join(dir, 'nothing-here')), code: 'DATA', argument: null },
    { what: 'a directory', run: () => api.readIdxFile(dir), code: 'DATA', argument: null },
  ],
  loadIdxDataset: [
    { what: 'empty dir', run: () => api.loadIdxDataset(''), code: 'INVALID_ARGUMENT', argument: 'dir' },
    { what: 'options not an object', run: () => api.loadIdxDataset(dir, null as unknown as LoadIdxDatasetOptions), code: 'INVALID_ARGUMENT', argument: 'options' },
    { what: 'trainLimit 0', run: () => api.loadIdxDataset(dir, { trainLimit: 0 }), code: 'INVALID_ARGUMENT', argument: 'trainLimit' },
    { what: 'NaN trainLimit', run: () => api.loadIdxDataset(dir, { trainLimit: NaN }), code: 'INVALID_ARGUMENT', argument: 'trainLimit' },
    { what: 'empty classNames', run: () => api.loadIdxDataset(dir, { classNames: [] }), code: 'INVALID_ARGUMENT', argument: 'classNames' },
    { what: 'classNames holding a number', run: () => api.loadIdxDataset(dir, { classNames: ['a', 1 as unknown as string] }), code: 'INVALID_ARGUMENT', argument: 'classNames' },
    { what: 'files not an object', run: () => api.loadIdxDataset(dir, { files: 'x' as unknown as object }), code: 'INVALID_ARGUMENT', argument: 'files' },
    { what: 'a file name that is not a string', run: () => api.loadIdxDataset(dir, { files: { trainImages: 7 as unknown as string } }), code: 'INVALID_ARGUMENT', argument: 'files.trainImages' },
    { what: 'an empty file name', run: () => api.loadIdxDataset(dir, { files: { testLabels: '' } }), code: 'INVALID_ARGUMENT', argument: 'files.testLabels' },
    { what: 'a directory without the files', run: () => api.loadIdxDataset(dir), code: 'DATA', argument: null },
  ],
  loadFashionMnist: [
    { what: 'options not an object', run: () => api.loadFashionMnist(null as unknown as object), code: 'INVALID_ARGUMENT', argument: 'options' },
    { what: 'trainLimit 0', run: () => api.loadFashionMnist({ trainLimit: 0 }), code: 'INVALID_ARGUMENT', argument: 'trainLimit' },
    { what: 'non-integer trainLimit', run: () => api.loadFashionMnist({ trainLimit: 1.5 }), code: 'INVALID_ARGUMENT', argument: 'trainLimit' },
    { what: 'empty dir', run: () => api.loadFashionMnist({ dir: '' }), code: 'INVALID_ARGUMENT', argument: 'dir' },
    { what: 'a directory without the files', run: () => api.loadFashionMnist({ dir }), code: 'DATA', argument: null },
  ],
};

describe('data/node reliability battery', () => {
  it('every export of the node entry point has a case (or a reason to be exempt)', () => {
    expect(exportCoverageGaps(api, coverage)).toEqual({ missing: [], stale: [] });
  });

  for (const [name, entry] of Object.entries(coverage)) {
    if (!Array.isArray(entry)) continue;
    for (const bad of entry as readonly BadInputCase[]) {
      it(`${name}: ${bad.what}`, () => expectRejectsContrastive(bad.run, bad.code, bad.argument));
    }
  }
});
