import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { useTestBackend } from '@contrastive/core/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import * as main from './index.js';
import * as node from './node/index.js';

beforeAll(async () => {
  await useTestBackend();
});

const here = dirname(fileURLToPath(import.meta.url));

describe('entry points', () => {
  it('export the documented names', () => {
    expect(Object.keys(main).sort()).toEqual(
      [
        'FASHION_MNIST_CLASS_NAMES',
        'MNIST_CLASS_NAMES',
        'MNIST_TRAIN_PER_CLASS',
        'gatherBatch',
        'idxSplit',
        'loadMnist',
        'parseCsv',
        'readIdx',
        'roundRobinLimit',
        'samplerBatches',
        'toTensors',
      ].sort(),
    );
    expect(Object.keys(node).sort()).toEqual(['FASHION_MNIST_DEFAULT_DIR', 'loadCsv', 'loadFashionMnist', 'loadIdxDataset', 'readIdxFile']);
  });

  it('the main entry is isomorphic: no fs, path, zlib or process outside src/node', () => {
    const sources = readdirSync(here).filter((file) => file.endsWith('.ts') && !file.endsWith('.test.ts'));
    expect(sources.length).toBeGreaterThan(5);
    for (const file of sources) {
      const text = readFileSync(join(here, file), 'utf8');
      expect(text, file).not.toMatch(/from ['"](node:)?(fs|path|zlib|os|url|module|fs\/promises)['"]/);
      expect(text, file).not.toMatch(/\bprocess\.|\brequire\(|createRequire/);
      expect(text, file).not.toMatch(/from ['"]\.\/node\//);
    }
  });
});
