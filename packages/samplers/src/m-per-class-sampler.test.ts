import { Rng } from '@contrastive/core';
import { expectContrastiveError } from '@contrastive/core/testing';
import { describe, expect, it } from 'vitest';
import { mPerClassSampler } from './m-per-class-sampler.js';
import type { MPerClassRemainder } from './m-per-class-sampler.js';

/** Labels with `sizes[c]` samples of class `c`, shuffled so that classes are not contiguous. */
function labelSet(sizes: readonly number[], seed: number): number[] {
  const labels: number[] = [];
  sizes.forEach((size, c) => {
    for (let i = 0; i < size; i++) labels.push(c);
  });
  const order = new Rng(seed).permutation(labels.length);
  return Array.from(order, (i) => labels[i] as number);
}

/** Reference batch count by the documented rule, as an obvious ascending scan. */
function referenceBatches(sizes: readonly number[], m: number, batchSize: number, remainder: MPerClassRemainder): number {
  const k = batchSize / m;
  const chunks = sizes.filter((n) => n > 0).map((n) => Math.ceil(n / m));
  const allowance = remainder === 'fill' ? k - 1 : 0;
  let best = 0;
  for (let b = 1; b <= 10_000; b++) {
    let placed = 0;
    for (const q of chunks) placed += Math.min(q, b);
    if (k * b - placed <= allowance) best = b;
  }
  return best;
}

interface EpochStats {
  /** Times every dataset index appears in the epoch. */
  readonly uses: number[];
  /** Chunks (blocks of m) of every class in the epoch. */
  readonly chunksPerClass: Map<number, number>;
}

/**
 * Checks every structural promise of one epoch and returns its usage counts:
 * batch count and size, blocks of m consecutive indices of one class, distinct classes per batch,
 * no duplicate index within a block unless the class is smaller than m, and per class the cyclic
 * reading: with T = chunks m uses, every sample is used floor(T / n) or ceil(T / n) times (T < n:
 * T distinct samples once each).
 */
function checkEpoch(labels: readonly number[], m: number, batchSize: number, batchesPerEpoch: number, batches: Int32Array[]): EpochStats {
  const k = batchSize / m;
  const classSize = new Map<number, number>();
  for (const label of labels) classSize.set(label, (classSize.get(label) ?? 0) + 1);
  expect(batches).toHaveLength(batchesPerEpoch);
  const uses = new Array<number>(labels.length).fill(0);
  const chunksPerClass = new Map<number, number>();
  for (const batch of batches) {
    expect(batch).toBeInstanceOf(Int32Array);
    expect(batch).toHaveLength(batchSize);
    const classesInBatch = new Set<number>();
    for (let block = 0; block < k; block++) {
      const blockIndices = [...batch.subarray(block * m, (block + 1) * m)];
      for (const index of blockIndices) {
        expect(Number.isInteger(index) && index >= 0 && index < labels.length).toBe(true);
        uses[index] = (uses[index] as number) + 1;
      }
      const label = labels[blockIndices[0] as number] as number;
      for (const index of blockIndices) expect(labels[index]).toBe(label);
      expect(classesInBatch.has(label)).toBe(false);
      classesInBatch.add(label);
      chunksPerClass.set(label, (chunksPerClass.get(label) ?? 0) + 1);
      if ((classSize.get(label) as number) >= m) expect(new Set(blockIndices).size).toBe(m);
    }
    expect(classesInBatch.size).toBe(k);
  }
  for (const [label, n] of classSize) {
    const total = (chunksPerClass.get(label) ?? 0) * m;
    const members = labels.flatMap((l, i) => (l === label ? [i] : []));
    const counts = members.map((i) => uses[i] as number);
    const low = Math.floor(total / n);
    const high = Math.ceil(total / n);
    for (const count of counts) expect(count === low || count === high).toBe(true);
    expect(counts.filter((count) => count === high && high !== low)).toHaveLength(total % n);
  }
  return { uses, chunksPerClass };
}

const asArrays = (batches: Int32Array[]): number[][] => batches.map((batch) => [...batch]);

describe('mPerClassSampler', () => {
  it.each(['fill', 'drop'] as const)('uses every sample exactly once on a balanced label set (%s)', (remainder) => {
    // 10 classes x 8 samples, m = 4, 2 classes per batch: 20 chunks fill 10 batches exactly.
    const labels = labelSet(new Array<number>(10).fill(8), 1);
    const sampler = mPerClassSampler({ labels, m: 4, batchSize: 8, remainder });
    expect(sampler.name).toBe('mPerClassSampler');
    expect(sampler.batchesPerEpoch).toBe(10);
    const { uses } = checkEpoch(labels, 4, 8, 10, sampler.epoch(new Rng(3)));
    expect(uses).toEqual(new Array<number>(80).fill(1));
  });

  it('covers an unbalanced label set, the repeats being exactly the wrap-around fill-ins', () => {
    // sizes 7, 5, 9, 4, 6 with m = 3: chunks 3, 2, 3, 2, 2 (Q = 12), 3 classes per batch -> 4 batches.
    const sizes = [7, 5, 9, 4, 6];
    const labels = labelSet(sizes, 2);
    const sampler = mPerClassSampler({ labels, m: 3, batchSize: 9 });
    expect(sampler.batchesPerEpoch).toBe(4);
    for (let seed = 0; seed < 20; seed++) {
      const { uses, chunksPerClass } = checkEpoch(labels, 3, 9, 4, sampler.epoch(new Rng(seed)));
      expect(Math.min(...uses)).toBe(1);
      // Q = 3 * 4: no extra chunk, every class gives exactly its ceil(n / 3) chunks.
      expect(sizes.map((_, c) => chunksPerClass.get(c))).toEqual([3, 2, 3, 2, 2]);
      // Repeats per class = 3 ceil(n / 3) - n (2, 1, 0, 2, 0), each a second use.
      const repeats = sizes.map((_, c) => labels.reduce((sum, l, i) => sum + (l === c ? (uses[i] as number) - 1 : 0), 0));
      expect(repeats).toEqual([2, 1, 0, 2, 0]);
      expect(Math.max(...uses)).toBe(2);
    }
  });

  it("completes the last batch with fewer than batchSize / m extra chunks ('fill') or drops the leftovers ('drop')", () => {
    // 5 classes x 4 samples, m = 2, 3 classes per batch: Q = 10 chunks.
    const labels = labelSet([4, 4, 4, 4, 4], 4);
    const fill = mPerClassSampler({ labels, m: 2, batchSize: 6 });
    const drop = mPerClassSampler({ labels, m: 2, batchSize: 6, remainder: 'drop' });
    expect(fill.batchesPerEpoch).toBe(4); // ceil(10 / 3): 2 extra chunks
    expect(drop.batchesPerEpoch).toBe(3); // floor(10 / 3): 1 chunk dropped
    for (let seed = 0; seed < 20; seed++) {
      const filled = checkEpoch(labels, 2, 6, 4, fill.epoch(new Rng(seed)));
      expect(Math.min(...filled.uses)).toBe(1);
      expect(filled.uses.reduce((a, b) => a + b, 0) - 20).toBe(4); // 2 extra chunks of 2
      const dropped = checkEpoch(labels, 2, 6, 3, drop.epoch(new Rng(seed)));
      expect(Math.max(...dropped.uses)).toBe(1);
      expect(dropped.uses.filter((u) => u === 0)).toHaveLength(2); // 1 chunk of 2
    }
  });

  it.each([
    ['fill', 4],
    ['drop', 3],
  ] as const)('caps a dominant class at one chunk per batch and skips different samples of it every epoch (%s)', (remainder, expected) => {
    // class 0: 100 samples (25 chunks of 4); classes 1..3: 4 samples each (1 chunk); 2 classes per batch.
    // Empty places h(B) = 2B - min(25, B) - 3 = B - 3: B = 3 for 'drop' (h <= 0), 4 for 'fill' (h < 2).
    const labels = labelSet([100, 4, 4, 4], 5);
    const sampler = mPerClassSampler({ labels, m: 4, batchSize: 8, remainder });
    expect(sampler.batchesPerEpoch).toBe(expected);
    const rng = new Rng(6);
    const seenDominant = new Set<number>();
    let previous: number[] = [];
    for (let epoch = 0; epoch < 5; epoch++) {
      const { uses, chunksPerClass } = checkEpoch(labels, 4, 8, expected, sampler.epoch(rng));
      // The dominant class is in every batch with 4 distinct samples: 4B distinct samples in all.
      expect(chunksPerClass.get(0)).toBe(expected);
      const dominant = labels.flatMap((l, i) => (l === 0 && (uses[i] as number) > 0 ? [i] : []));
      expect(dominant).toHaveLength(4 * expected);
      for (const i of dominant) expect(uses[i]).toBe(1);
      // Every small class is used, once each ('drop') or with one extra chunk among them ('fill').
      const small = labels.flatMap((l, i) => (l !== 0 ? [uses[i] as number] : []));
      expect(Math.min(...small)).toBe(1);
      expect(small.reduce((a, b) => a + b, 0)).toBe(12 + (expected - 3) * 4);
      expect(dominant).not.toEqual(previous);
      previous = dominant;
      for (const i of dominant) seenDominant.add(i);
    }
    expect(seenDominant.size).toBeGreaterThan(4 * expected);
  });

  it('cycles through a class smaller than m, every sample floor(m / n) or ceil(m / n) times', () => {
    // sizes 1, 2, 3, 5, 4 with m = 4: the first three classes repeat inside their one chunk.
    const sizes = [1, 2, 3, 5, 4];
    const labels = labelSet(sizes, 7);
    const sampler = mPerClassSampler({ labels, m: 4, batchSize: 8 });
    // chunks 1, 1, 1, 2, 1 (Q = 6), 2 classes per batch -> 3 batches.
    expect(sampler.batchesPerEpoch).toBe(3);
    const { uses } = checkEpoch(labels, 4, 8, 3, sampler.epoch(new Rng(8)));
    const usesOf = (c: number): number[] => labels.flatMap((l, i) => (l === c ? [uses[i] as number] : [])).sort();
    expect(usesOf(0)).toEqual([4]);
    expect(usesOf(1)).toEqual([2, 2]);
    expect(usesOf(2)).toEqual([1, 1, 2]);
    expect(usesOf(3)).toEqual([1, 1, 2, 2, 2]);
    expect(usesOf(4)).toEqual([1, 1, 1, 1]);
  });

  it('handles one class per batch (m = batchSize) and one sample per class (m = 1)', () => {
    const labels = labelSet([6, 3, 5], 9);
    const whole = mPerClassSampler({ labels, m: 3, batchSize: 3 });
    expect(whole.batchesPerEpoch).toBe(5); // 2 + 1 + 2 chunks
    expect(Math.min(...checkEpoch(labels, 3, 3, 5, whole.epoch(new Rng(1))).uses)).toBe(1);
    const single = mPerClassSampler({ labels: [0], m: 1, batchSize: 1 });
    expect(asArrays(single.epoch(new Rng(0)))).toEqual([[0]]);
    const distinct = mPerClassSampler({ labels, m: 1, batchSize: 3 });
    // 14 chunks of one sample, all 3 classes in every batch: B = 5, class 0 loses a chunk, class 1 repeats
    expect(distinct.batchesPerEpoch).toBe(referenceBatches([6, 3, 5], 1, 3, 'fill'));
    checkEpoch(labels, 1, 3, distinct.batchesPerEpoch, distinct.epoch(new Rng(2)));
  });

  it('accepts any integer labels (negative, sparse, Int32Array) and groups by value', () => {
    const labels = Int32Array.from([-5, 1000, -5, 1000, 7, 7]);
    const sampler = mPerClassSampler({ labels, m: 2, batchSize: 4 });
    expect(sampler.batchesPerEpoch).toBe(2);
    checkEpoch([...labels], 2, 4, 2, sampler.epoch(new Rng(0)));
  });

  it('is reproducible from the seed, differs between epochs and varies the batch composition', () => {
    const labels = labelSet([10, 12, 8, 9, 11, 10], 10);
    const sampler = mPerClassSampler({ labels, m: 2, batchSize: 6 });
    const rng = new Rng(11);
    const first = asArrays(sampler.epoch(rng));
    const second = asArrays(sampler.epoch(rng));
    expect(first).not.toEqual(second);
    const again = new Rng(11);
    expect(asArrays(sampler.epoch(again))).toEqual(first);
    expect(asArrays(sampler.epoch(again))).toEqual(second);
    expect(asArrays(sampler.epoch(new Rng(12)))).not.toEqual(first);
    // Over a few epochs every pair of classes shares a batch at least once.
    const together = new Set<string>();
    const generator = new Rng(13);
    for (let epoch = 0; epoch < 10; epoch++) {
      for (const batch of sampler.epoch(generator)) {
        const classes = [0, 2, 4].map((offset) => labels[batch[offset] as number] as number).sort();
        for (let a = 0; a < 3; a++) for (let b = a + 1; b < 3; b++) together.add(`${classes[a]}-${classes[b]}`);
      }
    }
    expect(together.size).toBe(15);
  });

  it.each(['fill', 'drop'] as const)('keeps every promise on 300 seeded random label sets (%s)', (remainder) => {
    const gen = new Rng(remainder === 'fill' ? 100 : 200);
    let coveredEpochs = 0;
    let dominatedEpochs = 0;
    for (let trial = 0; trial < 300; trial++) {
      const m = 1 + gen.int(4);
      const classCount = 1 + gen.int(12);
      const perBatch = 1 + gen.int(classCount);
      const sizes = Array.from({ length: classCount }, () => 1 + gen.int(gen.uniform() < 0.1 ? 60 : 15));
      const labels = labelSet(sizes, trial);
      const sampler = mPerClassSampler({ labels, m, batchSize: m * perBatch, remainder });
      const batches = referenceBatches(sizes, m, m * perBatch, remainder);
      expect(sampler.batchesPerEpoch).toBe(batches);
      const { uses, chunksPerClass } = checkEpoch(labels, m, m * perBatch, batches, sampler.epoch(new Rng(trial)));
      const chunks = sizes.map((n) => Math.ceil(n / m));
      const totalChunks = chunks.reduce((a, b) => a + b, 0);
      const dominated = chunks.some((q) => q > batches);
      const predictedCoverage = !dominated && (remainder === 'fill' || totalChunks === perBatch * batches);
      const covered = uses.every((u) => u >= 1);
      expect(covered).toBe(predictedCoverage);
      if (covered) coveredEpochs++;
      if (dominated) dominatedEpochs++;
      sizes.forEach((n, c) => {
        const given = chunksPerClass.get(c) ?? 0;
        const q = chunks[c] as number;
        // A class gives at most one chunk per batch; a dominated class exactly B.
        expect(given).toBeLessThanOrEqual(batches);
        if (remainder === 'drop') expect(given).toBeLessThanOrEqual(Math.min(q, batches));
        else expect(given).toBeGreaterThanOrEqual(Math.min(q, batches));
        expect(n).toBeGreaterThanOrEqual(1);
      });
      // Fewer than perBatch chunks are added ('fill') or dropped ('drop') besides dominated surplus.
      const placeable = chunks.reduce((sum, q) => sum + Math.min(q, batches), 0);
      expect(Math.abs(perBatch * batches - placeable)).toBeLessThan(perBatch);
    }
    // The random sets exercise both outcomes.
    expect(coveredEpochs).toBeGreaterThan(30);
    expect(dominatedEpochs).toBeGreaterThan(10);
  });

  it('runs an epoch over 60,000 samples quickly', () => {
    const labels = Array.from({ length: 60_000 }, (_, i) => i % 1000);
    const sampler = mPerClassSampler({ labels, m: 4, batchSize: 128 });
    const batches = sampler.epoch(new Rng(0));
    expect(batches).toHaveLength(sampler.batchesPerEpoch);
    const seen = new Uint8Array(60_000);
    for (const batch of batches) for (const i of batch) seen[i] = 1;
    expect(seen.every((v) => v === 1)).toBe(true);
  });

  it('rejects bad options with named errors', () => {
    const labels = [0, 0, 1, 1, 2, 2];
    expectContrastiveError(() => mPerClassSampler({ labels, m: 0, batchSize: 4 }), 'INVALID_ARGUMENT', /Argument 'm' passed to 'mPerClassSampler' must be an integer >= 1, got 0/);
    expectContrastiveError(() => mPerClassSampler({ labels, m: 2, batchSize: 2.5 }), 'INVALID_ARGUMENT', /Argument 'batchSize' passed to 'mPerClassSampler' must be an integer >= 1, got 2.5/);
    expectContrastiveError(() => mPerClassSampler({ labels, m: 2, batchSize: 5 }), 'INVALID_ARGUMENT', /Argument 'batchSize' passed to 'mPerClassSampler' must be a multiple of m \(2\), got 5/);
    expectContrastiveError(
      () => mPerClassSampler({ labels, m: 2, batchSize: 8 }),
      'INVALID_ARGUMENT',
      /Argument 'labels' passed to 'mPerClassSampler' must hold at least batchSize \/ m = 4 distinct classes, got 3/,
    );
    expectContrastiveError(() => mPerClassSampler({ labels: [], m: 1, batchSize: 1 }), 'INVALID_ARGUMENT', /Argument 'labels' .* got 0 labels/);
    expectContrastiveError(() => mPerClassSampler({ labels: [0, 1.5], m: 1, batchSize: 1 }), 'INVALID_ARGUMENT', /Argument 'labels' .* must hold integers, got 1.5 at index 1/);
    expectContrastiveError(
      () => mPerClassSampler({ labels: new Float32Array([0, 1]) as unknown as Int32Array, m: 1, batchSize: 1 }),
      'INVALID_ARGUMENT',
      /Argument 'labels' .* must be an Int32Array or an array of integers, got object/,
    );
    expectContrastiveError(
      () => mPerClassSampler({ labels, m: 2, batchSize: 4, remainder: 'keep' as MPerClassRemainder }),
      'INVALID_ARGUMENT',
      /Argument 'remainder' passed to 'mPerClassSampler' must be one of "fill", "drop", got "keep"/,
    );
    expectContrastiveError(() => mPerClassSampler(null as never), 'INVALID_ARGUMENT', /Argument 'options'/);
  });
});
