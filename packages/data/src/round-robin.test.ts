import { isContrastiveError } from '@contrastive/core';
import { useTestBackend } from '@contrastive/core/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ImageSplit } from './dataset.js';
import { roundRobinLimit, roundRobinOrder } from './round-robin.js';

beforeAll(async () => {
  await useTestBackend();
});

/** Six 1x2x1 images whose pixels encode their index: image i = [i, i + 0.5] / 10. */
function split(labels: number[]): ImageSplit {
  const images = new Float32Array(labels.length * 2);
  labels.forEach((_, i) => {
    images[2 * i] = i / 10;
    images[2 * i + 1] = (i + 0.5) / 10;
  });
  return { images, labels: Int32Array.from(labels), count: labels.length, shape: [1, 2, 1] };
}

/** The recipe's definition written out: sort by (rank within class, label), stable. */
function referenceOrder(labels: number[]): number[] {
  const seen = new Map<number, number>();
  const keyed = labels.map((label, index) => {
    const rank = seen.get(label) ?? 0;
    seen.set(label, rank + 1);
    return { index, rank, label };
  });
  keyed.sort((a, b) => a.rank - b.rank || a.label - b.label);
  return keyed.map((entry) => entry.index);
}

describe('roundRobinLimit', () => {
  it('orders by (rank within class, label) with uneven classes', () => {
    const labels = [2, 0, 0, 1, 0, 2];
    expect(Array.from(roundRobinOrder(Int32Array.from(labels)))).toEqual([1, 3, 0, 2, 5, 4]);
    expect(Array.from(roundRobinOrder(Int32Array.from(labels)))).toEqual(referenceOrder(labels));
  });

  it.each([
    [[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 0, 0]],
    [[5, 5, 5, 1, 9, 9, 0]],
    [[3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3, 2, 3, 8, 4, 6]],
  ])('matches the sort-based definition for labels %j', (labels) => {
    expect(Array.from(roundRobinOrder(Int32Array.from(labels)))).toEqual(referenceOrder(labels));
  });

  it('keeps the first N, copying pixels and labels', () => {
    const source = split([2, 0, 0, 1, 0, 2]);
    const limited = roundRobinLimit(source, 4);
    expect(limited.count).toBe(4);
    expect(limited.shape).toEqual([1, 2, 1]);
    expect(Array.from(limited.labels)).toEqual([0, 1, 2, 0]);
    expect(Array.from(limited.images)).toEqual(Array.from(new Float32Array([0.1, 0.15, 0.3, 0.35, 0, 0.05, 0.2, 0.25])));
    limited.images[0] = 42;
    expect(source.images[2]).toBeCloseTo(0.1, 6);
  });

  it('a limit >= count keeps every example, in round-robin order', () => {
    const limited = roundRobinLimit(split([2, 0, 0, 1, 0, 2]), 100);
    expect(limited.count).toBe(6);
    expect(Array.from(limited.labels)).toEqual([0, 1, 2, 0, 2, 0]);
  });

  it('rejects a bad limit or split', () => {
    for (const limit of [0, -1, 2.5]) {
      expect(() => roundRobinLimit(split([0, 1]), limit)).toThrow(/Argument 'limit' passed to 'roundRobinLimit' must be an integer >= 1/);
    }
    const broken = { ...split([0, 1]), count: 3 };
    try {
      roundRobinLimit(broken, 1);
      throw new Error('expected a throw');
    } catch (error) {
      expect(isContrastiveError(error)).toBe(true);
      expect((error as Error).message).toMatch(/Argument 'split' passed to 'roundRobinLimit' must have 3 labels \(one per image\), got 2/);
    }
  });
});
