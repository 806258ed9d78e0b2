import type * as tf from '@tensorflow/tfjs-core';
import { ContrastiveError, assertNumber, assertTensor } from '@contrastive/core';
import { encode } from 'fast-png';
import { assertObject } from './checks.js';

/** Options of {@link renderGrid}; defaults follow torchvision's `make_grid` / `save_image`. @category Preview */
export interface RenderGridOptions {
  /**
   * Number of grid columns. For a list of views it must equal the number of views (the default).
   * For one tensor of `N` images laid out view-major (as a view generator returns them), the
   * images fill the grid column by column: image `k` goes to column `floor(k / rows)`, row
   * `k mod rows`, with `rows = ceil(N / columns)`; so `columns = views` puts the views of a sample
   * side by side. An integer >= 1.
   * @defaultValue the number of views for a list, 1 for one tensor
   */
  readonly columns?: number;
  /** Pixels of background between cells and around the grid, an integer >= 0 (torchvision's `padding`). @defaultValue 2 */
  readonly padding?: number;
  /** Integer upscaling of every image (nearest neighbour), >= 1; the padding is not scaled. @defaultValue 1 */
  readonly scale?: number;
  /** Value in [0, 1] of the padding and empty cells, in every channel (torchvision's `pad_value`). @defaultValue 0 */
  readonly background?: number;
}

interface Cell {
  readonly data: ArrayLike<number>;
  readonly offset: number;
  readonly height: number;
  readonly width: number;
  readonly argument: string;
  readonly index: number;
}

function toByte(value: number, cell: Cell): number {
  if (Number.isNaN(value)) {
    throw new ContrastiveError('NON_FINITE', `Argument '${cell.argument}' passed to 'renderGrid' holds NaN (image ${cell.index})`);
  }
  // torchvision's save_image: clamp to [0, 1], then round(255 v) with halves up.
  return Math.round(Math.min(1, Math.max(0, value)) * 255);
}

function checkedViews(views: unknown): { tensors: tf.Tensor4D[]; arguments: string[]; isList: boolean } {
  const fn = 'renderGrid';
  const isList = Array.isArray(views);
  const list: unknown[] = isList ? (views as unknown[]) : [views];
  if (list.length === 0) {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'views' passed to '${fn}' must hold at least one [n, h, w, c] tensor, got an empty array`);
  }
  const names = list.map((_, v) => (isList ? `views[${v}]` : 'views'));
  list.forEach((view, v) => {
    const argument = names[v] as string;
    assertTensor(view, 4, argument, fn, 'float32');
    const shape = (view as tf.Tensor4D).shape;
    if (shape.some((size) => size < 1)) {
      throw new ContrastiveError(
        'SHAPE_MISMATCH',
        `Argument '${argument}' passed to '${fn}' must be [n, h, w, c] with every dimension >= 1, got [${shape.join(', ')}]`,
      );
    }
    if (shape[3] > 4) {
      throw new ContrastiveError(
        'SHAPE_MISMATCH',
        `Argument '${argument}' passed to '${fn}' must have 1 (grey), 2 (grey + alpha), 3 (RGB) or 4 (RGBA) channels, got ${shape[3]}`,
      );
    }
  });
  const tensors = list as tf.Tensor4D[];
  const first = tensors[0] as tf.Tensor4D;
  tensors.forEach((view, v) => {
    if (view.shape[0] !== first.shape[0]) {
      throw new ContrastiveError(
        'SHAPE_MISMATCH',
        `Argument 'views[${v}]' passed to '${fn}' must hold ${first.shape[0]} images (one per sample, as views[0]), got ${view.shape[0]}`,
      );
    }
    if (view.shape[3] !== first.shape[3]) {
      throw new ContrastiveError(
        'SHAPE_MISMATCH',
        `Argument 'views[${v}]' passed to '${fn}' must have ${first.shape[3]} channels (as views[0]), got ${view.shape[3]}`,
      );
    }
  });
  return { tensors, arguments: names, isList };
}

/**
 * Render views as a PNG grid, so one can look at what an augmentation does: **rows are the
 * samples, columns the views**, each cell one image — the layout of torchvision's
 * `utils.make_grid` + `save_image` (padding 2, values clamped to [0, 1], `round(255 v)`), encoded
 * with `fast-png` (pure JavaScript; no `fs`: write the bytes yourself, e.g. with `fs.writeFileSync`
 * in Node or a `Blob` in a browser).
 *
 * Channels: 1 → 8-bit greyscale, 2 → greyscale + alpha, 3 → RGB, 4 → RGBA; more channels are
 * rejected. Views of different sizes (e.g. the global and local crops of {@link multiCrop}) share
 * cells of the largest height and width; a smaller image sits at the top-left of its cell on the
 * background. Pixels are read with `dataSync` (on WebGL this waits for the GPU).
 *
 * @param views - a list of `V` tensors `[n, h_v, w_v, c]` float32 (view `v` of samples `0..n-1`;
 *   same `n` and `c`, sizes may differ) → `n` rows x `V` columns; or one `[N, h, w, c]` float32
 *   tensor laid out in `columns` column-major (see {@link RenderGridOptions.columns}). Borrowed.
 * @param options - columns, padding, scale and background.
 * @returns the PNG file's bytes (a new `Uint8Array`): width `columns (w s + p) + p`, height
 *   `rows (h s + p) + p` for scale `s`, padding `p` and the largest `h`, `w`.
 * @throws `ContrastiveError` `SHAPE_MISMATCH`/`DTYPE_MISMATCH`/`DISPOSED` for a view that is not a
 *   live `[n, h, w, c]` float32 tensor with 1 to 4 channels, or views that differ in `n` or `c`;
 *   `INVALID_ARGUMENT` for an empty list or bad options (`columns` other than the number of views
 *   for a list); `NON_FINITE` for a NaN pixel (±Infinity is clamped).
 * @example
 * ```ts
 * const image = tf.tensor4d([0, 0.5, 1, 0.25], [1, 2, 2, 1]);
 * const png = renderGrid(image, { padding: 0 });
 * console.log(decode(png).data); // Uint8Array [0, 128, 255, 64]  (decode from 'fast-png')
 * // two views side by side, one row per sample:
 * const grid = renderGrid(viewGenerator({ augmentation: recipeAugmentation() }).generate(batch, new Rng(0)), { columns: 2, scale: 4 });
 * // Node: fs.writeFileSync('views.png', grid); browser: URL.createObjectURL(new Blob([grid], { type: 'image/png' }))
 * ```
 * @category Preview
 */
export function renderGrid(views: readonly tf.Tensor4D[] | tf.Tensor4D, options: RenderGridOptions = {}): Uint8Array {
  const fn = 'renderGrid';
  assertObject(options, 'options', fn);
  const padding = options.padding ?? 2;
  const scale = options.scale ?? 1;
  const background = options.background ?? 0;
  assertNumber(padding, 'padding', fn, { integer: true, min: 0 });
  assertNumber(scale, 'scale', fn, { integer: true, min: 1 });
  assertNumber(background, 'background', fn, { min: 0, max: 1 });
  if (options.columns !== undefined) assertNumber(options.columns, 'columns', fn, { integer: true, min: 1 });
  const { tensors, arguments: names, isList } = checkedViews(views);
  const channels = (tensors[0] as tf.Tensor4D).shape[3];

  // Place every image: cells[row][column].
  let rows: number;
  let columns: number;
  const cells: (Cell | null)[][] = [];
  if (isList) {
    columns = tensors.length;
    if (options.columns !== undefined && options.columns !== columns) {
      throw new ContrastiveError(
        'INVALID_ARGUMENT',
        `Argument 'columns' passed to '${fn}' must equal the number of views (${columns}) when 'views' is a list, got ${options.columns}`,
      );
    }
    rows = (tensors[0] as tf.Tensor4D).shape[0];
    const data = tensors.map((view) => view.dataSync());
    for (let row = 0; row < rows; row++) {
      cells.push(
        tensors.map((view, v) => {
          const [, height, width] = view.shape;
          return { data: data[v] as ArrayLike<number>, offset: row * height * width * channels, height, width, argument: names[v] as string, index: row };
        }),
      );
    }
  } else {
    const view = tensors[0] as tf.Tensor4D;
    const [count, height, width] = view.shape;
    columns = options.columns ?? 1;
    rows = Math.ceil(count / columns);
    const data = view.dataSync();
    for (let row = 0; row < rows; row++) {
      const line: (Cell | null)[] = [];
      for (let column = 0; column < columns; column++) {
        const k = column * rows + row;
        line.push(k < count ? { data, offset: k * height * width * channels, height, width, argument: 'views', index: k } : null);
      }
      cells.push(line);
    }
  }

  const cellHeight = Math.max(...tensors.map((view) => view.shape[1])) * scale;
  const cellWidth = Math.max(...tensors.map((view) => view.shape[2])) * scale;
  const gridHeight = rows * (cellHeight + padding) + padding;
  const gridWidth = columns * (cellWidth + padding) + padding;
  const pixels = new Uint8Array(gridHeight * gridWidth * channels).fill(Math.round(background * 255));
  cells.forEach((line, row) => {
    line.forEach((cell, column) => {
      if (cell === null) return;
      const top = padding + row * (cellHeight + padding);
      const left = padding + column * (cellWidth + padding);
      for (let y = 0; y < cell.height; y++) {
        for (let x = 0; x < cell.width; x++) {
          const source = cell.offset + (y * cell.width + x) * channels;
          for (let k = 0; k < channels; k++) {
            const value = toByte(cell.data[source + k] as number, cell);
            for (let dy = 0; dy < scale; dy++) {
              const base = ((top + y * scale + dy) * gridWidth + left + x * scale) * channels + k;
              for (let dx = 0; dx < scale; dx++) pixels[base + dx * channels] = value;
            }
          }
        }
      }
    });
  });
  return encode({ width: gridWidth, height: gridHeight, data: pixels, depth: 8, channels });
}
