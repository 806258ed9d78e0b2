import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '@contrastive/core';
import type { BackendName } from '@contrastive/core';
import { assertTrainCommand } from './args.js';
import type { TrainCommand } from './args.js';
import { loadDatasetSpec } from './datasets.js';
import { createProgress } from './progress.js';
import { runInfominSweep } from './recipes/infomin.js';
import { recipeByName } from './recipes/registry.js';
import { percent, runRecipe } from './recipes/run-recipe.js';
import type { RecipeOutcome, RecipeSettings, RepresentationMetrics } from './recipes/run-recipe.js';
import type { RecipeOptions } from './recipes/recipe.js';

/** Figures of one evaluated representation in `report.json` (RECIPE.md's names). @category CLI */
export interface ReportMetrics {
  readonly knn_top1: number;
  /** Converged L-BFGS probe (when fitted). */
  readonly linear_top1?: number;
  /** 500-step Adam probe (when fitted). */
  readonly linear_adam_top1?: number;
  /** Spherical k-means NMI of the test representation. */
  readonly cluster_nmi?: number;
}

/** One trained run in `report.json`. @category CLI */
export interface RunSummary {
  readonly parameters: number;
  readonly options: RecipeOptions;
  readonly epochs: readonly { readonly epoch: number; readonly loss: number; readonly seconds: number }[];
  readonly resumedFromEpoch: number | null;
  readonly trainSeconds: number;
  readonly metrics: ReportMetrics & Readonly<Record<string, number>>;
  readonly random_init?: ReportMetrics;
  readonly raw?: ReportMetrics;
}

/** The `report.json` a run writes. @category CLI */
export interface RunReport extends RunSummary {
  readonly name: string;
  readonly recipe: string;
  readonly dataset: string;
  readonly config: Omit<TrainCommand, 'quiet' | 'resume'> & { readonly trainCount: number; readonly testCount: number };
  readonly backend: string;
  readonly threads: number;
  /** Whether the wasm kernels ran their fused multiply-add build (`selectBackend`'s `fma`). */
  readonly fma: boolean;
  readonly totalSeconds: number;
  /** The InfoMin sweep: one summary per strength (the top-level figures are the best strength's). */
  readonly sweep?: { readonly bestStrength: number; readonly peaksInside: boolean; readonly points: readonly (RunSummary & { readonly strength: number })[] };
  readonly finishedAt: string;
}

function reportMetrics(metrics: RepresentationMetrics): ReportMetrics {
  return {
    knn_top1: metrics.knnTop1,
    ...(metrics.linearTop1 === undefined ? {} : { linear_top1: metrics.linearTop1 }),
    ...(metrics.linearAdamTop1 === undefined ? {} : { linear_adam_top1: metrics.linearAdamTop1 }),
    ...(metrics.clusterNmi === undefined ? {} : { cluster_nmi: metrics.clusterNmi }),
  };
}

function summary(outcome: RecipeOutcome): RunSummary {
  return {
    parameters: outcome.parameters,
    options: outcome.options,
    epochs: outcome.epochs.map((epoch) => ({ epoch: epoch.epoch + 1, loss: epoch.meanLoss, seconds: epoch.seconds })),
    resumedFromEpoch: outcome.resumedFromEpoch,
    trainSeconds: outcome.trainSeconds,
    metrics: { ...reportMetrics(outcome.learned), ...outcome.recipeMetrics },
    ...(outcome.randomInit === undefined ? {} : { random_init: reportMetrics(outcome.randomInit) }),
    ...(outcome.rawPixels === undefined ? {} : { raw: reportMetrics(outcome.rawPixels) }),
  };
}

async function writeAtomic(file: string, text: string): Promise<void> {
  await writeFile(`${file}.tmp`, text);
  await rename(`${file}.tmp`, file);
}

/**
 * `contrastive train`: select a backend, load the data, run the recipe (or the InfoMin sweep),
 * print the learned representation's kNN, linear-probe and clustering figures next to raw pixels'
 * and the untrained encoder's on the same split, and write `<out>/<name>/report.json` and
 * `report.html` (the eval package's embedding report; the sweep adds `sweep.svg`) atomically.
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
  const fma = command.fma === 'on' ? true : command.fma === 'off' ? false : 'auto';
  const backend = await selectBackend({ preference, fma, ...(command.threads > 1 ? { wasmThreads: command.threads } : {}) });
  const dataset = await loadDatasetSpec(command.dataset, { trainLimit: command.trainLimit, testLimit: command.testLimit });
  const runDir = join(command.out, command.name);
  await mkdir(runDir, { recursive: true });
  const progress = createProgress({ quiet: command.quiet });
  progress.log(
    `${command.recipe} on ${command.dataset}: ${dataset.train.count} train / ${dataset.test.count} test images, ` +
      `${command.epochs} epochs of batch ${command.batchSize}, seed ${command.seed}, ${backend.name}`,
  );
  const settings: RecipeSettings = {
    dataset,
    flip: command.dataset === 'fashion-mnist',
    epochs: command.epochs,
    batchSize: command.batchSize,
    seed: command.seed,
    learningRate: command.learningRate,
    options: {
      temperature: command.temperature,
      strength: command.strength,
      miner: command.miner,
      margin: command.margin,
      queueSize: command.queueSize,
      momentum: command.momentum,
      negatives: command.negatives,
      objective: command.objective,
      clusters: command.clusters,
    },
    probe: command.probe,
    baselines: command.baselines,
    runDir,
    resume: command.resume,
    progress,
  };
  let outcome: RecipeOutcome;
  let sweep: RunReport['sweep'];
  let svg: string | undefined;
  if (command.recipe === 'infomin-sweep') {
    const result = await runInfominSweep(settings, command.strengths);
    const best = result.points.find((point) => point.strength === result.bestStrength);
    outcome = { ...(best ?? result.points[0])!.outcome, randomInit: result.points[0]?.outcome.randomInit, rawPixels: result.points[0]?.outcome.rawPixels };
    sweep = {
      bestStrength: result.bestStrength,
      peaksInside: result.peaksInside,
      points: result.points.map((point) => ({ strength: point.strength, ...summary(point.outcome) })),
    };
    svg = result.svg;
  } else {
    outcome = await runRecipe(recipeByName(command.recipe), settings);
  }
  const { quiet: _quiet, resume: _resume, ...config } = command;
  const report: RunReport = {
    name: command.name,
    recipe: command.recipe,
    dataset: command.dataset,
    config: { ...config, trainCount: dataset.train.count, testCount: dataset.test.count },
    backend: backend.name,
    threads: command.threads,
    fma: backend.fma,
    ...summary(outcome),
    totalSeconds: (performance.now() - started) / 1000,
    ...(sweep === undefined ? {} : { sweep }),
    finishedAt: new Date().toISOString(),
  };
  await writeAtomic(join(runDir, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
  await writeAtomic(join(runDir, 'report.html'), outcome.html);
  if (svg !== undefined) await writeAtomic(join(runDir, 'sweep.svg'), `${svg}\n`);

  const linear = (metrics: RepresentationMetrics | undefined): string => percent(metrics?.linearTop1 ?? metrics?.linearAdamTop1);
  const nmi = (metrics: RepresentationMetrics | undefined): string => (metrics?.clusterNmi === undefined ? '–' : metrics.clusterNmi.toFixed(3));
  const rows: [string, string, string, string][] = [
    ['representation', 'kNN top-1', 'linear top-1', 'NMI'],
    [`${command.recipe} (${command.epochs} epochs)`, percent(outcome.learned.knnTop1), linear(outcome.learned), nmi(outcome.learned)],
  ];
  if (outcome.randomInit !== undefined) rows.push(['untrained encoder', percent(outcome.randomInit.knnTop1), linear(outcome.randomInit), nmi(outcome.randomInit)]);
  if (outcome.rawPixels !== undefined) rows.push(['raw pixels', percent(outcome.rawPixels.knnTop1), linear(outcome.rawPixels), nmi(outcome.rawPixels)]);
  console.log('');
  for (const row of rows) console.log(`${row[0].padEnd(28)}${row[1].padStart(12)}${row[2].padStart(14)}${row[3].padStart(8)}`);
  for (const [key, value] of Object.entries(outcome.recipeMetrics)) console.log(`${key}: ${value.toFixed(4)}`);
  if (sweep !== undefined) {
    console.log(`\nInfoMin sweep: best kNN at strength ${sweep.bestStrength} (${sweep.peaksInside ? 'inside' : 'at the edge of'} the range)`);
    for (const point of sweep.points) console.log(`  strength ${String(point.strength).padEnd(5)} kNN ${percent(point.metrics.knn_top1)}`);
  }
  console.log(`\n${backend.name}, ${report.totalSeconds.toFixed(0)} s in all; report: ${join(runDir, 'report.json')} and report.html`);
  if (tf.memory().numTensors > 0) progress.log(`note: ${tf.memory().numTensors} tensors still alive at exit`);
  return report;
}
