import Papa from 'papaparse';
import { ContrastiveError } from '@contrastive/core';

/**
 * A labelled table read from CSV: numeric feature columns and one class column.
 * @category Datasets
 */
export interface CsvTable {
  /** `rows * columns` float32 features, row after row. */
  readonly features: Float32Array;
  /** `rows` int32 class indices into {@link CsvTable.classNames}. */
  readonly labels: Int32Array;
  /** Data rows. */
  readonly rows: number;
  /** Feature columns (the label column excluded). */
  readonly columns: number;
  /** Name of each feature column: the header's, or `column <j>` (1-based, as in the file) without one. */
  readonly featureNames: readonly string[];
  /** Label `k` is `classNames[k]`: the integers `0 .. max` when every label is a non-negative integer, else the distinct label strings sorted. */
  readonly classNames: readonly string[];
}

/**
 * Options of {@link parseCsv}.
 * @category Datasets
 */
export interface ParseCsvOptions {
  /** Name of the file, for error messages. @defaultValue `'<csv>'` */
  readonly fileName?: string;
  /** The class column: a header name, or a 0-based index (negative counts from the end). @defaultValue -1 (the last column) */
  readonly labelColumn?: string | number;
  /** Whether the first line is a header: `'auto'` = when any of its feature cells is not a number. @defaultValue 'auto' */
  readonly header?: boolean | 'auto';
  /** Field delimiter; papaparse detects it (`,`, `;`, tab, `|`) when omitted. @defaultValue detected */
  readonly delimiter?: string;
}

const FN = 'parseCsv';

function dataError(file: string, where: string, what: string): ContrastiveError {
  return new ContrastiveError('DATA', `CSV file '${file}' ${where}: ${what}`);
}

/** A cell as a finite number, or undefined when it is not one (empty cells included). */
function numberOf(cell: string): number | undefined {
  const text = cell.trim();
  if (text === '') return undefined;
  const value = Number(text);
  return Number.isFinite(value) ? value : undefined;
}

/**
 * Parse a labelled numeric table from CSV text (RFC 4180: quoted fields, embedded delimiters and
 * line breaks, by papaparse): every column but the label column must hold a finite number on every
 * data row. Blank lines are skipped. Isomorphic; `loadCsv` of `@contrastive/data/node` reads a file.
 *
 * @param text - the CSV text.
 * @param options - `fileName`, `labelColumn`, `header`, `delimiter`; see {@link ParseCsvOptions}.
 * @returns a {@link CsvTable} (plain typed arrays).
 * @throws `ContrastiveError` `DATA` naming the file and the line (1-based, as an editor shows it):
 *   a row with more or fewer fields than the first, a missing (empty) value, a cell that is not a
 *   finite number, a quote that never closes, no data rows; `INVALID_ARGUMENT` for bad options or a
 *   label column that does not exist.
 * @example
 * ```ts
 * const table = parseCsv('x,y,class\n0.5,1,cat\n2,0.25,dog\n');
 * console.log(table.rows, table.columns, table.classNames, Array.from(table.labels)); // 2 2 ['cat', 'dog'] [0, 1]
 * ```
 * @category Datasets
 */
export function parseCsv(text: string, options: ParseCsvOptions = {}): CsvTable {
  if (typeof text !== 'string') throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'text' passed to '${FN}' must be a string, got ${typeof text}`);
  if (options === null || typeof options !== 'object') {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'options' passed to '${FN}' must be an object, got ${String(options)}`);
  }
  const file = options.fileName ?? '<csv>';
  if (typeof file !== 'string') throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'fileName' passed to '${FN}' must be a string, got ${typeof file}`);
  const headerOption = options.header ?? 'auto';
  if (headerOption !== true && headerOption !== false && headerOption !== 'auto') {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'header' passed to '${FN}' must be true, false or 'auto', got ${JSON.stringify(headerOption)}`);
  }
  if (options.delimiter !== undefined && (typeof options.delimiter !== 'string' || options.delimiter.length === 0 || /["\r\n]/.test(options.delimiter))) {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'delimiter' passed to '${FN}' must be a non-empty string without quotes or line breaks, got ${JSON.stringify(options.delimiter)}`);
  }
  const labelOption = options.labelColumn ?? -1;
  if (typeof labelOption !== 'string' && !Number.isInteger(labelOption)) {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'labelColumn' passed to '${FN}' must be a column name or an integer index, got ${String(labelOption)}`);
  }

  // Each record with the 1-based line it starts on (papaparse's cursor is the offset after it).
  const records: { fields: string[]; line: number }[] = [];
  let offset = 0;
  let line = 1;
  const countLines = (from: number, to: number): void => {
    for (let i = from; i < to; i++) if (text.charCodeAt(i) === 10) line++;
  };
  let parseError: { line: number; message: string } | undefined;
  Papa.parse<string[]>(text, {
    delimiter: options.delimiter ?? '',
    skipEmptyLines: false,
    step: (result) => {
      const start = line;
      countLines(offset, result.meta.cursor);
      offset = result.meta.cursor;
      const fields = result.data;
      const error = result.errors[0];
      if (error !== undefined && parseError === undefined && error.type === 'Quotes') parseError = { line: start, message: error.message };
      if (fields.length === 1 && (fields[0] as string).trim() === '') return; // a blank line
      records.push({ fields, line: start });
    },
  });
  if (parseError !== undefined) throw dataError(file, `line ${parseError.line}`, parseError.message);
  if (records.length === 0) throw dataError(file, 'has no rows', 'expected a header or data rows');

  const width = (records[0] as { fields: string[] }).fields.length;
  if (width < 2) throw dataError(file, `line ${(records[0] as { line: number }).line}`, `has ${width} field; a table needs at least one feature and a label column`);
  for (const record of records) {
    if (record.fields.length !== width) {
      throw dataError(file, `line ${record.line}`, `has ${record.fields.length} fields, expected ${width} (as on line ${(records[0] as { line: number }).line})`);
    }
  }

  // Header: explicit, or detected from a non-numeric cell outside the label column.
  const first = (records[0] as { fields: string[] }).fields;
  const resolveLabel = (names: readonly string[] | null): number => {
    if (typeof labelOption === 'string') {
      const index = names === null ? -1 : names.indexOf(labelOption);
      if (index < 0) {
        throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'labelColumn' passed to '${FN}' names no column of '${file}': ${JSON.stringify(labelOption)} is not in the header ${names === null ? '(there is none)' : JSON.stringify(names)}`);
      }
      return index;
    }
    const index = labelOption < 0 ? width + labelOption : labelOption;
    if (index < 0 || index >= width) {
      throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'labelColumn' passed to '${FN}' must be in [${-width}, ${width - 1}] for the ${width} columns of '${file}', got ${labelOption}`);
    }
    return index;
  };
  let hasHeader: boolean;
  if (headerOption === 'auto') {
    const guess = typeof labelOption === 'string' ? -1 : labelOption < 0 ? width + labelOption : labelOption;
    hasHeader = typeof labelOption === 'string' || first.some((cell, j) => j !== guess && numberOf(cell) === undefined && cell.trim() !== '');
  } else {
    hasHeader = headerOption;
  }
  const names = hasHeader ? first.map((cell) => cell.trim()) : null;
  const labelIndex = resolveLabel(names);
  const data = hasHeader ? records.slice(1) : records;
  if (data.length === 0) throw dataError(file, 'has no data rows', 'only a header');

  const columns = width - 1;
  const features = new Float32Array(data.length * columns);
  const rawLabels: string[] = new Array<string>(data.length);
  const columnName = (j: number): string => (names ? `'${names[j] as string}'` : `${j + 1}`);
  data.forEach((record, r) => {
    let c = 0;
    for (let j = 0; j < width; j++) {
      const cell = record.fields[j] as string;
      if (j === labelIndex) {
        if (cell.trim() === '') throw dataError(file, `line ${record.line}`, `missing label in column ${columnName(j)}`);
        rawLabels[r] = cell.trim();
        continue;
      }
      if (cell.trim() === '') throw dataError(file, `line ${record.line}`, `missing value in column ${columnName(j)}`);
      const value = numberOf(cell);
      if (value === undefined) throw dataError(file, `line ${record.line}`, `column ${columnName(j)} holds ${JSON.stringify(cell)}, not a finite number`);
      if (Math.abs(value) > 3.4028234663852886e38) throw dataError(file, `line ${record.line}`, `column ${columnName(j)} holds ${cell.trim()}, beyond float32`);
      features[r * columns + c++] = value;
    }
  });

  // Labels: non-negative integers as they are; otherwise sorted distinct strings.
  const integers = rawLabels.every((label) => /^\d+$/.test(label) && Number(label) <= 0x7fffffff);
  let classNames: string[];
  const labels = new Int32Array(data.length);
  if (integers) {
    let max = 0;
    rawLabels.forEach((label, r) => {
      labels[r] = Number(label);
      max = Math.max(max, labels[r] as number);
    });
    if (max >= 1 << 20) throw dataError(file, 'label column', `holds class ${max}; integer classes must be below 2^20 (use names for sparse ids)`);
    classNames = Array.from({ length: max + 1 }, (_, k) => String(k));
  } else {
    classNames = [...new Set(rawLabels)].sort();
    const index = new Map(classNames.map((name, k) => [name, k]));
    rawLabels.forEach((label, r) => {
      labels[r] = index.get(label) as number;
    });
  }
  const featureNames = Array.from({ length: width }, (_, j) => j)
    .filter((j) => j !== labelIndex)
    .map((j) => (names ? (names[j] as string) : `column ${j + 1}`));
  return { features, labels, rows: data.length, columns, featureNames, classNames };
}
