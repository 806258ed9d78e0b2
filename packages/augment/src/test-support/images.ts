/**
 * Test support for the augmentation tests (not built, not published): deterministic image data and
 * small host-array helpers.
 */

/** `[n, h, w, c]` of an image batch. */
export type Shape = [number, number, number, number];

/** Deterministic values in [0, 1) (an LCG), optionally on a grid of `levels` steps. */
export function pixels(size: number, seed: number, levels = 0): number[] {
  let state = (seed * 2654435761 + 12345) >>> 0;
  return Array.from({ length: size }, () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    const value = state / 2 ** 32;
    return levels > 0 ? Math.floor(value * levels) / (levels - 1 || 1) : value;
  }).map((value) => Math.min(1, value));
}

/** A deterministic image batch in [0, 1) (float32-representable numbers, NHWC order). */
export function pattern(shape: Shape, seed = 0): number[] {
  const size = shape.reduce((a, b) => a * b, 1);
  return Array.from({ length: size }, (_, i) => {
    const value = Math.sin((i + 1) * 12.9898 + seed * 78.233) * 43758.5453;
    return Math.min(Math.fround(value - Math.floor(value)), 0.99999994);
  });
}

/** Flags or numbers from `sample` as plain numbers. */
export function numbers(values: ArrayLike<number | boolean>): number[] {
  return Array.from(values, Number);
}

/** The sum of flags or numbers. */
export function sum(values: ArrayLike<number | boolean>): number {
  return numbers(values).reduce((a, b) => a + b, 0);
}
