import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus, xoroshiro128plusFromState } from 'pure-rand/generator/xoroshiro128plus';
import type { JumpableRandomGenerator } from 'pure-rand/types/JumpableRandomGenerator';
import { ContrastiveError } from './errors.js';
import { RNG_WASM_BASE64 } from './rng-wasm.js';
import { assertNumber } from './validate.js';

// pure-rand's uniformFloat64: (first word & (2^26 - 1)) * 2^-26 + (second word & (2^27 - 1)) * 2^-53.
const UNIFORM_MASK_HIGH = 0x3ffffff;
const UNIFORM_MASK_LOW = 0x7ffffff;
const UNIFORM_SCALE_HIGH = 2 ** -26;
const UNIFORM_SCALE_LOW = 2 ** -53;

/** native/rng.c's module: its memory holds the generator state (16 bytes) then the output floats. */
interface NormalModule {
  memory: WebAssembly.Memory;
  normalPairs(state: number, out: number, pairs: number, mean: number, std: number): void;
  sincosCheck(x: number, out: number): void;
  logCheck(x: number): number;
  simdCheck(a: number, b: number, la: number, lb: number, out: number): number;
}

/** Pairs per call of the module (their float32 output fills 2 of its 3 pages). */
const WASM_CHUNK_PAIRS = 16384;
/** Below this many pairs the JavaScript loop runs (a call and a copy cost more than they save). */
const WASM_MIN_PAIRS = 8;

let normalModule: NormalModule | null | undefined;
let wasmNormals = true;

/** The module, compiled on first use (synchronously: it is 9 KB); null where WebAssembly is missing or refuses. */
function loadNormalModule(): NormalModule | null {
  if (normalModule !== undefined) return normalModule;
  normalModule = null;
  try {
    if (typeof WebAssembly !== 'object' || typeof atob !== 'function') return null;
    const memory = new WebAssembly.Memory({ initial: 3, maximum: 3 });
    const bytes = Uint8Array.from(atob(RNG_WASM_BASE64), (c) => c.charCodeAt(0));
    const exports = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } }).exports as Record<string, unknown>;
    normalModule = {
      memory,
      normalPairs: exports.normal_pairs as NormalModule['normalPairs'],
      sincosCheck: exports.sincos_check as NormalModule['sincosCheck'],
      logCheck: exports.log_check as NormalModule['logCheck'],
      simdCheck: exports.simd_check as NormalModule['simdCheck'],
    };
  } catch {
    // e.g. a browser's main thread that refuses synchronous compilation: the JavaScript path.
  }
  return normalModule;
}

/**
 * Whether {@link Rng.normalArray} may use the WebAssembly module (default true; both paths give the
 * same values). For tests and benchmarks.
 * @returns the previous setting.
 * @internal
 */
export function setWasmNormals(enabled: boolean): boolean {
  const previous = wasmNormals;
  wasmNormals = enabled;
  return previous;
}

/**
 * The module's own sine, cosine (of `x` in `[0, 2π)`) and logarithm (of `x` in `(0, 1]`), to check
 * them against `Math`; null when the module does not load.
 * @internal
 */
export function wasmMathCheck(): {
  sincos(x: number): [number, number];
  log(x: number): number;
  /** The two-lane (SIMD) code: sines, cosines of `[a, b]` and logs of `[la, lb]`, or `null` where a lane leaves the pair to the scalar code. */
  simd(a: number, b: number, la: number, lb: number): { sin: [number, number]; cos: [number, number]; log: [number, number] } | null;
} | null {
  const module = loadNormalModule();
  if (module === null) return null;
  return {
    sincos: (x) => {
      module.sincosCheck(x, 16);
      const out = new Float64Array(module.memory.buffer, 16, 2);
      return [out[0] as number, out[1] as number];
    },
    log: (x) => module.logCheck(x),
    simd: (a, b, la, lb) => {
      if (module.simdCheck(a, b, la, lb, 16) !== 0) return null;
      const out = new Float64Array(module.memory.buffer, 16, 6);
      return { sin: [out[0] as number, out[1] as number], cos: [out[2] as number, out[3] as number], log: [out[4] as number, out[5] as number] };
    },
  };
}

/** splitmix32 finalizer over both 32-bit halves of a safe-integer seed. */
function mixSeed(seed: number): number {
  let h = (seed | 0) ^ Math.imul(Math.floor(seed / 0x100000000) | 0, 0x9e3779b9);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) | 0;
}

function describeState(state: unknown): string {
  try {
    return JSON.stringify(state) ?? String(state);
  } catch {
    return typeof state;
  }
}

/** Throws unless `[low, high)` is a finite interval whose width is finite too. */
function assertInterval(low: unknown, high: unknown, fn: string, lowName: string, highName: string): void {
  assertNumber(low, lowName, fn);
  assertNumber(high, highName, fn);
  if (!Number.isFinite(high - low)) {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument '${highName}' passed to '${fn}' must be within a finite distance of '${lowName}', got ${low} and ${high}`);
  }
}

/**
 * Serializable state of an {@link Rng}; `Rng.fromState(rng.state())` continues the same stream.
 * @category Randomness
 */
export interface RngState {
  readonly algorithm: 'xoroshiro128plus';
  readonly state: readonly number[];
  /** A cached second Box–Muller normal, if any. */
  readonly spareNormal: number | null;
}

/**
 * Seeded random number generator (xoroshiro128+ from `pure-rand`). All randomness in the toolkit
 * flows through an `Rng`, never `Math.random`, so the same seed gives the same augmentations,
 * batches and results. The state is serializable for checkpoints.
 *
 * @example
 * ```ts
 * const rng = new Rng(42);
 * rng.uniform();          // a float in [0, 1)
 * rng.permutation(4);     // e.g. Int32Array [2, 0, 3, 1]
 * ```
 * @category Randomness
 */
export class Rng {
  private generator: JumpableRandomGenerator;
  private spare: number | null = null;

  /**
   * @param seed - any safe integer.
   * @throws {@link ContrastiveError} when `seed` is not an integer.
   */
  constructor(seed: number) {
    assertNumber(seed, 'seed', 'Rng', { integer: true });
    this.generator = xoroshiro128plus(mixSeed(seed));
    // xoroshiro's first outputs from a small seed are correlated with it; discard a few.
    for (let i = 0; i < 16; i++) this.generator.next();
  }

  /**
   * Restore a generator from {@link Rng.state}.
   * @param state - a state object produced by `rng.state()`.
   * @returns a generator that continues the saved stream.
   * @throws {@link ContrastiveError} `INVALID_ARGUMENT` for anything else.
   */
  static fromState(state: RngState): Rng {
    if (
      state === null ||
      typeof state !== 'object' ||
      state.algorithm !== 'xoroshiro128plus' ||
      !Array.isArray(state.state) ||
      state.state.length !== 4 ||
      !state.state.every((word) => Number.isInteger(word) && Math.abs(word) <= 0xffffffff) ||
      (state.spareNormal !== null && !Number.isFinite(state.spareNormal))
    ) {
      throw new ContrastiveError(
        'INVALID_ARGUMENT',
        `Argument 'state' passed to 'Rng.fromState' must be an RngState (four 32-bit words and a finite or null spare normal), got ${describeState(state)}`,
      );
    }
    const rng = new Rng(0);
    rng.generator = xoroshiro128plusFromState(state.state);
    rng.spare = state.spareNormal;
    return rng;
  }

  /** @returns the serializable state (a copy). */
  state(): RngState {
    return { algorithm: 'xoroshiro128plus', state: [...this.generator.getState()], spareNormal: this.spare };
  }

  /** @returns an independent copy with the same state. */
  clone(): Rng {
    return Rng.fromState(this.state());
  }

  /**
   * A new generator seeded from this one (advances this one by one draw). Use to give a component
   * its own stream.
   */
  fork(): Rng {
    return new Rng(this.int(0x7fffffff));
  }

  /**
   * A uniform float.
   * @param low - inclusive lower bound, finite. @defaultValue 0
   * @param high - exclusive upper bound, finite. @defaultValue 1
   * @throws {@link ContrastiveError} `INVALID_ARGUMENT` for a NaN or infinite bound.
   */
  uniform(low = 0, high = 1): number {
    assertInterval(low, high, 'Rng.uniform', 'low', 'high');
    return this.drawUniform(low, high);
  }

  private drawUniform(low: number, high: number): number {
    return low + (high - low) * uniformFloat64(this.generator);
  }

  /**
   * A uniform integer in `[0, n)`.
   * @param n - exclusive upper bound, a positive integer.
   */
  int(n: number): number {
    assertNumber(n, 'n', 'Rng.int', { integer: true, min: 1 });
    return uniformInt(this.generator, 0, n - 1);
  }

  /**
   * A normal draw (Box–Muller).
   * @param mean - finite. @defaultValue 0
   * @param std - finite, `>= 0`. @defaultValue 1
   * @throws {@link ContrastiveError} `INVALID_ARGUMENT` for a NaN or infinite mean, or a negative,
   *   NaN or infinite std.
   */
  normal(mean = 0, std = 1): number {
    assertNumber(mean, 'mean', 'Rng.normal');
    assertNumber(std, 'std', 'Rng.normal', { min: 0 });
    return this.drawNormal(mean, std);
  }

  private drawNormal(mean: number, std: number): number {
    if (this.spare !== null) {
      const value = this.spare;
      this.spare = null;
      return mean + std * value;
    }
    let u = 0;
    while (u === 0) u = uniformFloat64(this.generator);
    const v = uniformFloat64(this.generator);
    const radius = Math.sqrt(-2 * Math.log(u));
    this.spare = radius * Math.sin(2 * Math.PI * v);
    return mean + std * radius * Math.cos(2 * Math.PI * v);
  }

  /**
   * Fill a Float32Array of `n` uniform draws in `[low, high)`.
   * @throws {@link ContrastiveError} `INVALID_ARGUMENT` for a negative or fractional `n` or a bad bound.
   */
  uniformArray(n: number, low = 0, high = 1): Float32Array {
    assertNumber(n, 'n', 'Rng.uniformArray', { integer: true, min: 0 });
    assertInterval(low, high, 'Rng.uniformArray', 'low', 'high');
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = this.drawUniform(low, high);
    return out;
  }

  /**
   * Fill a Float32Array of `n` normal draws.
   * @throws {@link ContrastiveError} `INVALID_ARGUMENT` for a negative or fractional `n`, a
   *   non-finite mean or a negative or non-finite std.
   */
  normalArray(n: number, mean = 0, std = 1): Float32Array {
    assertNumber(n, 'n', 'Rng.normalArray', { integer: true, min: 0 });
    assertNumber(mean, 'mean', 'Rng.normalArray');
    assertNumber(std, 'std', 'Rng.normalArray', { min: 0 });
    const out = new Float32Array(n);
    let i = 0;
    if (i < n && this.spare !== null) out[i++] = this.drawNormal(mean, std);
    if (i < n) i = this.fillNormalPairs(out, i, mean, std);
    if (i < n) out[i] = this.drawNormal(mean, std);
    return out;
  }

  /**
   * `drawNormal` for pairs from `out[start]` while two slots are left, with the generator's state in
   * locals (pure-rand's xoroshiro128+ step and `uniformFloat64` spelled out, same operations in the
   * same order): the same values, about twice as fast as a call per draw. No spare is pending.
   * @returns the index after the last pair written.
   */
  private fillNormalPairs(out: Float32Array, start: number, mean: number, std: number): number {
    const pairs = Math.floor((out.length - start) / 2);
    const module = wasmNormals && pairs >= WASM_MIN_PAIRS ? loadNormalModule() : null;
    if (module !== null) return this.fillNormalPairsWasm(module, out, start, pairs, mean, std);
    let [s01, s00, s11, s10] = this.generator.getState() as [number, number, number, number];
    let i = start;
    for (; i + 1 < out.length; i += 2) {
      let u = 0;
      let v = 0;
      // Four xoroshiro128+ steps: u = uniformFloat64 (retried while 0), then v.
      for (let draw = 0; draw < 2; ) {
        let hi = 0;
        let lo = 0;
        for (let half = 0; half < 2; half++) {
          const word = (s00 + s10) | 0;
          const a0 = s10 ^ s00;
          const a1 = s11 ^ s01;
          const t00 = s00;
          const t01 = s01;
          s00 = (t00 << 24) ^ (t01 >>> 8) ^ a0 ^ (a0 << 16);
          s01 = (t01 << 24) ^ (t00 >>> 8) ^ a1 ^ ((a1 << 16) | (a0 >>> 16));
          s10 = (a1 << 5) ^ (a0 >>> 27);
          s11 = (a0 << 5) ^ (a1 >>> 27);
          if (half === 0) hi = word & UNIFORM_MASK_HIGH;
          else lo = word & UNIFORM_MASK_LOW;
        }
        const value = hi * UNIFORM_SCALE_HIGH + lo * UNIFORM_SCALE_LOW;
        if (draw === 0) {
          if (value === 0) continue;
          u = value;
        } else {
          v = value;
        }
        draw++;
      }
      const radius = Math.sqrt(-2 * Math.log(u));
      out[i] = mean + std * radius * Math.cos(2 * Math.PI * v);
      out[i + 1] = mean + std * (radius * Math.sin(2 * Math.PI * v));
    }
    this.generator = xoroshiro128plusFromState([s01, s00, s11, s10]);
    return i;
  }

  /** {@link fillNormalPairs} by native/rng.c (the same operations, fdlibm's log, sin and cos as V8's Math): the same values. */
  private fillNormalPairsWasm(module: NormalModule, out: Float32Array, start: number, pairs: number, mean: number, std: number): number {
    const state = new Int32Array(module.memory.buffer, 0, 4);
    state.set(this.generator.getState());
    let i = start;
    for (let done = 0; done < pairs; ) {
      const count = Math.min(WASM_CHUNK_PAIRS, pairs - done);
      module.normalPairs(0, 16, count, mean, std);
      out.set(new Float32Array(module.memory.buffer, 16, 2 * count), i);
      i += 2 * count;
      done += count;
    }
    this.generator = xoroshiro128plusFromState([state[0], state[1], state[2], state[3]] as number[]);
    return i;
  }

  /**
   * A uniformly random permutation of `0 .. n-1` (Fisher–Yates).
   * @param n - a non-negative integer.
   * @returns `Int32Array` of length `n`.
   */
  permutation(n: number): Int32Array {
    assertNumber(n, 'n', 'Rng.permutation', { integer: true, min: 0 });
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) out[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = uniformInt(this.generator, 0, i);
      const swap = out[i] as number;
      out[i] = out[j] as number;
      out[j] = swap;
    }
    return out;
  }

  /**
   * `k` indices drawn from `0 .. n-1`.
   * @param n - population size.
   * @param k - number of draws.
   * @param options - `replace` (default false: distinct indices, `k <= n`).
   * @returns `Int32Array` of length `k`.
   */
  choice(n: number, k: number, options: { replace?: boolean } = {}): Int32Array {
    const replace = options.replace ?? false;
    assertNumber(n, 'n', 'Rng.choice', { integer: true, min: 1 });
    assertNumber(k, 'k', 'Rng.choice', { integer: true, min: 0, ...(replace ? {} : { max: n }) });
    const out = new Int32Array(k);
    if (replace) {
      for (let i = 0; i < k; i++) out[i] = uniformInt(this.generator, 0, n - 1);
      return out;
    }
    // Partial Fisher–Yates over a sparse swap map: O(k) memory.
    const swaps = new Map<number, number>();
    for (let i = 0; i < k; i++) {
      const j = uniformInt(this.generator, i, n - 1);
      const atJ = swaps.get(j) ?? j;
      const atI = swaps.get(i) ?? i;
      out[i] = atJ;
      swaps.set(j, atI);
    }
    return out;
  }
}
