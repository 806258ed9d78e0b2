import { Rng } from '@contrastive/core';
import { describe, expect, it } from 'vitest';
import { shuffledBatchSampler } from './shuffled-batch-sampler.js';

describe('shuffledBatchSampler', () => {
  it('drops the last partial batch and never repeats a sample within an epoch', () => {
    const sampler = shuffledBatchSampler({ size: 8000, batchSize: 256 });
    expect(sampler.batchesPerEpoch).toBe(31);
    const batches = sampler.epoch(new Rng(0));
    expect(batches).toHaveLength(31);
    const seen = new Set<number>();
    for (const batch of batches) {
      expect(batch).toHaveLength(256);
      for (const index of batch) {
        expect(index).toBeGreaterThanOrEqual(0);
        expect(index).toBeLessThan(8000);
        seen.add(index);
      }
    }
    expect(seen.size).toBe(31 * 256);
  });

  it('keeps a smaller last batch with dropLast false, covering every sample once', () => {
    const sampler = shuffledBatchSampler({ size: 10, batchSize: 4, dropLast: false });
    const batches = sampler.epoch(new Rng(1));
    expect(batches.map((b) => b.length)).toEqual([4, 4, 2]);
    expect(batches.flatMap((b) => [...b]).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('reshuffles every epoch and is reproducible from the seed', () => {
    const sampler = shuffledBatchSampler({ size: 100, batchSize: 10 });
    const rng = new Rng(5);
    const first = sampler.epoch(rng).map((b) => [...b]);
    const second = sampler.epoch(rng).map((b) => [...b]);
    expect(first).not.toEqual(second);
    const again = new Rng(5);
    expect(sampler.epoch(again).map((b) => [...b])).toEqual(first);
    expect(sampler.epoch(again).map((b) => [...b])).toEqual(second);
  });

  it('rejects bad sizes with named errors', () => {
    expect(() => shuffledBatchSampler({ size: 10, batchSize: 0 })).toThrow(
      /Argument 'batchSize' passed to 'shuffledBatchSampler' must be an integer >= 1, got 0/,
    );
    expect(() => shuffledBatchSampler({ size: 3, batchSize: 4 })).toThrow(/must be <= size \(3\) when dropLast is true, got 4/);
    expect(() => shuffledBatchSampler({ size: 2.5, batchSize: 1 })).toThrow(/'size'/);
  });
});
