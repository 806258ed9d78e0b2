import { describe, expect, it } from 'vitest';
import { cubicInterpolate, minimizeLbfgs, type Objective } from './lbfgs.js';

const settings = { maxIterations: 500, history: 20, gradientTolerance: 1e-10, changeTolerance: 1e-14 };

function nonIncreasing(values: number[]): boolean {
  return values.every((value, i) => i === 0 || value <= (values[i - 1] as number));
}

describe('minimizeLbfgs', () => {
  it('finds the minimum of the Rosenbrock function from (-1.2, 1)', () => {
    const rosenbrock: Objective = (x, gradient) => {
      const [a, b] = [x[0] as number, x[1] as number];
      gradient[0] = -2 * (1 - a) - 400 * a * (b - a * a);
      gradient[1] = 200 * (b - a * a);
      return (1 - a) ** 2 + 100 * (b - a * a) ** 2;
    };
    const outcome = minimizeLbfgs(rosenbrock, Float64Array.from([-1.2, 1]), settings);
    expect(outcome.x[0]).toBeCloseTo(1, 6);
    expect(outcome.x[1]).toBeCloseTo(1, 6);
    expect(outcome.value).toBeLessThan(1e-12);
    expect(nonIncreasing(outcome.values)).toBe(true);
    expect(outcome.values).toHaveLength(outcome.iterations + 1);
  });

  it('solves an ill-conditioned 60-dimensional quadratic: x* = A^-1 b', () => {
    const dims = 60;
    const diagonal = Float64Array.from({ length: dims }, (_, i) => 10 ** ((3 * i) / (dims - 1))); // condition 1e3
    const target = Float64Array.from({ length: dims }, (_, i) => Math.sin(i + 1));
    const quadratic: Objective = (x, gradient) => {
      let value = 0;
      for (let i = 0; i < dims; i++) {
        const a = diagonal[i] as number;
        const xi = x[i] as number;
        gradient[i] = a * xi - (target[i] as number);
        value += 0.5 * a * xi * xi - (target[i] as number) * xi;
      }
      return value;
    };
    const outcome = minimizeLbfgs(quadratic, new Float64Array(dims), settings);
    let optimum = 0;
    for (let i = 0; i < dims; i++) optimum -= (0.5 * (target[i] as number) ** 2) / (diagonal[i] as number);
    // The value gets within 1e-10 (scipy's L-BFGS-B with maxcor 20 needs ~240 iterations too).
    expect(outcome.value - optimum).toBeLessThan(1e-10);
    for (let i = 0; i < dims; i++) expect(outcome.x[i]).toBeCloseTo((target[i] as number) / (diagonal[i] as number), 5);
    expect(nonIncreasing(outcome.values)).toBe(true);
    expect(outcome.values).toHaveLength(outcome.iterations + 1);
  });

  it('stops at once at a stationary point and never modifies x0', () => {
    const x0 = Float64Array.from([0, 0]);
    const outcome = minimizeLbfgs((x, gradient) => {
      gradient[0] = 2 * (x[0] as number);
      gradient[1] = 2 * (x[1] as number);
      return (x[0] as number) ** 2 + (x[1] as number) ** 2;
    }, x0, settings);
    expect(outcome).toMatchObject({ iterations: 0, evaluations: 1, stop: 'gradient', value: 0 });
    const start = Float64Array.from([3, -4]);
    minimizeLbfgs((x, gradient) => {
      gradient[0] = 2 * (x[0] as number);
      gradient[1] = 2 * (x[1] as number);
      return (x[0] as number) ** 2 + (x[1] as number) ** 2;
    }, start, settings);
    expect(Array.from(start)).toEqual([3, -4]);
  });

  it('honours the iteration budget', () => {
    const outcome = minimizeLbfgs(
      (x, gradient) => {
        const [a, b] = [x[0] as number, x[1] as number];
        gradient[0] = -2 * (1 - a) - 400 * a * (b - a * a);
        gradient[1] = 200 * (b - a * a);
        return (1 - a) ** 2 + 100 * (b - a * a) ** 2;
      },
      Float64Array.from([-1.2, 1]),
      { ...settings, maxIterations: 3, maxEvaluations: 100 },
    );
    expect(outcome.iterations).toBe(3);
    expect(outcome.stop).toBe('iterations');
  });
});

describe('cubicInterpolate', () => {
  it('recovers the minimizer of a cubic from two points with slopes', () => {
    // f(x) = x^3 - 3x (minimum at x = 1), sampled at 0 and 2.
    const f = (x: number): number => x ** 3 - 3 * x;
    const g = (x: number): number => 3 * x * x - 3;
    expect(cubicInterpolate(0, f(0), g(0), 2, f(2), g(2))).toBeCloseTo(1, 12);
    expect(cubicInterpolate(2, f(2), g(2), 0, f(0), g(0))).toBeCloseTo(1, 12);
    // Clamped to the bounds.
    expect(cubicInterpolate(0, f(0), g(0), 2, f(2), g(2), [1.5, 3])).toBe(1.5);
  });

  it('falls back to the midpoint without a real minimizer', () => {
    // d1 = 0 and g1 * g2 = 1 > d1^2: no real critical point.
    expect(cubicInterpolate(0, 0, 1, 1, 2 / 3, 1)).toBe(0.5);
    expect(cubicInterpolate(0, 0, 1, 1, 2 / 3, 1, [0.25, 2])).toBe(1.125);
  });
});
