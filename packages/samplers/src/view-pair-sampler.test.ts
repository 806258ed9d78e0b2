import { Rng, viewLabels } from '@contrastive/core';
import { expectContrastiveError, useTestBackend } from '@contrastive/core/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { viewPairSampler } from './view-pair-sampler.js';
import type { PartnerFunction } from './view-pair-sampler.js';

const asArrays = (batches: Int32Array[]): number[][] => batches.map((batch) => [...batch]);

describe('viewPairSampler', () => {
  beforeAll(async () => {
    await useTestBackend();
  });

  it('lays a batch out view-major with the anchor as its own partner by default', () => {
    const sampler = viewPairSampler({ size: 10, batchSize: 4 });
    expect(sampler.name).toBe('viewPairSampler');
    expect(sampler.batchesPerEpoch).toBe(2);
    const batches = sampler.epoch(new Rng(0));
    expect(batches).toHaveLength(2);
    for (const batch of batches) {
      expect(batch).toBeInstanceOf(Int32Array);
      expect(batch).toHaveLength(8);
      expect([...batch.subarray(4)]).toEqual([...batch.subarray(0, 4)]);
      expect(new Set(batch.subarray(0, 4)).size).toBe(4);
    }
  });

  it('uses the anchors of shuffledBatchSampler: a fresh permutation, every sample an anchor once', () => {
    const sampler = viewPairSampler({ size: 10, batchSize: 3, dropLast: false, views: 3 });
    expect(sampler.batchesPerEpoch).toBe(4);
    const rng = new Rng(1);
    const permutation = [...rng.clone().permutation(10)];
    const batches = sampler.epoch(rng);
    expect(batches.map((batch) => batch.length)).toEqual([9, 9, 9, 3]);
    const anchors = batches.flatMap((batch) => [...batch.subarray(0, batch.length / 3)]);
    expect(anchors).toEqual(permutation);
    expect([...anchors].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    // dropLast (default) keeps floor(10 / 3) batches: the last sample of the permutation is no anchor.
    expect(viewPairSampler({ size: 10, batchSize: 3 }).batchesPerEpoch).toBe(3);
  });

  it('calls partner for views 1 .. views-1 of every anchor, view-major, with the epoch rng', () => {
    const calls: [number, number][] = [];
    const partner: PartnerFunction = (index, rng, view) => {
      calls.push([index, view]);
      return (index + view * 10 + rng.int(3)) % 100;
    };
    const sampler = viewPairSampler({ size: 100, batchSize: 5, views: 3, partner });
    const rng = new Rng(2);
    const reference = rng.clone();
    const batches = sampler.epoch(rng);
    expect(batches).toHaveLength(20);
    // Independent replay: the permutation first, then per batch view 1 of all anchors, then view 2.
    const order = reference.permutation(100);
    const expected: number[][] = [];
    const expectedCalls: [number, number][] = [];
    for (let b = 0; b < 20; b++) {
      const anchors = [...order.subarray(b * 5, b * 5 + 5)];
      const rows = [...anchors];
      for (let view = 1; view < 3; view++) {
        for (const anchor of anchors) {
          expectedCalls.push([anchor, view]);
          rows.push((anchor + view * 10 + reference.int(3)) % 100);
        }
      }
      expected.push(rows);
    }
    expect(asArrays(batches)).toEqual(expected);
    expect(calls).toEqual(expectedCalls);
  });

  it('pairs rows i and i + b as positives: viewLabels(b, views) marks the pairs', () => {
    // Video frames: the positive of frame i is frame i + 1 (the last one pairs with its predecessor).
    const size = 50;
    const partner: PartnerFunction = (i) => (i === size - 1 ? i - 1 : i + 1);
    const sampler = viewPairSampler({ size, batchSize: 8, partner });
    const labels = viewLabels(8, 2);
    const pairLabels = [...labels.dataSync()];
    labels.dispose();
    for (const batch of sampler.epoch(new Rng(3))) {
      for (let i = 0; i < 16; i++) {
        for (let j = 0; j < 16; j++) {
          if (i === j || pairLabels[i] !== pairLabels[j]) continue;
          const [anchor, positive] = i < j ? [batch[i] as number, batch[j] as number] : [batch[j] as number, batch[i] as number];
          expect(positive).toBe(partner(anchor, new Rng(0), 1));
        }
      }
    }
  });

  it('draws random partners of the same class and is reproducible from the seed', () => {
    const classOf = Array.from({ length: 40 }, (_, i) => i % 4);
    const members = [0, 1, 2, 3].map((c) => classOf.flatMap((l, i) => (l === c ? [i] : [])));
    const partner: PartnerFunction = (i, rng) => {
      const same = members[classOf[i] as number] as number[];
      return same[rng.int(same.length)] as number;
    };
    const sampler = viewPairSampler({ size: 40, batchSize: 10, partner });
    const rng = new Rng(4);
    const first = asArrays(sampler.epoch(rng));
    const second = asArrays(sampler.epoch(rng));
    expect(first).not.toEqual(second);
    const again = new Rng(4);
    expect(asArrays(sampler.epoch(again))).toEqual(first);
    expect(asArrays(sampler.epoch(again))).toEqual(second);
    let differentSample = 0;
    for (const batch of first) {
      for (let k = 0; k < 10; k++) {
        expect(classOf[batch[10 + k] as number]).toBe(classOf[batch[k] as number]);
        if (batch[10 + k] !== batch[k]) differentSample++;
      }
    }
    expect(differentSample).toBeGreaterThan(20);
  });

  it('handles a batch of one and a single view', () => {
    const one = viewPairSampler({ size: 3, batchSize: 1 });
    expect(asArrays(one.epoch(new Rng(5))).map((batch) => batch[0] === batch[1])).toEqual([true, true, true]);
    const single = viewPairSampler({ size: 6, batchSize: 3, views: 1 });
    expect(single.epoch(new Rng(6)).map((batch) => batch.length)).toEqual([3, 3]);
  });

  it('rejects bad options and bad partners with named errors', () => {
    expectContrastiveError(() => viewPairSampler({ size: 0, batchSize: 1 }), 'INVALID_ARGUMENT', /Argument 'size' passed to 'viewPairSampler' must be an integer >= 1, got 0/);
    expectContrastiveError(() => viewPairSampler({ size: 10, batchSize: 1.5 }), 'INVALID_ARGUMENT', /Argument 'batchSize' passed to 'viewPairSampler'/);
    expectContrastiveError(() => viewPairSampler({ size: 10, batchSize: 2, views: 0 }), 'INVALID_ARGUMENT', /Argument 'views' passed to 'viewPairSampler' must be an integer >= 1, got 0/);
    expectContrastiveError(() => viewPairSampler({ size: 3, batchSize: 4 }), 'INVALID_ARGUMENT', /Argument 'batchSize' .* must be <= size \(3\) when dropLast is true, got 4/);
    expectContrastiveError(
      () => viewPairSampler({ size: 3, batchSize: 2, partner: 5 as unknown as PartnerFunction }),
      'INVALID_ARGUMENT',
      /Argument 'partner' passed to 'viewPairSampler' must be a function/,
    );
    expectContrastiveError(
      () => viewPairSampler({ size: 3, batchSize: 2, dropLast: 'yes' as unknown as boolean }),
      'INVALID_ARGUMENT',
      /Argument 'dropLast' .* must be a boolean, got string/,
    );
    expectContrastiveError(() => viewPairSampler(undefined as never), 'INVALID_ARGUMENT', /Argument 'options'/);
    for (const bad of [10, -1, 2.5, Number.NaN, '1']) {
      const sampler = viewPairSampler({ size: 10, batchSize: 2, partner: () => bad as number });
      expectContrastiveError(
        () => sampler.epoch(new Rng(7)),
        'INVALID_ARGUMENT',
        new RegExp(`Argument 'partner' passed to 'viewPairSampler' must return an integer in \\[0, 10\\), got ${String(bad).replace('.', '\\.')} for index \\d+ \\(view 1\\)`),
      );
    }
  });
});
