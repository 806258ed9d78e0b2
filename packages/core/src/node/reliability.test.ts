/**
 * Reliability battery of `@contrastive/core/node` (checkpoint files): every runtime export has
 * bad-input cases, each of which must throw a `ContrastiveError` with a stable code naming the
 * argument (or, for a bad file, the file) and leave no tensor behind; plus fast-check properties
 * that no truncation or single-byte corruption of a checkpoint is ever loaded.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isContrastiveError } from '../errors.js';
import { Rng } from '../rng.js';
import { expectNoLeak, expectRejectsContrastive, exportCoverageGaps, useTestBackend } from '../testing/index.js';
import type { BadInputCase, ExportCoverage } from '../testing/index.js';
import { disposeTrainState } from '../train.js';
import type { TrainState } from '../train.js';
import * as api from './index.js';
import { CHECKPOINT_FILE_NAME, CHECKPOINT_FORMAT_VERSION, directoryCheckpointer, hasCheckpoint, loadCheckpoint, saveCheckpoint } from './index.js';

const root = path.join(os.tmpdir(), `contrastive-node-battery-${process.pid}`);
/** A directory holding a valid checkpoint (written in beforeAll). */
const goodDir = path.join(root, 'good');
/** A directory whose checkpoint file is rewritten by each case that needs a damaged file. */
const badDir = path.join(root, 'bad');
const badFile = path.join(badDir, CHECKPOINT_FILE_NAME);
const missingDir = path.join(root, 'missing');
/** A regular file used where a directory is expected. */
const plainFile = path.join(root, 'plain-file');
let good = Buffer.alloc(0);

beforeAll(async () => {
  await useTestBackend();
  await fs.promises.mkdir(badDir, { recursive: true });
  await fs.promises.writeFile(plainFile, 'not a directory');
  const state = makeState(3);
  try {
    await saveCheckpoint(goodDir, state);
  } finally {
    disposeTrainState(state);
  }
  good = await fs.promises.readFile(path.join(goodDir, CHECKPOINT_FILE_NAME));
});

afterAll(async () => {
  await fs.promises.rm(root, { recursive: true, force: true });
});

/** A small state with every kind of tensor (owned by the caller). */
function makeState(epoch: number): TrainState {
  return {
    epoch,
    encoderWeights: [tf.tensor2d([[1, 2], [3, 4]]), tf.tensor1d([0.5, -0.5])],
    headWeights: [tf.tensor1d([7])],
    optimizer: {
      className: 'Adam',
      weights: [{ name: 'iter', tensor: tf.scalar(2, 'int32') }],
      accumulators: [{ name: 'accBeta1', tensor: tf.scalar(0.81) }],
    },
    rng: new Rng(1).state(),
    history: [{ epoch: 0, meanLoss: 1.5, seconds: 0.1 }],
    extra: { queue: [tf.tensor1d([true, false], 'bool')] },
  };
}

/** Every tensor inside `value`. */
function tensorsIn(value: unknown): tf.Tensor[] {
  if (value instanceof tf.Tensor) return [value];
  if (Array.isArray(value)) return value.flatMap(tensorsIn);
  if (value !== null && typeof value === 'object') return Object.values(value).flatMap(tensorsIn);
  return [];
}

/** Calls `fn` with a fresh state patched by `patch`, then frees both. */
async function withState(fn: (state: TrainState) => Promise<unknown>, patch: Record<string, unknown> = {}): Promise<unknown> {
  const state = makeState(1);
  try {
    return await fn({ ...state, ...patch } as TrainState);
  } finally {
    disposeTrainState(state);
    tf.dispose(tensorsIn(patch));
  }
}

/** Writes `bytes` as the checkpoint of `badDir`, then loads it (freeing whatever loads). */
async function loadBytes(bytes: Uint8Array): Promise<void> {
  await fs.promises.writeFile(badFile, bytes);
  const state = await loadCheckpoint(badDir);
  disposeTrainState(state);
}

/** A file in the checkpoint layout with the given header (a string is used verbatim) and data, and a *valid* checksum. */
function craft(header: unknown, data: Uint8Array = new Uint8Array(0), version = CHECKPOINT_FORMAT_VERSION): Buffer {
  const headerBytes = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header), 'utf8');
  const prefix = Buffer.alloc(16);
  Buffer.from('CTRSCKPT', 'ascii').copy(prefix, 0);
  prefix.writeUInt32LE(version, 8);
  prefix.writeUInt32LE(headerBytes.length, 12);
  const body = Buffer.concat([prefix, headerBytes, data]);
  return Buffer.concat([body, createHash('sha256').update(body).digest()]);
}

const validHeader = {
  format: 'contrastive-checkpoint',
  epoch: 1,
  rng: new Rng(0).state(),
  history: [],
  optimizerClassName: 'SGD',
  extraKeys: [],
  dataLength: 8,
  tensors: [{ group: 'encoder', shape: [2], dtype: 'float32', offset: 0, length: 8 }],
};

const coverage: Record<keyof typeof api, ExportCoverage> = {
  CHECKPOINT_FILE_NAME: { exempt: 'a string constant' },
  CHECKPOINT_FORMAT_VERSION: { exempt: 'a number constant' },
  directoryCheckpointer: [
    { what: 'an empty dir', run: () => directoryCheckpointer(''), code: 'INVALID_ARGUMENT', argument: 'dir' },
    { what: 'a numeric dir', run: () => directoryCheckpointer(42 as never), code: 'INVALID_ARGUMENT', argument: 'dir' },
    { what: 'every 0', run: () => directoryCheckpointer(missingDir, { every: 0 }), code: 'INVALID_ARGUMENT', argument: 'every' },
    { what: 'fractional every', run: () => directoryCheckpointer(missingDir, { every: 1.5 }), code: 'INVALID_ARGUMENT', argument: 'every' },
    { what: 'a fileName with a path', run: () => directoryCheckpointer(missingDir, { fileName: '../escape.ckpt' }), code: 'INVALID_ARGUMENT', argument: 'fileName' },
    { what: "fileName '..'", run: () => directoryCheckpointer(missingDir, { fileName: '..' }), code: 'INVALID_ARGUMENT', argument: 'fileName' },
    {
      what: 'save() with a malformed state',
      run: () => directoryCheckpointer(missingDir).save({ epoch: 1 } as never),
      code: 'INVALID_ARGUMENT',
      argument: 'state.encoderWeights',
    },
  ],
  hasCheckpoint: [
    { what: 'an empty dir', run: () => hasCheckpoint(''), code: 'INVALID_ARGUMENT', argument: 'dir' },
    { what: 'an empty fileName', run: () => hasCheckpoint(goodDir, { fileName: '' }), code: 'INVALID_ARGUMENT', argument: 'fileName' },
  ],
  loadCheckpoint: [
    { what: 'an empty dir', run: () => loadCheckpoint(''), code: 'INVALID_ARGUMENT', argument: 'dir' },
    { what: 'a fileName with a path', run: () => loadCheckpoint(goodDir, { fileName: 'a/b' }), code: 'INVALID_ARGUMENT', argument: 'fileName' },
    { what: 'a missing file', run: () => loadCheckpoint(missingDir), code: 'CHECKPOINT', argument: path.join(missingDir, CHECKPOINT_FILE_NAME) },
    { what: 'a directory in place of the file', run: () => loadCheckpoint(root, { fileName: 'good' }), code: 'CHECKPOINT', argument: goodDir },
    { what: 'an empty file', run: () => loadBytes(new Uint8Array(0)), code: 'CHECKPOINT', argument: badFile },
    { what: 'a file cut inside the prefix', run: () => loadBytes(good.subarray(0, 10)), code: 'CHECKPOINT', argument: badFile },
    { what: 'a file cut inside the header', run: () => loadBytes(good.subarray(0, 40)), code: 'CHECKPOINT', argument: badFile },
    { what: 'a file cut inside the data', run: () => loadBytes(good.subarray(0, good.length - 40)), code: 'CHECKPOINT', argument: badFile },
    { what: 'a file missing one byte', run: () => loadBytes(good.subarray(0, good.length - 1)), code: 'CHECKPOINT', argument: badFile },
    { what: 'a file with a trailing byte', run: () => loadBytes(Buffer.concat([good, Buffer.from([0])])), code: 'CHECKPOINT', argument: badFile },
    {
      what: 'a file of another format version',
      run: () => {
        const other = Buffer.from(good);
        other.writeUInt32LE(CHECKPOINT_FORMAT_VERSION + 1, 8);
        return loadBytes(other);
      },
      code: 'CHECKPOINT',
      argument: badFile,
    },
    { what: 'a file of format version 0 (valid checksum)', run: () => loadBytes(craft(validHeader, new Uint8Array(8), 0)), code: 'CHECKPOINT', argument: badFile },
    { what: 'not a checkpoint', run: () => loadBytes(Buffer.from('{"epoch": 3}')), code: 'CHECKPOINT', argument: badFile },
    {
      what: 'a flipped bit in the tensor data',
      run: () => {
        const flipped = Buffer.from(good);
        flipped[good.length - 33] = (flipped[good.length - 33] as number) ^ 1;
        return loadBytes(flipped);
      },
      code: 'CHECKPOINT',
      argument: badFile,
    },
    { what: 'a header that is not JSON (valid checksum)', run: () => loadBytes(craft('{"format": "contrastive-checkpoint",')), code: 'CHECKPOINT', argument: badFile },
    {
      what: 'a tensor table entry without a shape (valid checksum)',
      run: () => loadBytes(craft({ ...validHeader, tensors: [{ group: 'encoder', dtype: 'float32', offset: 0, length: 8 }] }, new Uint8Array(8))),
      code: 'CHECKPOINT',
      argument: badFile,
    },
    {
      what: 'a tensor entry beyond the data (valid checksum)',
      run: () => loadBytes(craft({ ...validHeader, tensors: [{ group: 'encoder', shape: [4], dtype: 'float32', offset: 0, length: 16 }] }, new Uint8Array(8))),
      code: 'CHECKPOINT',
      argument: badFile,
    },
    {
      what: 'an unknown dtype (valid checksum)',
      run: () => loadBytes(craft({ ...validHeader, tensors: [{ group: 'encoder', shape: [1], dtype: 'float64', offset: 0, length: 8 }] }, new Uint8Array(8))),
      code: 'CHECKPOINT',
      argument: badFile,
    },
    {
      what: 'an unknown tensor group (valid checksum)',
      run: () => loadBytes(craft({ ...validHeader, tensors: [{ group: 'decoder', shape: [2], dtype: 'float32', offset: 0, length: 8 }] }, new Uint8Array(8))),
      code: 'CHECKPOINT',
      argument: badFile,
    },
    {
      what: 'a header without an epoch (valid checksum)',
      run: () => loadBytes(craft({ ...validHeader, epoch: undefined }, new Uint8Array(8))),
      code: 'CHECKPOINT',
      argument: badFile,
    },
    {
      what: 'a negative data length (valid checksum)',
      run: () => loadBytes(craft({ ...validHeader, dataLength: -8, tensors: [] })),
      code: 'CHECKPOINT',
      argument: badFile,
    },
  ],
  saveCheckpoint: [
    { what: 'state null', run: () => saveCheckpoint(missingDir, null as never), code: 'INVALID_ARGUMENT', argument: 'state' },
    { what: 'a negative epoch', run: () => withState((state) => saveCheckpoint(missingDir, state), { epoch: -1 }), code: 'INVALID_ARGUMENT', argument: 'state.epoch' },
    { what: 'a fractional epoch', run: () => withState((state) => saveCheckpoint(missingDir, state), { epoch: 1.5 }), code: 'INVALID_ARGUMENT', argument: 'state.epoch' },
    {
      what: 'no optimizer state',
      run: () => withState((state) => saveCheckpoint(missingDir, state), { optimizer: undefined }),
      code: 'INVALID_ARGUMENT',
      argument: 'state.optimizer',
    },
    {
      what: 'headWeights not an array',
      run: () => withState((state) => saveCheckpoint(missingDir, state), { headWeights: tf.zeros([1]) }),
      code: 'INVALID_ARGUMENT',
      argument: 'state.headWeights',
    },
    {
      what: 'a disposed weight',
      run: () => withState((state) => saveCheckpoint(missingDir, state), { encoderWeights: [(() => { const t = tf.zeros([2]); t.dispose(); return t; })()] }),
      code: 'DISPOSED',
      argument: 'state.encoderWeights[0]',
    },
    {
      what: 'a disposed hook tensor',
      run: () => withState((state) => saveCheckpoint(missingDir, state), { extra: { queue: [(() => { const t = tf.zeros([2]); t.dispose(); return t; })()] } }),
      code: 'DISPOSED',
      argument: 'state.extra.queue[0]',
    },
    {
      what: 'a string tensor (not storable)',
      run: () => withState((state) => saveCheckpoint(missingDir, state), { extra: { names: [tf.tensor1d(['a', 'b'], 'string')] } }),
      code: 'CHECKPOINT',
      argument: path.join(missingDir, CHECKPOINT_FILE_NAME),
    },
    {
      what: 'a dir below a regular file (cannot be written)',
      run: () => withState((state) => saveCheckpoint(path.join(plainFile, 'run'), state)),
      code: 'CHECKPOINT',
      argument: path.join(plainFile, 'run', CHECKPOINT_FILE_NAME),
    },
    { what: 'an empty dir', run: () => withState((state) => saveCheckpoint('', state)), code: 'INVALID_ARGUMENT', argument: 'dir' },
    { what: "fileName '.'", run: () => withState((state) => saveCheckpoint(missingDir, state, { fileName: '.' })), code: 'INVALID_ARGUMENT', argument: 'fileName' },
  ],
};

describe('@contrastive/core/node reliability battery', () => {
  it('every export has a case', () => {
    expect(exportCoverageGaps(api, coverage)).toEqual({ missing: [], stale: [] });
  });

  for (const [name, entry] of Object.entries(coverage) as [string, ExportCoverage][]) {
    if (!Array.isArray(entry)) continue;
    for (const { what, run, code, argument } of entry as readonly BadInputCase[]) {
      it(`${name}: ${what}`, async () => {
        await expectNoLeak(() => expectRejectsContrastive(run, code, argument));
      });
    }
  }

  it('a failed save writes nothing: no checkpoint and no temporary file appear', async () => {
    const dir = path.join(root, 'failed-save');
    await expectRejectsContrastive(() => withState((state) => saveCheckpoint(dir, state), { epoch: -1 }), 'INVALID_ARGUMENT', 'state.epoch');
    await expectRejectsContrastive(() => withState((state) => saveCheckpoint(dir, state), { extra: { names: [tf.tensor1d(['a'], 'string')] } }), 'CHECKPOINT', null);
    expect(fs.existsSync(dir) ? await fs.promises.readdir(dir) : []).toEqual([]);
  });

  it('hasCheckpoint is false for a missing file and for a directory of that name; true for the good one', async () => {
    expect(await hasCheckpoint(missingDir)).toBe(false);
    expect(await hasCheckpoint(root, { fileName: 'good' })).toBe(false);
    expect(await hasCheckpoint(goodDir)).toBe(true);
  });
});

describe('no damaged checkpoint is ever loaded (fast-check)', () => {
  it('every truncation is rejected with CHECKPOINT naming the file', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: good.length - 1 }), async (length) => {
        await expectNoLeak(() => expectRejectsContrastive(() => loadBytes(good.subarray(0, length)), 'CHECKPOINT', badFile));
      }),
      { numRuns: 30 },
    );
  });

  it('every single-byte change anywhere (prefix, header, data, checksum) is rejected with CHECKPOINT naming the file', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: good.length - 1 }), fc.integer({ min: 1, max: 255 }), async (index, mask) => {
        const damaged = Buffer.from(good);
        damaged[index] = (damaged[index] as number) ^ mask;
        await expectNoLeak(() => expectRejectsContrastive(() => loadBytes(damaged), 'CHECKPOINT', badFile));
      }),
      { numRuns: 30 },
    );
  });

  it('the good file still loads, bit for bit', async () => {
    const state = await loadCheckpoint(goodDir);
    try {
      expect(state.epoch).toBe(3);
      expect(Array.from(state.encoderWeights[0]!.dataSync())).toEqual([1, 2, 3, 4]);
      expect(isContrastiveError(new Error('x'))).toBe(false);
    } finally {
      disposeTrainState(state);
    }
  });
});
