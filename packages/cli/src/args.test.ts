import { describe, expect, it } from 'vitest';
import { TRAIN_DEFAULTS, parseTrainArgs } from './args.js';

describe('parseTrainArgs', () => {
  it('fills in the defaults npm start relies on', () => {
    const command = parseTrainArgs([]);
    expect(command).toEqual({
      ...TRAIN_DEFAULTS,
      trainLimit: undefined,
      name: 'simclr-mnist',
      quiet: false,
      resume: false,
    });
  });

  it('reads every option', () => {
    const command = parseTrainArgs([
      '--recipe', 'simclr', '--dataset', 'fashion-mnist', '--epochs', '3', '--batch-size', '128', '--seed', '7',
      '--backend', 'cpu', '--temperature', '0.2', '--lr', '0.01', '--train-limit', '1000', '--out', '/tmp/x',
      '--name', 'run1', '--quiet', '--resume',
    ]);
    expect(command).toEqual({
      recipe: 'simclr', dataset: 'fashion-mnist', epochs: 3, batchSize: 128, seed: 7, backend: 'cpu',
      temperature: 0.2, learningRate: 0.01, trainLimit: 1000, out: '/tmp/x', name: 'run1', quiet: true, resume: true,
    });
    expect(parseTrainArgs(['--help'])).toBe('help');
  });

  it('names the bad option', () => {
    expect(() => parseTrainArgs(['--dataset', 'cifar'])).toThrow(
      /Argument '--dataset' passed to 'contrastive train' must be one of "mnist", "fashion-mnist", got "cifar"/,
    );
    expect(() => parseTrainArgs(['--epochs=-1'])).toThrow(/Argument '--epochs' .* must be an integer >= 0, got -1/);
    expect(() => parseTrainArgs(['--batch-size', 'many'])).toThrow(/'--batch-size' .* got NaN/);
    expect(() => parseTrainArgs(['--temperature', '0'])).toThrow(/'--temperature' .* must be a finite number > 0, got 0/);
    expect(() => parseTrainArgs(['--backend', 'gpu'])).toThrow(/'--backend'/);
    expect(() => parseTrainArgs(['--bogus'])).toThrow(/contrastive train: Unknown option '--bogus'/);
  });
});
