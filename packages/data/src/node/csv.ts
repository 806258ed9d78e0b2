import { readFile } from 'node:fs/promises';
import { ContrastiveError } from '@contrastive/core';
import { parseCsv, type CsvTable, type ParseCsvOptions } from '../csv.js';

/**
 * Read a labelled numeric table from a CSV file (UTF-8): {@link parseCsv} on its text, with the
 * path in every error message.
 *
 * @param path - the CSV file.
 * @param options - `labelColumn`, `header`, `delimiter` as {@link parseCsv} takes them.
 * @returns a promise of the {@link CsvTable}.
 * @throws `ContrastiveError` `DATA` when the file cannot be read or is malformed (naming the file
 *   and the line), `INVALID_ARGUMENT` for bad options.
 * @example
 * ```ts
 * const table = await loadCsv('iris.csv', { labelColumn: 'species' });
 * ```
 * @category Datasets
 */
export async function loadCsv(path: string, options: Omit<ParseCsvOptions, 'fileName'> = {}): Promise<CsvTable> {
  if (typeof path !== 'string' || path === '') {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'path' passed to 'loadCsv' must be a non-empty string, got ${JSON.stringify(path)}`);
  }
  if (options === null || typeof options !== 'object') {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'options' passed to 'loadCsv' must be an object, got ${String(options)}`);
  }
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ContrastiveError('DATA', `CSV file '${path}' could not be read: ${String(error)}`, { cause: error });
  }
  return parseCsv(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text, { ...options, fileName: path });
}
