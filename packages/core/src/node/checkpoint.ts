/**
 * Checkpoint files: atomic save and validated load of a {@link TrainState}.
 *
 * File layout (little-endian), one file per checkpoint:
 *
 * ```
 * 0        8   magic "CTRSCKPT"
 * 8        4   uint32 format version
 * 12       4   uint32 header length H
 * 16       H   header (UTF-8 JSON: epoch, rng, history, optimizer class, tensor table, data length D)
 * 16+H     D   tensor data (float32 / int32 / bool as uint8), in table order
 * 16+H+D   32  SHA-256 of bytes [0, 16+H+D)
 * ```
 *
 * @packageDocumentation
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { ContrastiveError, isContrastiveError } from '../errors.js';
import type { RngState } from '../rng.js';
import { assertTrainState } from '../train.js';
import type { Checkpointer, EpochSummary, NamedStateTensor, TrainState } from '../train.js';
import { assertNumber } from '../validate.js';

/**
 * Version of the checkpoint file format this build writes and reads.
 * @category Checkpoints
 */
export const CHECKPOINT_FORMAT_VERSION = 1;

/**
 * File name of the checkpoint inside its directory, unless `fileName` says otherwise.
 * @category Checkpoints
 */
export const CHECKPOINT_FILE_NAME = 'checkpoint.ckpt';

const MAGIC = Buffer.from('CTRSCKPT', 'ascii');
const PREFIX_BYTES = 16;
const DIGEST_BYTES = 32;
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Options of {@link saveCheckpoint}, {@link loadCheckpoint} and {@link hasCheckpoint}.
 * @category Checkpoints
 */
export interface CheckpointFileOptions {
  /** File name inside the directory (no path separators). @defaultValue {@link CHECKPOINT_FILE_NAME} */
  readonly fileName?: string;
}

type Group = 'encoder' | 'head' | 'optimizer' | 'accumulator' | 'extra';
type StoredDtype = 'float32' | 'int32' | 'bool';

interface TensorEntry {
  readonly group: Group;
  /** Optimizer/accumulator tensor name, or the hook-state key for `extra`. */
  readonly name?: string;
  readonly shape: number[];
  readonly dtype: StoredDtype;
  readonly offset: number;
  readonly length: number;
}

interface Header {
  readonly format: 'contrastive-checkpoint';
  readonly epoch: number;
  readonly rng: RngState;
  readonly history: readonly EpochSummary[];
  readonly optimizerClassName: string;
  readonly tensors: readonly TensorEntry[];
  /** Keys of `extra`, so that a key holding no tensor survives the round trip. */
  readonly extraKeys: readonly string[];
  readonly dataLength: number;
}

const BYTES_PER_ELEMENT: Record<StoredDtype, number> = { float32: 4, int32: 4, bool: 1 };

function fail(file: string, message: string, cause?: unknown): never {
  throw new ContrastiveError('CHECKPOINT', `Checkpoint '${file}' ${message}`, cause === undefined ? undefined : { cause });
}

function resolveFile(dir: string, options: CheckpointFileOptions, fn: string): string {
  if (typeof dir !== 'string' || dir.length === 0) {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'dir' passed to '${fn}' must be a non-empty path, got ${typeof dir}`);
  }
  const fileName = options.fileName ?? CHECKPOINT_FILE_NAME;
  if (typeof fileName !== 'string' || fileName.length === 0 || fileName !== path.basename(fileName) || fileName === '.' || fileName === '..') {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'fileName' passed to '${fn}' must be a plain file name, got ${JSON.stringify(fileName)}`);
  }
  return path.join(dir, fileName);
}

async function encode(state: TrainState, file: string): Promise<Buffer> {
  if (!LITTLE_ENDIAN) fail(file, 'cannot be written on a big-endian platform');
  const items: { group: Group; name?: string; tensor: tf.Tensor }[] = [];
  state.encoderWeights.forEach((tensor) => items.push({ group: 'encoder', tensor }));
  state.headWeights.forEach((tensor) => items.push({ group: 'head', tensor }));
  state.optimizer.weights.forEach(({ name, tensor }) => items.push({ group: 'optimizer', name, tensor }));
  state.optimizer.accumulators.forEach(({ name, tensor }) => items.push({ group: 'accumulator', name, tensor }));
  for (const [key, tensors] of Object.entries(state.extra)) tensors.forEach((tensor) => items.push({ group: 'extra', name: key, tensor }));
  const chunks: Buffer[] = [];
  const tensors: TensorEntry[] = [];
  let offset = 0;
  for (const { group, name, tensor } of items) {
    if (tensor.isDisposed) fail(file, `cannot be written: a ${group} tensor${name === undefined ? '' : ` '${name}'`} was disposed`);
    if (tensor.dtype !== 'float32' && tensor.dtype !== 'int32' && tensor.dtype !== 'bool') {
      fail(file, `cannot store the ${tensor.dtype} ${group} tensor${name === undefined ? '' : ` '${name}'`} (float32, int32 and bool only)`);
    }
    const values = (await tensor.data()) as Float32Array | Int32Array | Uint8Array;
    const bytes = Buffer.from(values.buffer, values.byteOffset, values.byteLength);
    const entry: TensorEntry = { group, shape: [...tensor.shape], dtype: tensor.dtype, offset, length: bytes.length };
    tensors.push(name === undefined ? entry : { ...entry, name });
    chunks.push(Buffer.from(bytes));
    offset += bytes.length;
  }
  const header: Header = {
    format: 'contrastive-checkpoint',
    epoch: state.epoch,
    rng: state.rng,
    history: state.history,
    optimizerClassName: state.optimizer.className,
    tensors,
    extraKeys: Object.keys(state.extra),
    dataLength: offset,
  };
  const headerBytes = Buffer.from(JSON.stringify(header), 'utf8');
  const prefix = Buffer.alloc(PREFIX_BYTES);
  MAGIC.copy(prefix, 0);
  prefix.writeUInt32LE(CHECKPOINT_FORMAT_VERSION, 8);
  prefix.writeUInt32LE(headerBytes.length, 12);
  const body = Buffer.concat([prefix, headerBytes, ...chunks]);
  const digest = createHash('sha256').update(body).digest();
  return Buffer.concat([body, digest]);
}

function decode(bytes: Buffer, file: string): TrainState {
  if (bytes.length < PREFIX_BYTES) fail(file, `is truncated: ${bytes.length} bytes, shorter than its ${PREFIX_BYTES}-byte prefix`);
  if (!bytes.subarray(0, 8).equals(MAGIC)) fail(file, 'is not a Contrastive checkpoint (bad magic bytes)');
  const version = bytes.readUInt32LE(8);
  if (version !== CHECKPOINT_FORMAT_VERSION) {
    fail(file, `has format version ${version}; this build of @contrastive/core reads version ${CHECKPOINT_FORMAT_VERSION}`);
  }
  const headerLength = bytes.readUInt32LE(12);
  if (bytes.length < PREFIX_BYTES + headerLength) {
    fail(file, `is truncated: ${bytes.length} bytes, its header alone needs ${PREFIX_BYTES + headerLength}`);
  }
  let header: Header;
  try {
    header = JSON.parse(bytes.subarray(PREFIX_BYTES, PREFIX_BYTES + headerLength).toString('utf8')) as Header;
  } catch (error) {
    fail(file, 'is corrupted: its header is not valid JSON', error);
  }
  if (header === null || typeof header !== 'object' || header.format !== 'contrastive-checkpoint' || !Array.isArray(header.tensors as unknown)) {
    fail(file, 'is corrupted: its header is not a checkpoint header');
  }
  if (!Number.isSafeInteger(header.dataLength) || header.dataLength < 0) fail(file, 'is corrupted: bad data length');
  const expected = PREFIX_BYTES + headerLength + header.dataLength + DIGEST_BYTES;
  if (bytes.length < expected) fail(file, `is truncated: ${bytes.length} bytes, expected ${expected}`);
  if (bytes.length > expected) fail(file, `is corrupted: ${bytes.length} bytes, expected ${expected}`);
  const bodyLength = expected - DIGEST_BYTES;
  const digest = createHash('sha256').update(bytes.subarray(0, bodyLength)).digest();
  if (!digest.equals(bytes.subarray(bodyLength))) fail(file, 'is corrupted: its SHA-256 checksum does not match');

  const dataStart = PREFIX_BYTES + headerLength;
  const encoderWeights: tf.Tensor[] = [];
  const headWeights: tf.Tensor[] = [];
  const optimizerWeights: NamedStateTensor[] = [];
  const accumulators: NamedStateTensor[] = [];
  const extra: Record<string, tf.Tensor[]> = {};
  if (Array.isArray(header.extraKeys)) for (const key of header.extraKeys) extra[String(key)] = [];
  const created: tf.Tensor[] = [];
  try {
    for (const entry of header.tensors) {
      const elements = entry.shape.reduce((total, size) => total * size, 1);
      const perElement = BYTES_PER_ELEMENT[entry.dtype];
      if (perElement === undefined || elements * perElement !== entry.length || entry.offset < 0 || entry.offset + entry.length > header.dataLength) {
        fail(file, `is corrupted: bad entry for a ${entry.group} tensor`);
      }
      const start = dataStart + entry.offset;
      const copy = bytes.buffer.slice(bytes.byteOffset + start, bytes.byteOffset + start + entry.length);
      const values =
        entry.dtype === 'float32' ? new Float32Array(copy) : entry.dtype === 'int32' ? new Int32Array(copy) : new Uint8Array(copy);
      const tensor = tf.tensor(values, entry.shape, entry.dtype);
      created.push(tensor);
      switch (entry.group) {
        case 'encoder':
          encoderWeights.push(tensor);
          break;
        case 'head':
          headWeights.push(tensor);
          break;
        case 'optimizer':
          optimizerWeights.push({ name: entry.name ?? '', tensor });
          break;
        case 'accumulator':
          accumulators.push({ name: entry.name ?? '', tensor });
          break;
        case 'extra': {
          const key = entry.name ?? '';
          (extra[key] ??= []).push(tensor);
          break;
        }
        default: {
          const unknown: never = entry.group;
          fail(file, `is corrupted: unknown tensor group ${JSON.stringify(unknown)}`);
        }
      }
    }
  } catch (error) {
    tf.dispose(created);
    if (isContrastiveError(error)) throw error;
    fail(file, `is corrupted: its tensor table is malformed (${error instanceof Error ? error.message : String(error)})`, error);
  }
  if (!Number.isSafeInteger(header.epoch) || header.epoch < 0 || header.rng === null || typeof header.rng !== 'object' || !Array.isArray(header.history)) {
    tf.dispose(created);
    fail(file, 'is corrupted: its header lacks a valid epoch, rng or history');
  }
  return {
    epoch: header.epoch,
    encoderWeights,
    headWeights,
    optimizer: { className: header.optimizerClassName, weights: optimizerWeights, accumulators },
    rng: header.rng,
    history: header.history,
    extra,
  };
}

let temporaryCounter = 0;

async function syncDirectory(dir: string): Promise<void> {
  let handle: fs.promises.FileHandle | undefined;
  try {
    handle = await fs.promises.open(dir, 'r');
    await handle.sync();
  } catch {
    // Directories cannot be opened or fsynced on some platforms (Windows); the rename is still atomic.
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

/**
 * Save a training state atomically: the file is written to a temporary file in the same directory,
 * flushed to disk (`fsync`), renamed over the checkpoint, and the directory is flushed. A crash at any
 * point leaves either the previous checkpoint or the new one, never a broken file. A killed writer
 * may leave its `.<fileName>.<pid>.*.tmp` behind (ignored by {@link loadCheckpoint}); the next
 * successful save removes those of processes that no longer run on this machine.
 *
 * @param dir - directory of the checkpoint (created if missing).
 * @param state - the state to save (borrowed; its tensors are read, not disposed).
 * @param options - file name.
 * @returns the path of the checkpoint file.
 * @throws `ContrastiveError` `CHECKPOINT` naming the file when writing fails (the previous
 *   checkpoint stays intact); `INVALID_ARGUMENT` for a bad path or a malformed state (naming the
 *   field), `DISPOSED` naming a disposed tensor of the state; nothing is written then.
 * @example
 * ```ts
 * await saveCheckpoint('runs/simclr', state); // 'runs/simclr/checkpoint.ckpt'
 * ```
 * @category Checkpoints
 */
export async function saveCheckpoint(dir: string, state: TrainState, options: CheckpointFileOptions = {}): Promise<string> {
  const fn = 'saveCheckpoint';
  const file = resolveFile(dir, options, fn);
  assertTrainState(state, 'state', fn);
  const bytes = await encode(state, file);
  const temporary = path.join(dir, `.${path.basename(file)}.${process.pid}.${Date.now()}.${temporaryCounter++}.tmp`);
  let renamed = false;
  try {
    await fs.promises.mkdir(dir, { recursive: true });
    const handle = await fs.promises.open(temporary, 'wx');
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.promises.rename(temporary, file);
    renamed = true;
  } catch (error) {
    if (!renamed) await fs.promises.unlink(temporary).catch(() => undefined);
    fail(file, `could not be written (the previous checkpoint, if any, is intact): ${error instanceof Error ? error.message : String(error)}`, error);
  }
  await syncDirectory(dir);
  await removeStaleTemporaries(dir, path.basename(file));
  return file;
}

/** Whether process `pid` runs on this machine (EPERM: it runs, under another user). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Delete the temporary files of `base` left by writers that were killed (their process is gone). */
async function removeStaleTemporaries(dir: string, base: string): Promise<void> {
  const pattern = /^\.(.+)\.(\d+)\.\d+\.\d+\.tmp$/;
  const names = await fs.promises.readdir(dir).catch(() => [] as string[]);
  for (const name of names) {
    const match = pattern.exec(name);
    if (match === null || match[1] !== base) continue;
    const pid = Number(match[2]);
    if (pid === process.pid || isAlive(pid)) continue;
    await fs.promises.unlink(path.join(dir, name)).catch(() => undefined);
  }
}

/**
 * Load a training state saved by {@link saveCheckpoint}, checking its magic bytes, format version,
 * length and SHA-256 checksum.
 *
 * @param dir - directory of the checkpoint.
 * @param options - file name.
 * @returns the state; its tensors are owned by the caller (free them with `disposeTrainState`).
 * @throws `ContrastiveError` `CHECKPOINT` naming the file when it is missing, truncated,
 *   corrupted or of another format version.
 * @example
 * ```ts
 * const state = await loadCheckpoint('runs/simclr');
 * console.log(state.epoch); // e.g. 3: resume at epoch 3
 * await train({ ...options, resumeFrom: state });
 * disposeTrainState(state);
 * ```
 * @category Checkpoints
 */
export async function loadCheckpoint(dir: string, options: CheckpointFileOptions = {}): Promise<TrainState> {
  const file = resolveFile(dir, options, 'loadCheckpoint');
  let bytes: Buffer;
  try {
    bytes = await fs.promises.readFile(file);
  } catch (error) {
    const code = (error as { code?: string }).code;
    fail(file, code === 'ENOENT' ? 'does not exist' : `could not be read: ${error instanceof Error ? error.message : String(error)}`, error);
  }
  return decode(bytes, file);
}

/**
 * Whether a checkpoint file exists in `dir` (it is not validated: {@link loadCheckpoint} does that).
 *
 * @param dir - directory of the checkpoint.
 * @param options - file name.
 * @returns true when the file exists.
 * @example
 * ```ts
 * const resumeFrom = (await hasCheckpoint('runs/simclr')) ? await loadCheckpoint('runs/simclr') : undefined;
 * ```
 * @category Checkpoints
 */
export async function hasCheckpoint(dir: string, options: CheckpointFileOptions = {}): Promise<boolean> {
  const file = resolveFile(dir, options, 'hasCheckpoint');
  try {
    return (await fs.promises.stat(file)).isFile();
  } catch {
    return false;
  }
}

/**
 * Options of {@link directoryCheckpointer}.
 * @category Checkpoints
 */
export interface DirectoryCheckpointerOptions extends CheckpointFileOptions {
  /** Save after every `every` epochs (and after the last). @defaultValue 1 */
  readonly every?: number;
}

/**
 * A {@link Checkpointer} for `train({ checkpoint })` that saves to a directory with {@link saveCheckpoint}.
 *
 * @param dir - directory of the checkpoint.
 * @param options - frequency and file name.
 * @returns the checkpointer.
 * @throws `ContrastiveError` `INVALID_ARGUMENT` for a bad `every` or path.
 * @example
 * ```ts
 * await train({ ...options, checkpoint: directoryCheckpointer('runs/simclr', { every: 5 }) });
 * ```
 * @category Checkpoints
 */
export function directoryCheckpointer(dir: string, options: DirectoryCheckpointerOptions = {}): Checkpointer {
  const fn = 'directoryCheckpointer';
  resolveFile(dir, options, fn);
  const every = options.every ?? 1;
  assertNumber(every, 'every', fn, { integer: true, min: 1 });
  const fileOptions: CheckpointFileOptions = options.fileName === undefined ? {} : { fileName: options.fileName };
  return {
    every,
    async save(state: TrainState): Promise<void> {
      await saveCheckpoint(dir, state, fileOptions);
    },
  };
}
