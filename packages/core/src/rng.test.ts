import { describe, expect, it } from 'vitest';
import { Rng, setWasmNormals, wasmMathCheck } from './rng.js';

/** `x` moved by `steps` units in the last place (same sign, finite). */
function ulps(x: number, steps: number): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  view.setBigInt64(0, view.getBigInt64(0) + BigInt(steps));
  return view.getFloat64(0);
}

/** |a - b| in units in the last place of b. */
function ulpDistance(a: number, b: number): number {
  const view = new DataView(new ArrayBuffer(16));
  view.setFloat64(0, a);
  view.setFloat64(8, b);
  return Math.abs(Number(view.getBigInt64(0) - view.getBigInt64(8)));
}

// V8 before 11.6 (Node 20) runs fdlibm for Math.sin / Math.cos, later ones glibc's by default: the
// module's fdlibm must equal the former bit for bit, and stays within 1 ulp of the latter.
const FDLIBM_TRIG = Number(process.versions.v8?.split('.')[0] ?? 0) < 11 || process.versions.v8?.startsWith('11.') === true && Number(process.versions.v8.split('.')[1]) < 6;

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

  it('normalArray through the WebAssembly module equals the JavaScript loop bit for bit, across its chunks, and leaves the same state', () => {
    expect(wasmMathCheck()).not.toBeNull(); // the module loads here, so the path below is taken
    for (const [seed, n, mean, std] of [[1, 200_704, 0, 1], [2, 2 * 16_384 * 2 + 7, 0.5, 0.05], [3, 17, -2, 3], [4, 784, 0, 0]] as const) {
      const viaWasm = new Rng(seed);
      const viaJs = viaWasm.clone();
      const got = viaWasm.normalArray(n, mean, std);
      const previous = setWasmNormals(false);
      try {
        const expected = viaJs.normalArray(n, mean, std);
        expect(got.length).toBe(n);
        let differing = 0;
        for (let i = 0; i < n; i++) if (!Object.is(got[i], expected[i])) differing++;
        expect(differing).toBe(0);
      } finally {
        setWasmNormals(previous);
      }
      expect(viaWasm.state()).toEqual(viaJs.state());
      expect([viaWasm.uniform(), viaWasm.normal()]).toEqual([viaJs.uniform(), viaJs.normal()]);
    }
  });

  it("the module's sine, cosine and logarithm are V8's Math (fdlibm) bit for bit, at quadrant edges and on random arguments", () => {
    const check = wasmMathCheck();
    if (check === null) throw new Error('the module did not load');
    const rng = new Rng(12);
    const angles: number[] = [0, Math.PI / 4, (3 * Math.PI) / 4, ulps(2 * Math.PI, -1)];
    for (let i = 0; i < 100_000; i++) angles.push(2 * Math.PI * rng.uniform());
    for (const edge of [Math.PI / 4, (3 * Math.PI) / 4, Math.PI / 2, Math.PI, (3 * Math.PI) / 2, 2 * Math.PI]) {
      // The reduction's branches: exactly at, and a few ulps and small fractions around, each edge.
      for (let d = -300; d <= 300; d++) angles.push(ulps(edge, d));
      for (let e = 1; e < 45; e++) angles.push(edge * (1 + 2 ** -e), edge * (1 - 2 ** -e));
    }
    for (let e = 1; e < 60; e++) angles.push(2 ** -e);
    const logs: number[] = [1, ulps(1, -1), 0.5, ulps(0.5, 1), Math.SQRT1_2, 2 ** -1074, 2 ** -1022, ulps(2 ** -1022, -1)];
    for (let i = 0; i < 100_000; i++) logs.push(rng.uniform() || 1);
    for (let e = 1; e <= 1074; e++) logs.push(2 ** -e);
    for (let d = 1; d < 3000; d++) logs.push(ulps(1, -d), ulps(0.5, d), ulps(Math.SQRT1_2, d - 1500));
    let inexact = 0;
    let worst = 0;
    for (const x of angles) {
      if (!(x >= 0 && x < 2 * Math.PI)) continue;
      const [sine, cosine] = check.sincos(x);
      for (const [ours, theirs] of [[sine, Math.sin(x)], [cosine, Math.cos(x)]] as const) {
        if (!Object.is(ours, theirs)) inexact++;
        worst = Math.max(worst, ulpDistance(ours, theirs));
      }
    }
    for (const x of logs) {
      const ours = check.log(x);
      if (!Object.is(ours, Math.log(x))) inexact++;
      worst = Math.max(worst, ulpDistance(ours, Math.log(x)));
    }
    if (FDLIBM_TRIG) expect(inexact).toBe(0);
    else expect(worst).toBeLessThanOrEqual(1);
    // The two-lane (SIMD) code on the same arguments, in pairs: equal to the scalar code wherever it
    // does not hand the pair to it (and it hands over at least the edge cases it skips).
    // Angles are paired with an ordinary log argument (0.3) and logs with an ordinary angle (1), so
    // each list's edge cases decide the hand-over alone.
    const bits = (values: number[]): string => values.map((v) => (Object.is(v, -0) ? '-0' : String(v))).join(',');
    let simdPairs = 0;
    let handedOver = 0;
    for (let p = 0; p + 1 < angles.length; p += 2) {
      const [a, b] = [angles[p] as number, angles[p + 1] as number];
      if (!(a >= 0 && a < 2 * Math.PI && b >= 0 && b < 2 * Math.PI)) continue;
      const lanes = check.simd(a, b, 0.3, 0.3);
      if (lanes === null) {
        handedOver++;
        continue;
      }
      simdPairs++;
      const [sa, ca] = check.sincos(a);
      const [sb, cb] = check.sincos(b);
      if (bits([...lanes.sin, ...lanes.cos]) !== bits([sa, sb, ca, cb])) throw new Error(`two-lane sin/cos of ${a}, ${b} differ from the scalar code`);
    }
    for (let p = 0; p + 1 < logs.length; p += 2) {
      const [la, lb] = [logs[p] as number, logs[p + 1] as number];
      const lanes = check.simd(1, 1, la, lb);
      if (lanes === null) {
        handedOver++;
        continue;
      }
      simdPairs++;
      if (bits(lanes.log) !== bits([check.log(la), check.log(lb)])) throw new Error(`two-lane log of ${la}, ${lb} differs from the scalar code`);
    }
    expect(simdPairs).toBeGreaterThan(95_000);
    expect(handedOver).toBeGreaterThan(0);
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
