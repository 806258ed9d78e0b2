/**
 * Crash test of the checkpoint writer: child Node processes (test-support/checkpoint-crash-child.mjs,
 * running the BUILT package in packages/core/dist — `npm test` builds it first) train and save
 * after every epoch into one directory, and are SIGKILLed at seeded random moments during a save.
 * After every kill the last complete checkpoint must load, match the uninterrupted run at its
 * epoch bit for bit, and the next child, resuming from it, must keep matching the uninterrupted run.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isContrastiveError } from '../errors.js';
import { Rng } from '../rng.js';
import { useTestBackend } from '../testing/index.js';
import { disposeTrainState } from '../train.js';
import type { TrainState } from '../train.js';
import { CHECKPOINT_FILE_NAME, CHECKPOINT_FORMAT_VERSION, hasCheckpoint, loadCheckpoint } from './index.js';

const CHILD = fileURLToPath(new URL('./test-support/checkpoint-crash-child.mjs', import.meta.url));
/** Kills in total, spread over parallel lanes (one directory each). */
const KILLS = 50;
const LANES = 2;
/** float32 values of the payload saved with every checkpoint (1 MB): makes a save last long enough to be hit. */
const PAYLOAD = 250_000;
/** Epochs of the reference run; every lane stays below it. */
const REFERENCE_EPOCHS = 2 * (KILLS / LANES) + 6;
/** The seed of the kill schedule. */
const SEED = 20_240_909;

/**
 * Backend of the children: cpu, whatever the parent's test backend, because starting a child is
 * the cost of this test and wasm adds its compilation to every start. (The parent loads and
 * checks their checkpoints on its own backend.)
 */
const CHILD_BACKEND = 'cpu';
let backend: 'wasm' | 'cpu' = 'wasm';
let root = '';

beforeAll(async () => {
  backend = await useTestBackend();
  root = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'contrastive-crash-'));
});

afterAll(async () => {
  await fs.promises.rm(root, { recursive: true, force: true });
});

interface ChildEvent {
  readonly event: 'start' | 'saveBegin' | 'saveEnd' | 'done';
  readonly epoch: number;
  readonly hash?: string;
  readonly ms?: number;
}

interface ChildRun {
  readonly events: ChildEvent[];
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stderr: string;
}

/**
 * Runs the child; `onEvent` may return a delay in ms after which the child is SIGKILLed. Resolves
 * once the child's output is fully read (all lines written before the kill are seen).
 */
function runChild(mode: 'crash' | 'reference', dir: string, epochs: number, onEvent: (event: ChildEvent) => number | undefined = () => undefined): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, mode, dir, CHILD_BACKEND, String(epochs), String(PAYLOAD)], { stdio: ['ignore', 'pipe', 'pipe'] });
    const events: ChildEvent[] = [];
    let stderr = '';
    let pending = '';
    let killTimer: NodeJS.Timeout | undefined;
    const watchdog = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      pending += chunk;
      let newline = pending.indexOf('\n');
      while (newline >= 0) {
        const line = pending.slice(0, newline);
        pending = pending.slice(newline + 1);
        newline = pending.indexOf('\n');
        const event = JSON.parse(line) as ChildEvent;
        events.push(event);
        const delay = onEvent(event);
        if (delay !== undefined && killTimer === undefined) killTimer = setTimeout(() => child.kill('SIGKILL'), delay);
      }
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(watchdog);
      if (killTimer !== undefined) clearTimeout(killTimer);
      resolve({ events, code, signal, stderr });
    });
  });
}

/** Same hash as the child's `stateHash`: weights, optimizer state and generator state. */
function stateHash(state: TrainState): string {
  const hash = createHash('sha256');
  const tensors = [
    ...state.encoderWeights,
    ...state.headWeights,
    ...state.optimizer.weights.map(({ tensor }) => tensor),
    ...state.optimizer.accumulators.map(({ tensor }) => tensor),
  ];
  for (const tensor of tensors) {
    const values = tensor.dataSync() as Float32Array | Int32Array | Uint8Array;
    hash.update(`${tensor.dtype}[${tensor.shape.join(',')}]`);
    hash.update(Buffer.from(values.buffer, values.byteOffset, values.byteLength));
  }
  hash.update(JSON.stringify(state.rng));
  return hash.digest('hex');
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

interface LaneReport {
  /** Kills after which the checkpoint on disk was older than the save in progress (killed mid-save). */
  midSave: number;
  /** Kills that left a temporary file behind (killed between creating and renaming it). */
  tornTemporary: number;
  /** Kills that landed after the save had renamed its file. */
  afterRename: number;
  /** Epochs checked against the reference (from child output and from loaded checkpoints). */
  checkedEpochs: number;
  /** Epoch of the lane's last checkpoint. */
  finalEpoch: number;
}

describe('checkpoints survive SIGKILL during a save (child processes on the built package)', () => {
  const reference = new Map<number, string>();
  const reports: LaneReport[] = [];

  it('the uninterrupted reference run', async () => {
    expect(fs.existsSync(path.join(path.dirname(CHILD), '..', '..', '..', 'dist', 'node', 'index.js'))).toBe(true);
    const run = await runChild('reference', path.join(root, 'reference'), REFERENCE_EPOCHS);
    expect(run.code, run.stderr).toBe(0);
    for (const { event, epoch, hash } of run.events) if (event === 'saveBegin') reference.set(epoch, hash as string);
    expect(reference.size).toBe(REFERENCE_EPOCHS);
  });

  it(`${KILLS} seeded SIGKILLs during saves: the last complete checkpoint always loads, equals the uninterrupted run at its epoch, and resuming from it continues that run exactly`, async () => {
    expect(reference.size).toBe(REFERENCE_EPOCHS);

    const lane = async (index: number): Promise<LaneReport> => {
      const dir = path.join(root, `lane-${index}`);
      const rng = new Rng(SEED + index);
      const report: LaneReport = { midSave: 0, tornTemporary: 0, afterRename: 0, checkedEpochs: 0, finalEpoch: 0 };
      const saveTimes: number[] = [];
      let lastEnded = 0;
      // Mismatches seen while a child runs (inside its output handler) are collected, then asserted.
      const problems: string[] = [];
      const checkReference = (epoch: number, hash: string | undefined, what: string): void => {
        if (hash !== reference.get(epoch)) problems.push(`${what}: epoch ${epoch} differs from the uninterrupted run`);
        report.checkedEpochs++;
      };

      for (let kill = 0; kill < KILLS / LANES; kill++) {
        let target = -1;
        let lastBegun = lastEnded;
        const run = await runChild('crash', dir, REFERENCE_EPOCHS, (event) => {
          switch (event.event) {
            case 'start':
              // The child resumes from the checkpoint verified after the previous kill.
              if (event.epoch !== lastEnded) problems.push(`lane ${index}, child ${kill} started at epoch ${event.epoch}, expected ${lastEnded}`);
              target = event.epoch + 1 + rng.int(2);
              return undefined;
            case 'saveBegin':
              lastBegun = event.epoch;
              checkReference(event.epoch, event.hash, `lane ${index}, child ${kill}`);
              // Kill at a uniformly random moment within (about) one save's duration.
              return event.epoch === target ? rng.uniform(0, Math.max(2, median(saveTimes))) : undefined;
            case 'saveEnd':
              lastEnded = event.epoch;
              saveTimes.push(event.ms as number);
              return undefined;
            case 'done':
              return undefined;
            default:
              return undefined;
          }
        });
        expect(run.signal, `child ${kill} of lane ${index} was not killed: ${run.stderr}`).toBe('SIGKILL');
        expect(problems).toEqual([]);

        const entries = await fs.promises.readdir(dir).catch(() => [] as string[]);
        const temporaries = entries.filter((name) => name.endsWith('.tmp'));
        if (temporaries.length > 0) report.tornTemporary++;
        if (!(await hasCheckpoint(dir))) {
          // Killed during the very first save, before its rename: nothing was ever complete.
          expect(lastEnded).toBe(0);
          report.midSave++;
        } else {
          const state = await loadCheckpoint(dir);
          try {
            expect(state.epoch).toBeGreaterThanOrEqual(lastEnded);
            expect(state.epoch).toBeLessThanOrEqual(lastBegun);
            if (state.epoch < lastBegun) report.midSave++;
            else report.afterRename++;
            checkReference(state.epoch, stateHash(state), `checkpoint of lane ${index} after kill ${kill}`);
            expect(problems).toEqual([]);
            const payload = state.extra['payload']?.[0];
            expect(payload?.size).toBe(PAYLOAD);
            expect(tf.tidy(() => tf.all(tf.equal(payload as tf.Tensor, state.epoch)).dataSync()[0])).toBe(1);
            lastEnded = state.epoch;
          } finally {
            disposeTrainState(state);
          }
        }
        // Stray temporaries of killed writers are ignored by the loader; clear them to bound disk use.
        await Promise.all(temporaries.map((name) => fs.promises.unlink(path.join(dir, name))));
      }

      // A last child resumes and finishes two more epochs normally.
      const finalEpochs = lastEnded + 2;
      const last = await runChild('crash', dir, finalEpochs);
      expect(last.code, last.stderr).toBe(0);
      for (const event of last.events) if (event.event === 'saveBegin') checkReference(event.epoch, event.hash, `final child of lane ${index}`);
      const state = await loadCheckpoint(dir);
      try {
        expect(state.epoch).toBe(finalEpochs);
        checkReference(state.epoch, stateHash(state), `final checkpoint of lane ${index}`);
        expect(problems).toEqual([]);
      } finally {
        disposeTrainState(state);
      }
      report.finalEpoch = finalEpochs;
      return report;
    };

    const started = performance.now();
    reports.push(...(await Promise.all(Array.from({ length: LANES }, (_, index) => lane(index)))));
    const seconds = (performance.now() - started) / 1000;
    const total = (field: keyof LaneReport): number => reports.reduce((sum, report) => sum + report[field], 0);
    console.info(
      `[checkpoint-crash] ${KILLS} kills (children on ${CHILD_BACKEND}, checks on ${backend}) in ${seconds.toFixed(1)} s: ${total('midSave')} mid-save ` +
        `(${total('tornTemporary')} left a torn temporary file), ${total('afterRename')} after the rename; ` +
        `${total('checkedEpochs')} epochs matched the uninterrupted run; final epochs ${reports.map((report) => report.finalEpoch).join(', ')}`,
    );
    expect(total('midSave') + total('afterRename')).toBe(KILLS);
    // The schedule does hit saves in progress (not only the gaps between them).
    expect(total('midSave')).toBeGreaterThan(0);
    // The cost is the 50 child starts (~1 s of CPU each: loading tfjs-core and tfjs-layers), about
    // 30 s on an idle 2-core machine; the timeout leaves room for a loaded one.
  }, 300_000);

  it('a checkpoint of another format version is rejected with CHECKPOINT naming the file', async () => {
    const source = path.join(root, 'lane-0', CHECKPOINT_FILE_NAME);
    const dir = path.join(root, 'other-version');
    await fs.promises.mkdir(dir, { recursive: true });
    const file = path.join(dir, CHECKPOINT_FILE_NAME);
    const bytes = await fs.promises.readFile(source);
    for (const version of [0, CHECKPOINT_FORMAT_VERSION + 1, 0xffffffff]) {
      const other = Buffer.from(bytes);
      other.writeUInt32LE(version, 8);
      await fs.promises.writeFile(file, other);
      const error = await loadCheckpoint(dir).then(
        (state) => {
          disposeTrainState(state);
          return undefined;
        },
        (caught: unknown) => caught,
      );
      expect(isContrastiveError(error)).toBe(true);
      expect((error as { code: string }).code).toBe('CHECKPOINT');
      expect((error as Error).message).toBe(
        `Checkpoint '${file}' has format version ${version}; this build of @contrastive/core reads version ${CHECKPOINT_FORMAT_VERSION}`,
      );
    }
  });

  it('a truncated checkpoint (as a non-atomic writer would leave) is rejected with CHECKPOINT naming the file', async () => {
    const source = path.join(root, 'lane-1', CHECKPOINT_FILE_NAME);
    const dir = path.join(root, 'truncated');
    await fs.promises.mkdir(dir, { recursive: true });
    const file = path.join(dir, CHECKPOINT_FILE_NAME);
    const bytes = await fs.promises.readFile(source);
    const rng = new Rng(SEED);
    for (const length of [0, 7, 16, 100, bytes.length - 33, bytes.length - 1, ...Array.from({ length: 6 }, () => rng.int(bytes.length))]) {
      await fs.promises.writeFile(file, bytes.subarray(0, length));
      const error = await loadCheckpoint(dir).then(
        (state) => {
          disposeTrainState(state);
          return undefined;
        },
        (caught: unknown) => caught,
      );
      expect(isContrastiveError(error), `length ${length}`).toBe(true);
      expect((error as { code: string }).code).toBe('CHECKPOINT');
      expect((error as Error).message).toMatch(new RegExp(`^Checkpoint '${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}' (is truncated|is not a Contrastive checkpoint)`));
    }
  });
});
