import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@contrastive/core';
import { expectContrastiveError, expectNoLeak, useTestBackend } from '@contrastive/core/testing';
import { decode, hasPngSignature } from 'fast-png';
import { beforeAll, describe, expect, it } from 'vitest';
import { multiCrop } from './multi-crop.js';
import { renderGrid } from './preview.js';

beforeAll(async () => {
  await useTestBackend();
});

/** Decode PNG bytes and return a pixel reader. */
function png(bytes: Uint8Array): { width: number; height: number; channels: number; depth: number; at: (x: number, y: number) => number[] } {
  expect(bytes).toBeInstanceOf(Uint8Array);
  expect(hasPngSignature(bytes)).toBe(true);
  const image = decode(bytes);
  return {
    width: image.width,
    height: image.height,
    channels: image.channels,
    depth: image.depth,
    at: (x, y) => Array.from(image.data.slice((y * image.width + x) * image.channels, (y * image.width + x + 1) * image.channels)),
  };
}

describe('renderGrid', () => {
  it('hand-computed 2x2 grey image without padding: round(255 v) at each pixel', () => {
    const image = tf.tensor4d([0, 0.5, 1, 0.25], [1, 2, 2, 1]);
    const out = png(renderGrid(image, { padding: 0 }));
    expect([out.width, out.height, out.channels, out.depth]).toEqual([2, 2, 1, 8]);
    expect([out.at(0, 0), out.at(1, 0), out.at(0, 1), out.at(1, 1)]).toEqual([[0], [128], [255], [64]]);
    image.dispose();
  });

  it('default padding 2 around and between cells (torchvision make_grid), background 0 or given', () => {
    const image = tf.tensor4d([0.2, 0.4, 0.6, 0.8], [1, 2, 2, 1]);
    const out = png(renderGrid(image));
    expect([out.width, out.height]).toEqual([6, 6]);
    expect(out.at(2, 2)).toEqual([51]);
    expect(out.at(3, 2)).toEqual([102]);
    expect(out.at(2, 3)).toEqual([153]);
    expect(out.at(3, 3)).toEqual([204]);
    for (const [x, y] of [[0, 0], [1, 3], [4, 2], [5, 5], [3, 4]] as const) expect(out.at(x, y)).toEqual([0]);
    const light = png(renderGrid(image, { background: 1, padding: 1 }));
    expect([light.width, light.height]).toEqual([4, 4]);
    expect(light.at(0, 0)).toEqual([255]);
    expect(light.at(1, 1)).toEqual([51]);
    image.dispose();
  });

  it('a list of views: rows are the samples, columns the views; smaller views top-left on the background', () => {
    // view 0: two 2x2 images filled with 0.2 and 0.4; view 1: two 1x1 images 0.6 and 0.8
    const view0 = tf.tensor4d([0.2, 0.2, 0.2, 0.2, 0.4, 0.4, 0.4, 0.4], [2, 2, 2, 1]);
    const view1 = tf.tensor4d([0.6, 0.8], [2, 1, 1, 1]);
    const out = png(renderGrid([view0, view1], { padding: 1, background: 1 }));
    // 2 columns of width 2, 2 rows of height 2, padding 1: 2 * 3 + 1 = 7 each way
    expect([out.width, out.height]).toEqual([7, 7]);
    const cell = (row: number, column: number, dx: number, dy: number): number[] => out.at(1 + column * 3 + dx, 1 + row * 3 + dy);
    expect(cell(0, 0, 0, 0)).toEqual([51]);
    expect(cell(0, 0, 1, 1)).toEqual([51]);
    expect(cell(1, 0, 1, 0)).toEqual([102]);
    expect(cell(0, 1, 0, 0)).toEqual([153]);
    expect(cell(1, 1, 0, 0)).toEqual([204]);
    expect(cell(1, 1, 1, 0)).toEqual([255]); // background beside the 1x1 view
    expect(cell(1, 1, 0, 1)).toEqual([255]);
    tf.dispose([view0, view1]);
  });

  it('one view-major tensor with columns: image k at column floor(k / rows), row k mod rows; empty cells are background', () => {
    const images = tf.tensor4d([0, 0.2, 0.4, 0.6, 0.8], [5, 1, 1, 1]);
    const out = png(renderGrid(images, { columns: 2, padding: 0, background: 1 }));
    expect([out.width, out.height]).toEqual([2, 3]);
    expect([out.at(0, 0), out.at(0, 1), out.at(0, 2), out.at(1, 0), out.at(1, 1), out.at(1, 2)]).toEqual([[0], [51], [102], [153], [204], [255]]);
    const strip = png(renderGrid(images, { padding: 0 }));
    expect([strip.width, strip.height]).toEqual([1, 5]);
    images.dispose();
  });

  it('integer scale repeats each pixel in an s x s block (nearest); the padding is not scaled', () => {
    const image = tf.tensor4d([0, 1, 1, 0], [1, 2, 2, 1]);
    const out = png(renderGrid(image, { scale: 3, padding: 1, background: 0.5 }));
    expect([out.width, out.height]).toEqual([8, 8]);
    for (let y = 0; y < 6; y++)
      for (let x = 0; x < 6; x++) {
        const expected = (x < 3) === (y < 3) ? 0 : 255;
        expect(out.at(1 + x, 1 + y)).toEqual([expected]);
      }
    expect(out.at(0, 0)).toEqual([128]);
    expect(out.at(7, 4)).toEqual([128]);
    image.dispose();
  });

  it.each([
    [1, [64]],
    [2, [64, 255]],
    [3, [64, 128, 0]],
    [4, [64, 128, 0, 255]],
  ])('c = %i channels are written as grey / grey+alpha / RGB / RGBA', (channels, expected) => {
    const values = [0.25, 0.5, 0, 1].slice(0, channels);
    if (channels === 2) values[1] = 1;
    const image = tf.tensor4d(values, [1, 1, 1, channels]);
    const out = png(renderGrid(image, { padding: 0 }));
    expect(out.channels).toBe(channels);
    expect(out.at(0, 0)).toEqual(expected);
    image.dispose();
  });

  it('clips to [0, 1] (±Infinity too) before scaling to 0..255', () => {
    const image = tf.tensor4d([-0.5, 1.7, -Infinity, Infinity, 0.998, 0.002], [1, 1, 6, 1]);
    const out = png(renderGrid(image, { padding: 0 }));
    expect([0, 1, 2, 3, 4, 5].map((x) => out.at(x, 0)[0])).toEqual([0, 255, 0, 255, 254, 1]);
    image.dispose();
  });

  it('renders multi-crop views of different sizes; leaks nothing and never disposes its input', async () => {
    const images = tf.randomUniform([3, 12, 12, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
    const views = multiCrop({ globalCrops: 2, localCrops: 2 }).generate(images, new Rng(0));
    const all = [...views.global, ...views.local];
    const bytes = await expectNoLeak(() => renderGrid(all, { scale: 2 }));
    const out = png(bytes);
    expect([out.width, out.height, out.channels]).toEqual([4 * 26 + 2, 3 * 26 + 2, 3]);
    expect(all.every((view) => !view.isDisposed)).toBe(true);
    tf.dispose([images, ...all]);
  });

  it('rejects bad views and options with a named ContrastiveError', () => {
    const a = tf.ones([2, 2, 2, 1]) as tf.Tensor4D;
    const b = tf.ones([3, 2, 2, 1]) as tf.Tensor4D;
    const rgb = tf.ones([2, 2, 2, 3]) as tf.Tensor4D;
    const five = tf.ones([1, 2, 2, 5]) as tf.Tensor4D;
    const ints = tf.ones([1, 2, 2, 1], 'int32') as tf.Tensor4D;
    const nan = tf.tensor4d([0, NaN], [2, 1, 1, 1]);
    const rank3 = tf.ones([2, 2, 1]);
    const disposed = tf.ones([1, 1, 1, 1]) as tf.Tensor4D;
    disposed.dispose();
    expectContrastiveError(() => renderGrid([]), 'INVALID_ARGUMENT', /'views' passed to 'renderGrid' must hold at least one \[n, h, w, c\] tensor, got an empty array/);
    expectContrastiveError(() => renderGrid([a, b]), 'SHAPE_MISMATCH', /'views\[1\]' passed to 'renderGrid' must hold 2 images \(one per sample, as views\[0\]\), got 3/);
    expectContrastiveError(() => renderGrid([a, rgb]), 'SHAPE_MISMATCH', /'views\[1\]' passed to 'renderGrid' must have 1 channels \(as views\[0\]\), got 3/);
    expectContrastiveError(() => renderGrid(five), 'SHAPE_MISMATCH', /'views' passed to 'renderGrid' must have 1 \(grey\), 2 \(grey \+ alpha\), 3 \(RGB\) or 4 \(RGBA\) channels, got 5/);
    expectContrastiveError(() => renderGrid([a, ints]), 'DTYPE_MISMATCH', /'views\[1\]' passed to 'renderGrid' must have dtype float32, got int32/);
    expectContrastiveError(() => renderGrid(rank3 as never), 'SHAPE_MISMATCH', /'views' passed to 'renderGrid' must be rank 4, got rank 3/);
    expectContrastiveError(() => renderGrid(disposed), 'DISPOSED', /'views' passed to 'renderGrid' has been disposed/);
    expectContrastiveError(() => renderGrid(nan), 'NON_FINITE', /'views' passed to 'renderGrid' holds NaN \(image 1\)/);
    expectContrastiveError(() => renderGrid([a, a], { columns: 3 }), 'INVALID_ARGUMENT', /'columns' passed to 'renderGrid' must equal the number of views \(2\) when 'views' is a list, got 3/);
    expectContrastiveError(() => renderGrid(a, { columns: 0 }), 'INVALID_ARGUMENT', /'columns' passed to 'renderGrid' must be an integer >= 1, got 0/);
    expectContrastiveError(() => renderGrid(a, { padding: -1 }), 'INVALID_ARGUMENT', /'padding' passed to 'renderGrid' must be an integer >= 0, got -1/);
    expectContrastiveError(() => renderGrid(a, { scale: 1.5 }), 'INVALID_ARGUMENT', /'scale' passed to 'renderGrid' must be an integer >= 1, got 1\.5/);
    expectContrastiveError(() => renderGrid(a, { background: 2 }), 'INVALID_ARGUMENT', /'background' passed to 'renderGrid' must be a finite number >= 0 and <= 1, got 2/);
    expectContrastiveError(() => renderGrid(a, null as never), 'INVALID_ARGUMENT', /'options' passed to 'renderGrid' must be an object, got null/);
    tf.dispose([a, b, rgb, five, ints, nan, rank3]);
  });
});
