import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '@contrastive/core';
import type { BackendName } from '@contrastive/core';
import { loadMnist } from '@contrastive/data';
import type { ImageDataset } from '@contrastive/data';
import { loadFashionMnist } from '@contrastive/data/node';
import { assertTrainCommand } from './args.js';
import type { TrainCommand } from './args.js';
import { createProgress } from './progress.js';
import { percent, runSimclr } from './recipes/simclr.js';

/** The `report.json` a run writes. @category CLI */
export interface RunReport {
  readonly name: string;
  readonly recipe: string;
  readonly dataset: string;
  readonly config: Omit<TrainCommand, 'quiet' | 'resume'> & { readonly trainCount: number; readonly testCount: number };
  readonly backend: string;
  readonly parameters: number;
  readonly epochs: readonly { readonly epoch: number; readonly loss: number; readonly seconds: number }[];
  readonly resumedFromEpoch: number | null;
  readonly trainSeconds: number;
  readonly totalSeconds: number;
  readonly metrics: {
    readonly knn_top1: number;
    readonly linear_adam_top1: number;
    readonly random_init_knn_top1: number;
    readonly random_init_linear_adam_top1: number;
    readonly raw_knn_top1: number;
    readonly raw_linear_adam_top1: number;
  };
  readonly finishedAt: string;
}

async function loadDataset(command: TrainCommand): Promise<ImageDataset> {
  switch (command.dataset) {
    case 'mnist':
      return loadMnist(command.trainLimit === undefined ? {} : { trainLimit: command.trainLimit });
    case 'fashion-mnist':
      return loadFashionMnist(command.trainLimit === undefined ? {} : { trainLimit: command.trainLimit });
    default: {
      const unreachable: never = command.dataset;
      throw new Error(`unknown dataset ${String(unreachable)}`);
    }
  }
}

/**
 * `contrastive train`: select a backend, load the data, run the recipe, print the learned
 * representation's kNN and linear-probe top-1 next to raw pixels' on the same split, and write
 * `<out>/<name>/report.json` atomically.
 *
 * @param command - parsed options.
 * @returns the report written.
 * @throws `ContrastiveError` `INVALID_ARGUMENT` naming the field (`command.epochs`, ...) when
 * `command` is not a {@link TrainCommand} in the ranges {@link parseTrainArgs} enforces (checked
 * before any data is loaded); `BACKEND` when the backend cannot start; `DATA` for a malformed
 * dataset file; and the errors of the recipe.
 * @category CLI
 */
export async function runTrainCommand(command: TrainCommand): Promise<RunReport> {
  assertTrainCommand(command, 'runTrainCommand');
  const started = performance.now();
  const preference: readonly BackendName[] = command.backend === 'auto' ? ['tensorflow', 'wasm', 'cpu'] : [command.backend];
  const backend = await selectBackend({ preference });
  const dataset = await loadDataset(command);
  const runDir = join(command.out, command.name);
  await mkdir(runDir, { recursive: true });
  const progress = createProgress({ quiet: command.quiet });
  progress.log(
    `${command.recipe} on ${command.dataset}: ${dataset.train.count} train / ${dataset.test.count} test images, ` +
      `${command.epochs} epochs of batch ${command.batchSize}, seed ${command.seed}`,
  );
  const outcome = await runSimclr({
    dataset,
    flip: command.dataset === 'fashion-mnist',
    epochs: command.epochs,
    batchSize: command.batchSize,
    seed: command.seed,
    temperature: command.temperature,
    learningRate: command.learningRate,
    runDir,
    resume: command.resume,
    progress,
  });
  const { quiet: _quiet, resume: _resume, ...config } = command;
  const report: RunReport = {
    name: command.name,
    recipe: command.recipe,
    dataset: command.dataset,
    config: { ...config, trainCount: dataset.train.count, testCount: dataset.test.count },
    backend: backend.name,
    parameters: outcome.parameters,
    epochs: outcome.epochs.map((summary) => ({ epoch: summary.epoch + 1, loss: summary.meanLoss, seconds: summary.seconds })),
    resumedFromEpoch: outcome.resumedFromEpoch,
    trainSeconds: outcome.trainSeconds,
    totalSeconds: (performance.now() - started) / 1000,
    metrics: {
      knn_top1: outcome.learned.knnTop1,
      linear_adam_top1: outcome.learned.linearTop1,
      random_init_knn_top1: outcome.randomInit.knnTop1,
      random_init_linear_adam_top1: outcome.randomInit.linearTop1,
      raw_knn_top1: outcome.rawPixels.knnTop1,
      raw_linear_adam_top1: outcome.rawPixels.linearTop1,
    },
    finishedAt: new Date().toISOString(),
  };
  const file = join(runDir, 'report.json');
  await writeFile(`${file}.tmp`, `${JSON.stringify(report, null, 2)}\n`);
  await rename(`${file}.tmp`, file);

  const rows = [
    ['representation', 'kNN top-1', 'linear top-1'],
    [`${command.recipe} (${command.epochs} epochs)`, percent(outcome.learned.knnTop1), percent(outcome.learned.linearTop1)],
    ['untrained encoder', percent(outcome.randomInit.knnTop1), percent(outcome.randomInit.linearTop1)],
    ['raw pixels', percent(outcome.rawPixels.knnTop1), percent(outcome.rawPixels.linearTop1)],
  ];
  console.log('');
  for (const row of rows) console.log(`${(row[0] as string).padEnd(28)}${(row[1] as string).padStart(12)}${(row[2] as string).padStart(14)}`);
  console.log(
    `\nlinear probe: learned ${percent(outcome.learned.linearTop1)} vs raw pixels ${percent(outcome.rawPixels.linearTop1)} ` +
      `(${((outcome.learned.linearTop1 - outcome.rawPixels.linearTop1) * 100).toFixed(2)} points) on ${backend.name}, ` +
      `${report.totalSeconds.toFixed(0)} s in all; report: ${file}`,
  );
  if (tf.memory().numTensors > 0) progress.log(`note: ${tf.memory().numTensors} tensors still alive at exit`);
  return report;
}
