import { describe, expect, it } from 'vitest';
import { TRAIN_DEFAULTS, parseTrainArgs } from './args.js';

describe('parseTrainArgs', () => {
  it('fills in the defaults npm start relies on', () => {
    const command = parseTrainArgs([]);
    expect(command).toEqual({
      ...TRAIN_DEFAULTS,
      trainLimit: undefined,
      testLimit: undefined,
      temperature: undefined,
      strength: undefined,
      strengths: undefined,
      miner: undefined,
      margin: undefined,
      queueSize: undefined,
      momentum: undefined,
      negatives: undefined,
      objective: undefined,
      clusters: undefined,
      baselines: true,
      name: 'simclr-mnist',
      quiet: false,
      resume: false,
    });
  });

  it('reads every option', () => {
    const command = parseTrainArgs([
      '--recipe', 'moco', '--dataset', 'fashion-mnist', '--epochs', '3', '--batch-size', '128', '--seed', '7',
      '--backend', 'cpu', '--threads', '2', '--fma', 'on', '--temperature', '0.2', '--lr', '0.01', '--strength', '0.7',
      '--strengths', '0.1,0.5,0.9', '--miner', 'semihard', '--margin', '0.3', '--queue-size', '256',
      '--momentum', '0.999', '--negatives', '100', '--objective', 'softmax', '--clusters', '10,20', '--probe', 'adam', '--no-baselines',
      '--train-limit', '1000', '--test-limit', '500', '--out', '/tmp/x', '--name', 'run1', '--quiet', '--resume',
    ]);
    expect(command).toEqual({
      recipe: 'moco', dataset: 'fashion-mnist', epochs: 3, batchSize: 128, seed: 7, backend: 'cpu', threads: 2, fma: 'on',
      temperature: 0.2, learningRate: 0.01, strength: 0.7, strengths: [0.1, 0.5, 0.9], miner: 'semihard', margin: 0.3,
      queueSize: 256, momentum: 0.999, negatives: 100, objective: 'softmax', clusters: [10, 20], probe: 'adam', baselines: false,
      trainLimit: 1000, testLimit: 500, out: '/tmp/x', name: 'run1', quiet: true, resume: true,
    });
    expect(parseTrainArgs(['--help'])).toBe('help');
    expect(parseTrainArgs(['--dataset', 'idx:/data/kmnist'])).toMatchObject({ dataset: 'idx:/data/kmnist', name: 'simclr-idx_data_kmnist' });
    expect(parseTrainArgs(['--dataset', 'csv:a.csv,b.csv', '--recipe', 'supcon'])).toMatchObject({ dataset: 'csv:a.csv,b.csv', name: 'supcon-csv_a.csv_b.csv' });
  });

  it('names the bad option', () => {
    expect(() => parseTrainArgs(['--dataset', 'cifar'])).toThrow(
      /Argument '--dataset' passed to 'contrastive train' must be "mnist", "fashion-mnist", "idx:<dir>" or "csv:<file>\[,<test file>\]", got "cifar"/,
    );
    expect(() => parseTrainArgs(['--recipe', 'byol'])).toThrow(/Argument '--recipe' passed to 'contrastive train' must be one of/);
    expect(() => parseTrainArgs(['--strength', '1.5'])).toThrow(/'--strength' .* <= 1, got 1.5/);
    expect(() => parseTrainArgs(['--strengths', '0.1,,0.3'])).toThrow(/'--strengths' .* comma-separated list/);
    expect(() => parseTrainArgs(['--clusters', '10,1'])).toThrow(/'--clusters' .* >= 2, got 1/);
    expect(() => parseTrainArgs(['--miner', 'hardest'])).toThrow(/'--miner'/);
    expect(() => parseTrainArgs(['--objective', 'exact'])).toThrow(/Argument '--objective' passed to 'contrastive train' must be one of/);
    expect(() => parseTrainArgs(['--probe', 'svm'])).toThrow(/'--probe'/);
    expect(() => parseTrainArgs(['--threads', '0'])).toThrow(/'--threads' .* >= 1, got 0/);
    expect(() => parseTrainArgs(['--fma', 'yes'])).toThrow(/Argument '--fma' passed to 'contrastive train' must be one of/);
    expect(() => parseTrainArgs(['--epochs=-1'])).toThrow(/Argument '--epochs' .* must be an integer >= 0, got -1/);
    expect(() => parseTrainArgs(['--batch-size', 'many'])).toThrow(/'--batch-size' .* got NaN/);
    expect(() => parseTrainArgs(['--temperature', '0'])).toThrow(/'--temperature' .* must be a finite number > 0, got 0/);
    expect(() => parseTrainArgs(['--backend', 'gpu'])).toThrow(/'--backend'/);
    expect(() => parseTrainArgs(['--bogus'])).toThrow(/contrastive train: Unknown option '--bogus'/);
  });
});
