import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { useTestBackend } from '@contrastive/core/testing';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parseTrainArgs } from './args.js';
import type { TrainCommand } from './args.js';
import { runTrainCommand } from './train-command.js';

let out: string;

beforeAll(async () => {
  await useTestBackend('wasm');
  out = await mkdtemp(join(tmpdir(), 'contrastive-cli-'));
  vi.spyOn(console, 'log').mockImplementation(() => undefined);
  vi.spyOn(console, 'info').mockImplementation(() => undefined);
});

afterAll(async () => {
  vi.restoreAllMocks();
  await rm(out, { recursive: true, force: true });
});

function command(extra: string[]): TrainCommand {
  const parsed = parseTrainArgs(['--train-limit', '256', '--batch-size', '64', '--backend', 'wasm', '--out', out, '--quiet', ...extra]);
  if (parsed === 'help') throw new Error('unexpected help');
  return parsed;
}

describe('contrastive train (small run on wasm)', () => {
  it('trains, evaluates learned and raw representations, writes report.json, and leaks nothing', async () => {
    const before = tf.memory().numTensors;
    const report = await runTrainCommand(command(['--epochs', '1', '--name', 'small']));
    expect(tf.memory().numTensors).toBe(before);
    const written = JSON.parse(await readFile(join(out, 'small', 'report.json'), 'utf8'));
    expect(written).toEqual(report);
    expect(report.backend).toBe('wasm');
    expect(report.config).toMatchObject({ recipe: 'simclr', dataset: 'mnist', epochs: 1, batchSize: 64, trainCount: 256, testCount: 2000 });
    expect(report.parameters).toBe(445_120);
    expect(report.epochs).toHaveLength(1);
    expect(report.epochs[0]!.loss).toBeGreaterThan(0);
    expect(report.epochs[0]!.loss).toBeLessThan(Math.log(127) + 0.01); // at most log(2N - 1) + rounding
    for (const value of Object.values(report.metrics)) {
      expect(value).toBeGreaterThan(0.3); // 10 classes: chance is ~0.1
      expect(value).toBeLessThanOrEqual(1);
    }
    expect(await readdir(join(out, 'small'))).toEqual(expect.arrayContaining(['report.json', 'checkpoint.ckpt']));
  });

  it('--resume continues from the checkpoint to the same losses as an uninterrupted run', async () => {
    const straight = await runTrainCommand(command(['--epochs', '2', '--name', 'straight']));
    await runTrainCommand(command(['--epochs', '1', '--name', 'resumed']));
    const resumed = await runTrainCommand(command(['--epochs', '2', '--name', 'resumed', '--resume']));
    expect(resumed.resumedFromEpoch).toBe(1);
    expect(resumed.epochs.map((epoch) => epoch.loss)).toEqual(straight.epochs.map((epoch) => epoch.loss));
    expect(resumed.metrics.knn_top1).toBe(straight.metrics.knn_top1);
    expect(resumed.metrics.linear_adam_top1).toBe(straight.metrics.linear_adam_top1);
  });
});
