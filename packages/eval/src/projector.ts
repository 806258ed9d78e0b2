import type * as tf from '@tensorflow/tfjs-core';
import { ContrastiveError, assertEmbeddings } from '@contrastive/core';

/** One metadata column of {@link projectorExport}: a header and one value per embedding. @category Reports */
export interface ProjectorColumn {
  /** Column header, e.g. `'label'`; no tab or newline. */
  readonly name: string;
  /** One value per embedding row (numbers or strings; tabs and newlines are replaced by spaces). */
  readonly values: ArrayLike<number | string> | readonly (number | string)[];
}

/** Options of {@link projectorExport}. @category Reports */
export interface ProjectorExportOptions {
  /**
   * Metadata columns, each with one value per row. With one column the metadata file has no
   * header line (the projector's single-column format); with several, the first line holds the
   * headers. @defaultValue none: no metadata file
   */
  readonly columns?: readonly ProjectorColumn[];
  /** Significant digits of every vector component. @defaultValue 7 (float32 round trip: 9) */
  readonly precision?: number;
}

/** The files of a TensorBoard projector export. @category Reports */
export interface ProjectorFiles {
  /** `vectors.tsv`: one row per embedding, components separated by tabs. */
  readonly vectors: string;
  /** `metadata.tsv`, or `undefined` without columns. */
  readonly metadata: string | undefined;
}

function clean(value: number | string): string {
  return String(value).replace(/[\t\r\n]/g, ' ');
}

/**
 * The two TSV files the TensorBoard Embedding Projector (projector.tensorflow.org, "Load") reads:
 * the vectors and their metadata (labels, class names, file names...). Load them there to explore
 * the embeddings with PCA, t-SNE or UMAP. Isomorphic: returns strings; write them with `fs` in Node
 * or offer them as downloads in a browser.
 *
 * @param embeddings - `[n, d]` float32 (borrowed; read once to the host).
 * @param options - metadata columns and number precision; see {@link ProjectorExportOptions}.
 * @returns the `vectors` and `metadata` file contents.
 * @throws `ContrastiveError` `SHAPE_MISMATCH`/`DTYPE_MISMATCH` for bad embeddings;
 *   `INVALID_ARGUMENT` for a column without `n` values, a bad name or precision; `NON_FINITE` for a
 *   NaN or infinite component.
 * @example
 * ```ts
 * const files = projectorExport(tf.tensor2d([[1, 0.5], [0, 2]]), { columns: [{ name: 'label', values: ['a', 'b'] }] });
 * console.log(files.vectors);  // "1\t0.5\n0\t2\n"
 * console.log(files.metadata); // "a\nb\n"
 * ```
 * @category Reports
 */
export function projectorExport(embeddings: tf.Tensor2D, options: ProjectorExportOptions = {}): ProjectorFiles {
  const fn = 'projectorExport';
  assertEmbeddings(embeddings, 'embeddings', fn);
  if (options === null || typeof options !== 'object') {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'options' passed to '${fn}' must be an object, got ${options === null ? 'null' : typeof options}`);
  }
  const precision = options.precision ?? 7;
  if (!Number.isInteger(precision) || precision < 1 || precision > 17) {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'precision' passed to '${fn}' must be an integer in [1, 17], got ${String(precision)}`);
  }
  const [n, d] = embeddings.shape;
  const columns = options.columns ?? [];
  if (!Array.isArray(columns)) {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'columns' passed to '${fn}' must be an array of { name, values }, got ${typeof columns}`);
  }
  columns.forEach((column: ProjectorColumn, index: number) => {
    if (column === null || typeof column !== 'object' || typeof column.name !== 'string' || /[\t\r\n]/.test(column.name) || column.name === '') {
      throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'columns[${index}].name' passed to '${fn}' must be a non-empty string without tabs or newlines`);
    }
    const length = (column.values as ArrayLike<unknown> | undefined)?.length;
    if (length !== n) {
      throw new ContrastiveError(
        'INVALID_ARGUMENT',
        `Argument 'columns[${index}].values' passed to '${fn}' must have ${n} values (one per embedding), got ${String(length)}`,
      );
    }
  });
  const values = embeddings.dataSync();
  const lines: string[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const parts: string[] = new Array(d);
    for (let j = 0; j < d; j++) {
      const value = values[i * d + j] as number;
      if (!Number.isFinite(value)) {
        throw new ContrastiveError('NON_FINITE', `Argument 'embeddings' passed to '${fn}' must be finite, got ${value} at row ${i}, column ${j}`);
      }
      parts[j] = String(Number(value.toPrecision(precision)));
    }
    lines[i] = parts.join('\t');
  }
  const vectors = `${lines.join('\n')}\n`;
  if (columns.length === 0) return { vectors, metadata: undefined };
  const rows: string[] = [];
  if (columns.length > 1) rows.push(columns.map((column) => column.name).join('\t'));
  for (let i = 0; i < n; i++) rows.push(columns.map((column) => clean(column.values[i] as number | string)).join('\t'));
  return { vectors, metadata: `${rows.join('\n')}\n` };
}
