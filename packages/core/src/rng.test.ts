import { describe, expect, it } from 'vitest';
import { Rng } from './rng.js';

describe('Rng', () => {
  it('same seed, same stream; different seed, different stream', () => {
    const a = new Rng(7);
    const b = new Rng(7);
    const c = new Rng(8);
    const drawsA = Array.from({ length: 20 }, () => a.uniform());
    const drawsB = Array.from({ length: 20 }, () => b.uniform());
    const drawsC = Array.from({ length: 20 }, () => c.uniform());
    expect(drawsA).toEqual(drawsB);
    expect(drawsA).not.toEqual(drawsC);
  });

  it('state round-trips mid-stream, including a cached normal', () => {
    const rng = new Rng(123);
    rng.uniform();
    rng.normal(); // leaves a spare Box–Muller value cached
    const restored = Rng.fromState(JSON.parse(JSON.stringify(rng.state())));
    const expected = [rng.normal(), rng.uniform(), rng.int(1000), ...rng.permutation(10)];
    const got = [restored.normal(), restored.uniform(), restored.int(1000), ...restored.permutation(10)];
    expect(got).toEqual(expected);
  });

  it('uniform draws are in range with the right moments', () => {
    const rng = new Rng(1);
    const n = 20000;
    const draws = Array.from({ length: n }, () => rng.uniform(-2, 4));
    expect(Math.min(...draws)).toBeGreaterThanOrEqual(-2);
    expect(Math.max(...draws)).toBeLessThan(4);
    const mean = draws.reduce((s, x) => s + x, 0) / n;
    expect(Math.abs(mean - 1)).toBeLessThan(0.05);
  });

  it('normal draws have mean 0 and std 1', () => {
    const rng = new Rng(2);
    const draws = rng.normalArray(40000);
    const mean = draws.reduce((s, x) => s + x, 0) / draws.length;
    const variance = draws.reduce((s, x) => s + (x - mean) ** 2, 0) / draws.length;
    expect(Math.abs(mean)).toBeLessThan(0.02);
    expect(Math.abs(Math.sqrt(variance) - 1)).toBeLessThan(0.02);
  });

  it('normalArray is normal() one by one, bit for bit, and leaves the same state (spare included)', () => {
    for (const [seed, n, mean, std, pending] of [
      [5, 0, 0, 1, false], [5, 1, 0, 1, false], [6, 2, 0, 1, true], [7, 785, 0, 1, false], [8, 784, 2.5, 0.05, true],
      [9, 10001, -1, 3, false], [10, 3, 0, 0, true],
    ] as const) {
      const fast = new Rng(seed);
      if (pending) fast.normal();
      const slow = fast.clone();
      const got = fast.normalArray(n, mean, std);
      const expected = Float32Array.from({ length: n }, () => slow.normal(mean, std));
      expect(Array.from(got)).toEqual(Array.from(expected));
      expect(fast.state()).toEqual(slow.state());
      expect([fast.normal(), fast.uniform()]).toEqual([slow.normal(), slow.uniform()]);
    }
  });

  it('permutation is a permutation and looks uniform', () => {
    const rng = new Rng(3);
    const counts = new Array(5).fill(0) as number[];
    for (let t = 0; t < 5000; t++) {
      const p = rng.permutation(5);
      expect([...p].sort()).toEqual([0, 1, 2, 3, 4]);
      counts[p[0] as number]! += 1;
    }
    for (const count of counts) expect(Math.abs(count - 1000)).toBeLessThan(120);
  });

  it('choice without replacement gives distinct indices, with replacement may repeat', () => {
    const rng = new Rng(4);
    const picked = rng.choice(1_000_000, 1000);
    expect(new Set(picked).size).toBe(1000);
    expect(Math.max(...picked)).toBeLessThan(1_000_000);
    const all = rng.choice(6, 6);
    expect([...all].sort()).toEqual([0, 1, 2, 3, 4, 5]);
    const withReplacement = rng.choice(2, 50, { replace: true });
    expect(new Set(withReplacement).size).toBeLessThanOrEqual(2);
  });

  it('int covers its range', () => {
    const rng = new Rng(5);
    const seen = new Set(Array.from({ length: 500 }, () => rng.int(7)));
    expect([...seen].sort()).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  it('fork gives an independent deterministic stream', () => {
    const a = new Rng(9).fork();
    const b = new Rng(9).fork();
    expect(a.uniform()).toBe(b.uniform());
  });

  it('rejects bad arguments with named errors', () => {
    expect(() => new Rng(1.5)).toThrow(/Argument 'seed' passed to 'Rng' must be an integer, got 1.5/);
    expect(() => new Rng(1).int(0)).toThrow(/Argument 'n' passed to 'Rng.int' must be an integer >= 1, got 0/);
    expect(() => new Rng(1).choice(3, 4)).toThrow(/Argument 'k' passed to 'Rng.choice' must be an integer >= 0 and <= 3, got 4/);
    expect(() => Rng.fromState({} as never)).toThrow(/Argument 'state' passed to 'Rng.fromState'/);
  });
});
