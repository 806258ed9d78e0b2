/**
 * Reliability battery of `@contrastive/cli` (issue 9): every runtime export of the index has
 * bad-input cases (each a `ContrastiveError` with a stable code naming the option or setting,
 * raised before any data is loaded or model built) or a reason to be exempt; a fast-check property
 * fuzzes the argument parser.
 */
import fc from 'fast-check';
import * as tf from '@tensorflow/tfjs-core';
import { isContrastiveError } from '@contrastive/core';
import { expectRejectsContrastive, exportCoverageGaps, useTestBackend } from '@contrastive/core/testing';
import type { BadInputCase, ExportCoverage } from '@contrastive/core/testing';
import type { ImageDataset, ImageSplit } from '@contrastive/data';
import { beforeAll, describe, expect, it } from 'vitest';
import { assertTrainCommand } from './args.js';
import * as api from './index.js';
import type { Progress, Recipe, RecipeSettings, TrainCommand } from './index.js';

beforeAll(async () => {
  await useTestBackend();
});

/** A valid command (never run: every case breaks one field). */
function command(overrides: Partial<Record<keyof TrainCommand, unknown>> = {}): TrainCommand {
  const parsed = api.parseTrainArgs(['--quiet', '--out', '/nonexistent/contrastive-cli-reliability']);
  if (parsed === 'help') throw new Error('unexpected help');
  return { ...parsed, ...overrides } as TrainCommand;
}

function split(count: number, overrides: Partial<Record<keyof ImageSplit, unknown>> = {}): ImageSplit {
  return {
    images: new Float32Array(count * 4),
    labels: Int32Array.from({ length: count }, (_, i) => i % 2),
    count,
    shape: [2, 2, 1],
    ...overrides,
  } as ImageSplit;
}

const silent: Progress = { startEpoch: () => undefined, step: () => undefined, endEpoch: () => undefined, log: () => undefined };

/** Valid recipe settings on 8 + 4 tiny images (never run: every case breaks one field). */
function settings(overrides: Partial<Record<keyof RecipeSettings, unknown>> = {}, dataset: Partial<Record<keyof ImageDataset, unknown>> = {}): RecipeSettings {
  return {
    dataset: { train: split(8), test: split(4), classNames: ['a', 'b'], ...dataset },
    flip: false,
    epochs: 1,
    batchSize: 4,
    seed: 0,
    learningRate: 1e-3,
    options: {},
    runDir: '/nonexistent/contrastive-cli-reliability',
    resume: false,
    progress: silent,
    ...overrides,
  } as RecipeSettings;
}

/** `runRecipe(recipe)` with one option out of range. */
const badOption = (recipe: Recipe, options: Record<string, unknown>) => () => api.runRecipe(recipe, settings({ options, baselines: false }));

const parse = (argv: string[]) => () => api.parseTrainArgs(argv);

const coverage: Record<keyof typeof api, ExportCoverage> = {
  TRAIN_DEFAULTS: { exempt: 'a constant object of defaults (no input)' },
  USAGE: { exempt: 'a string constant (the help text)' },
  parseTrainArgs: [
    { what: 'argv not an array', run: () => api.parseTrainArgs('--epochs 3' as unknown as string[]), code: 'INVALID_ARGUMENT', argument: 'argv' },
    { what: 'argv holding a number', run: () => api.parseTrainArgs(['--epochs', 3 as unknown as string]), code: 'INVALID_ARGUMENT', argument: 'argv' },
    { what: 'an unknown option', run: parse(['--bogus']), code: 'INVALID_ARGUMENT', argument: '--bogus' },
    { what: 'a positional argument', run: parse(['mnist']), code: 'INVALID_ARGUMENT', argument: 'mnist' },
    { what: 'an option without its value', run: parse(['--epochs']), code: 'INVALID_ARGUMENT', argument: '--epochs' },
    { what: 'a value on a flag', run: parse(['--quiet=yes']), code: 'INVALID_ARGUMENT', argument: '--quiet' },
    { what: 'an unknown recipe', run: parse(['--recipe', 'byol']), code: 'INVALID_ARGUMENT', argument: '--recipe' },
    { what: 'an unknown dataset', run: parse(['--dataset', 'cifar10']), code: 'INVALID_ARGUMENT', argument: '--dataset' },
    { what: 'an unknown backend', run: parse(['--backend', 'webgpu']), code: 'INVALID_ARGUMENT', argument: '--backend' },
    { what: 'negative epochs', run: parse(['--epochs=-1']), code: 'INVALID_ARGUMENT', argument: '--epochs' },
    { what: 'an empty epochs value (Number("") is 0)', run: parse(['--epochs', '']), code: 'INVALID_ARGUMENT', argument: '--epochs' },
    { what: 'hexadecimal epochs', run: parse(['--epochs', '0x10']), code: 'INVALID_ARGUMENT', argument: '--epochs' },
    { what: 'fractional epochs', run: parse(['--epochs', '2.5']), code: 'INVALID_ARGUMENT', argument: '--epochs' },
    { what: 'batch size 1', run: parse(['--batch-size', '1']), code: 'INVALID_ARGUMENT', argument: '--batch-size' },
    { what: 'non-numeric batch size', run: parse(['--batch-size', 'many']), code: 'INVALID_ARGUMENT', argument: '--batch-size' },
    { what: 'temperature 0', run: parse(['--temperature', '0']), code: 'INVALID_ARGUMENT', argument: '--temperature' },
    { what: 'negative temperature', run: parse(['--temperature=-0.5']), code: 'INVALID_ARGUMENT', argument: '--temperature' },
    { what: 'infinite learning rate', run: parse(['--lr', 'Infinity']), code: 'INVALID_ARGUMENT', argument: '--lr' },
    { what: 'train limit 0', run: parse(['--train-limit', '0']), code: 'INVALID_ARGUMENT', argument: '--train-limit' },
    { what: 'fractional seed', run: parse(['--seed', '1.5']), code: 'INVALID_ARGUMENT', argument: '--seed' },
    { what: 'an empty --out', run: parse(['--out', '']), code: 'INVALID_ARGUMENT', argument: '--out' },
    { what: 'an empty --name', run: parse(['--name=']), code: 'INVALID_ARGUMENT', argument: '--name' },
  ],
  runTrainCommand: [
    { what: 'command null', run: () => api.runTrainCommand(null as unknown as TrainCommand), code: 'INVALID_ARGUMENT', argument: 'command' },
    { what: 'an unknown recipe', run: () => api.runTrainCommand(command({ recipe: 'byol' })), code: 'INVALID_ARGUMENT', argument: 'command.recipe' },
    { what: 'an unknown dataset', run: () => api.runTrainCommand(command({ dataset: 'cifar10' })), code: 'INVALID_ARGUMENT', argument: 'command.dataset' },
    { what: 'an unknown backend', run: () => api.runTrainCommand(command({ backend: 'webgpu' })), code: 'INVALID_ARGUMENT', argument: 'command.backend' },
    { what: 'negative epochs', run: () => api.runTrainCommand(command({ epochs: -1 })), code: 'INVALID_ARGUMENT', argument: 'command.epochs' },
    { what: 'batch size 1', run: () => api.runTrainCommand(command({ batchSize: 1 })), code: 'INVALID_ARGUMENT', argument: 'command.batchSize' },
    { what: 'NaN seed', run: () => api.runTrainCommand(command({ seed: NaN })), code: 'INVALID_ARGUMENT', argument: 'command.seed' },
    { what: 'temperature 0', run: () => api.runTrainCommand(command({ temperature: 0 })), code: 'INVALID_ARGUMENT', argument: 'command.temperature' },
    { what: 'threads 0', run: () => api.runTrainCommand(command({ threads: 0 })), code: 'INVALID_ARGUMENT', argument: 'command.threads' },
    { what: 'fma yes', run: () => api.runTrainCommand(command({ fma: 'yes' as never })), code: 'INVALID_ARGUMENT', argument: 'command.fma' },
    { what: 'a strength of 2', run: () => api.runTrainCommand(command({ strength: 2 })), code: 'INVALID_ARGUMENT', argument: 'command.strength' },
    { what: 'an empty strength list', run: () => api.runTrainCommand(command({ strengths: [] })), code: 'INVALID_ARGUMENT', argument: 'command.strengths' },
    { what: 'an unknown miner', run: () => api.runTrainCommand(command({ miner: 'hardest' })), code: 'INVALID_ARGUMENT', argument: 'command.miner' },
    { what: 'a negative margin', run: () => api.runTrainCommand(command({ margin: -1 })), code: 'INVALID_ARGUMENT', argument: 'command.margin' },
    { what: 'queue size 0', run: () => api.runTrainCommand(command({ queueSize: 0 })), code: 'INVALID_ARGUMENT', argument: 'command.queueSize' },
    { what: 'momentum 1.5', run: () => api.runTrainCommand(command({ momentum: 1.5 })), code: 'INVALID_ARGUMENT', argument: 'command.momentum' },
    { what: 'negatives 0', run: () => api.runTrainCommand(command({ negatives: 0 })), code: 'INVALID_ARGUMENT', argument: 'command.negatives' },
    { what: 'an unknown instdisc objective', run: () => api.runTrainCommand(command({ objective: 'exact' as never })), code: 'INVALID_ARGUMENT', argument: 'command.objective' },
    { what: 'a cluster count of 1', run: () => api.runTrainCommand(command({ clusters: [10, 1] })), code: 'INVALID_ARGUMENT', argument: 'command.clusters[1]' },
    { what: 'an unknown probe', run: () => api.runTrainCommand(command({ probe: 'svm' })), code: 'INVALID_ARGUMENT', argument: 'command.probe' },
    { what: 'baselines not a boolean', run: () => api.runTrainCommand(command({ baselines: 'yes' })), code: 'INVALID_ARGUMENT', argument: 'command.baselines' },
    { what: 'test limit 0', run: () => api.runTrainCommand(command({ testLimit: 0 })), code: 'INVALID_ARGUMENT', argument: 'command.testLimit' },
    { what: 'negative learning rate', run: () => api.runTrainCommand(command({ learningRate: -1e-3 })), code: 'INVALID_ARGUMENT', argument: 'command.learningRate' },
    { what: 'train limit 0', run: () => api.runTrainCommand(command({ trainLimit: 0 })), code: 'INVALID_ARGUMENT', argument: 'command.trainLimit' },
    { what: 'an empty out directory', run: () => api.runTrainCommand(command({ out: '' })), code: 'INVALID_ARGUMENT', argument: 'command.out' },
    { what: 'a name that is not a string', run: () => api.runTrainCommand(command({ name: 7 })), code: 'INVALID_ARGUMENT', argument: 'command.name' },
    { what: 'quiet not a boolean', run: () => api.runTrainCommand(command({ quiet: 'yes' })), code: 'INVALID_ARGUMENT', argument: 'command.quiet' },
    { what: 'resume not a boolean', run: () => api.runTrainCommand(command({ resume: undefined })), code: 'INVALID_ARGUMENT', argument: 'command.resume' },
  ],
  runRecipe: [
    { what: 'recipe null', run: () => api.runRecipe(null as unknown as Recipe, settings()), code: 'INVALID_ARGUMENT', argument: 'recipe' },
    { what: 'settings null', run: () => api.runRecipe(api.simclrRecipe, null as unknown as RecipeSettings), code: 'INVALID_ARGUMENT', argument: 'settings' },
    { what: 'no dataset', run: () => api.runRecipe(api.simclrRecipe, settings({ dataset: undefined })), code: 'INVALID_ARGUMENT', argument: 'settings.dataset' },
    { what: 'no test split', run: () => api.runRecipe(api.simclrRecipe, settings({}, { test: null })), code: 'INVALID_ARGUMENT', argument: 'settings.dataset.test' },
    { what: 'test images of another shape', run: () => api.runRecipe(api.simclrRecipe, settings({}, { test: split(4, { shape: [2, 1, 2] }) })), code: 'SHAPE_MISMATCH', argument: 'settings.dataset.test' },
    { what: 'negative epochs', run: () => api.runRecipe(api.simclrRecipe, settings({ epochs: -1 })), code: 'INVALID_ARGUMENT', argument: 'settings.epochs' },
    { what: 'batch size 1', run: () => api.runRecipe(api.simclrRecipe, settings({ batchSize: 1 })), code: 'INVALID_ARGUMENT', argument: 'settings.batchSize' },
    { what: 'a batch larger than the train set', run: () => api.runRecipe(api.simclrRecipe, settings({ batchSize: 9 })), code: 'INVALID_ARGUMENT', argument: 'settings.batchSize' },
    { what: 'negative seed', run: () => api.runRecipe(api.simclrRecipe, settings({ seed: -1 })), code: 'INVALID_ARGUMENT', argument: 'settings.seed' },
    { what: 'learning rate NaN', run: () => api.runRecipe(api.simclrRecipe, settings({ learningRate: NaN })), code: 'INVALID_ARGUMENT', argument: 'settings.learningRate' },
    { what: 'options null', run: () => api.runRecipe(api.simclrRecipe, settings({ options: null })), code: 'INVALID_ARGUMENT', argument: 'settings.options' },
    { what: 'a strength above 1', run: () => api.runRecipe(api.simclrRecipe, settings({ options: { strength: 2 } })), code: 'INVALID_ARGUMENT', argument: 'settings.options.strength' },
    { what: 'an unknown probe', run: () => api.runRecipe(api.simclrRecipe, settings({ probe: 'svm' })), code: 'INVALID_ARGUMENT', argument: 'settings.probe' },
    { what: 'baselines not a boolean', run: () => api.runRecipe(api.simclrRecipe, settings({ baselines: 1 })), code: 'INVALID_ARGUMENT', argument: 'settings.baselines' },
    { what: 'an empty run directory', run: () => api.runRecipe(api.simclrRecipe, settings({ runDir: '' })), code: 'INVALID_ARGUMENT', argument: 'settings.runDir' },
    { what: 'flip not a boolean', run: () => api.runRecipe(api.simclrRecipe, settings({ flip: 1 })), code: 'INVALID_ARGUMENT', argument: 'settings.flip' },
    { what: 'resume not a boolean', run: () => api.runRecipe(api.simclrRecipe, settings({ resume: 'no' })), code: 'INVALID_ARGUMENT', argument: 'settings.resume' },
    { what: 'a progress without log', run: () => api.runRecipe(api.simclrRecipe, settings({ progress: { ...silent, log: undefined } })), code: 'INVALID_ARGUMENT', argument: 'settings.progress' },
    { what: 'train labels of the wrong count', run: () => api.runRecipe(api.simclrRecipe, settings({}, { train: split(8, { labels: new Int32Array(7) }) })), code: 'LABEL_COUNT', argument: 'split' },
    { what: 'float test labels', run: () => api.runRecipe(api.simclrRecipe, settings({}, { test: split(4, { labels: new Float32Array(4) }) })), code: 'DTYPE_MISMATCH', argument: 'split' },
  ],
  simclrRecipe: [{ what: 'temperature 0', run: badOption(api.simclrRecipe, { temperature: 0 }), code: 'INVALID_ARGUMENT', argument: 'settings.options.temperature' }],
  supconRecipe: [{ what: 'temperature NaN', run: badOption(api.supconRecipe, { temperature: NaN }), code: 'INVALID_ARGUMENT', argument: 'settings.options.temperature' }],
  hclRecipe: [{ what: 'negative temperature', run: badOption(api.hclRecipe, { temperature: -0.5 }), code: 'INVALID_ARGUMENT', argument: 'settings.options.temperature' }],
  dclRecipe: [{ what: 'infinite temperature', run: badOption(api.dclRecipe, { temperature: Infinity }), code: 'INVALID_ARGUMENT', argument: 'settings.options.temperature' }],
  tripletRecipe: [
    { what: 'a negative margin', run: badOption(api.tripletRecipe, { margin: -0.1 }), code: 'INVALID_ARGUMENT', argument: 'options.margin' },
    { what: 'an unknown miner', run: badOption(api.tripletRecipe, { miner: 'hardest' }), code: 'INVALID_ARGUMENT', argument: 'options.miner' },
  ],
  mocoRecipe: [
    { what: 'a queue smaller than the keys of one step', run: badOption(api.mocoRecipe, { queueSize: 4 }), code: 'INVALID_ARGUMENT', argument: 'options.queueSize' },
    { what: 'momentum 1', run: badOption(api.mocoRecipe, { momentum: 1 }), code: 'INVALID_ARGUMENT', argument: 'options.momentum' },
  ],
  instdiscRecipe: [
    { what: 'zero negatives', run: badOption(api.instdiscRecipe, { negatives: 0 }), code: 'INVALID_ARGUMENT', argument: 'options.negatives' },
    { what: 'momentum 1', run: badOption(api.instdiscRecipe, { momentum: 1 }), code: 'INVALID_ARGUMENT', argument: 'options.momentum' },
  ],
  clipRecipe: [
    { what: 'temperature 0', run: badOption(api.clipRecipe, { temperature: 0 }), code: 'INVALID_ARGUMENT', argument: 'settings.options.temperature' },
    { what: 'one class name for two classes', run: () => api.runRecipe(api.clipRecipe, settings({ baselines: false }, { classNames: ['a'] })), code: 'INVALID_ARGUMENT', argument: 'dataset.classNames' },
  ],
  pclRecipe: [
    { what: 'a cluster count of 1', run: badOption(api.pclRecipe, { clusters: [1] }), code: 'INVALID_ARGUMENT', argument: 'options.clusters' },
    { what: 'more clusters than images', run: badOption(api.pclRecipe, { clusters: [2, 50] }), code: 'INVALID_ARGUMENT', argument: 'options.clusters' },
  ],
  pclRecipeWith: [
    { what: 'config null', run: () => api.pclRecipeWith(null as never), code: 'INVALID_ARGUMENT', argument: 'config' },
    { what: 'negative warm-up', run: () => api.pclRecipeWith({ warmupEpochs: -1 }), code: 'INVALID_ARGUMENT', argument: 'config.warmupEpochs' },
  ],
  loocRecipe: [{ what: 'temperature NaN', run: badOption(api.loocRecipe, { temperature: NaN }), code: 'INVALID_ARGUMENT', argument: 'settings.options.temperature' }],
  RECIPES: { exempt: 'a frozen name -> Recipe table (no input); each recipe has its own cases' },
  RECIPE_CHOICES: { exempt: 'a constant list of names' },
  INFOMIN_STRENGTHS: { exempt: 'a frozen list of numbers' },
  recipeByName: [
    { what: 'an unknown name', run: () => api.recipeByName('byol'), code: 'INVALID_ARGUMENT', argument: 'recipe' },
  ],
  runInfominSweep: [
    { what: 'two strengths', run: () => api.runInfominSweep(settings(), [0.1, 0.5]), code: 'INVALID_ARGUMENT', argument: 'strengths' },
    { what: 'a strength above 1', run: () => api.runInfominSweep(settings(), [0.1, 0.5, 1.5]), code: 'INVALID_ARGUMENT', argument: 'strengths[2]' },
    { what: 'a repeated strength', run: () => api.runInfominSweep(settings(), [0.1, 0.5, 0.5]), code: 'INVALID_ARGUMENT', argument: 'strengths' },
    { what: 'bad settings (reach runRecipe)', run: () => api.runInfominSweep(settings({ epochs: -1 }), [0.1, 0.5, 0.9]), code: 'INVALID_ARGUMENT', argument: 'settings.epochs' },
  ],
  loadDatasetSpec: [
    { what: 'an unknown spec', run: () => api.loadDatasetSpec('cifar10' as never), code: 'INVALID_ARGUMENT', argument: 'spec' },
    { what: 'three CSV files', run: () => api.loadDatasetSpec('csv:a,b,c'), code: 'INVALID_ARGUMENT', argument: 'spec' },
    { what: 'a missing IDX directory', run: () => api.loadDatasetSpec('idx:/nonexistent/contrastive-idx'), code: 'DATA', argument: null },
  ],
  createProgress: [
    { what: 'options null', run: () => api.createProgress(null as unknown as { quiet: boolean }), code: 'INVALID_ARGUMENT', argument: 'options' },
    { what: 'quiet missing', run: () => api.createProgress({} as { quiet: boolean }), code: 'INVALID_ARGUMENT', argument: 'quiet' },
    { what: 'quiet not a boolean', run: () => api.createProgress({ quiet: 'yes' as unknown as boolean }), code: 'INVALID_ARGUMENT', argument: 'quiet' },
  ],
};

describe('cli reliability battery', () => {
  it('every export of the index has a case (or a reason to be exempt)', () => {
    expect(exportCoverageGaps(api, coverage)).toEqual({ missing: [], stale: [] });
  });

  for (const [name, entry] of Object.entries(coverage)) {
    if (!Array.isArray(entry)) continue;
    for (const bad of entry as readonly BadInputCase[]) {
      it(`${name}: ${bad.what}`, async () => {
        const before = tf.memory().numTensors;
        await expectRejectsContrastive(bad.run, bad.code, bad.argument);
        // Rejected before anything was built: no tensor, encoder or optimizer is left behind.
        expect(tf.memory().numTensors).toBe(before);
      });
    }
  }
});

describe('parseTrainArgs (fast-check)', () => {
  it('any argv gives help, a command that runTrainCommand accepts, or INVALID_ARGUMENT — never another error', () => {
    const option = fc.constantFrom(
      '--recipe', '--dataset', '--epochs', '--batch-size', '--seed', '--backend', '--threads', '--fma', '--temperature', '--lr', '--strength', '--strengths',
      '--miner', '--margin', '--queue-size', '--momentum', '--negatives', '--clusters', '--probe', '--no-baselines', '--train-limit', '--test-limit',
      '--out', '--name', '--quiet', '--resume', '--help', '-h', '--bogus',
    );
    const value = fc.oneof(
      fc.constantFrom('', '0', '1', '2', '-1', '1.5', '1e3', '0x10', ' 5 ', 'NaN', 'Infinity', '0.1,0.5', '10,20', '3,,4', 'simclr', 'moco', 'mnist', 'fashion-mnist', 'idx:/d', 'csv:', 'semihard', 'lbfgs', 'wasm', 'cpu', 'auto', 'runs'),
      fc.string({ maxLength: 6 }),
    );
    const argv = fc.array(fc.oneof(option, value, fc.tuple(option, value).map(([name, text]) => `${name}=${text}`)), { maxLength: 8 });
    fc.assert(
      fc.property(argv, (args) => {
        let parsed: TrainCommand | 'help';
        try {
          parsed = api.parseTrainArgs(args);
        } catch (error) {
          if (!isContrastiveError(error) || error.code !== 'INVALID_ARGUMENT') throw error;
          return;
        }
        if (parsed !== 'help') assertTrainCommand(parsed, 'runTrainCommand');
      }),
      { numRuns: 300, seed: 9 },
    );
  });
});
