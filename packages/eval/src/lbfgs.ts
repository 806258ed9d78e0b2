/**
 * Full-batch L-BFGS with a strong-Wolfe line search, float64, plain JS: a port of
 * `torch.optim.LBFGS(line_search_fn='strong_wolfe')` (itself minFunc's algorithm; Nocedal & Wright
 * 2006, algorithms 7.4, 3.5 and 3.6), so a probe trained here follows the reference's iterates.
 */

/**
 * An objective: writes the gradient at `x` into `gradient` and returns the value.
 * @internal
 */
export type Objective = (x: Float64Array, gradient: Float64Array) => number;

/** @internal */
export interface LbfgsSettings {
  /** Most iterations (torch `max_iter`). */
  readonly maxIterations: number;
  /** Most objective evaluations. @defaultValue `floor(maxIterations * 5 / 4)` as torch */
  readonly maxEvaluations?: number;
  /** Pairs (s, y) kept (torch `history_size`). */
  readonly history: number;
  /** Stop when `max |g| <= gradientTolerance` (torch `tolerance_grad`). */
  readonly gradientTolerance: number;
  /** Stop when a step or the change of the value falls below this (torch `tolerance_change`). */
  readonly changeTolerance: number;
}

/** Why the minimizer stopped. @internal */
export type LbfgsStop = 'gradient' | 'change' | 'direction' | 'iterations' | 'evaluations';

/** @internal */
export interface LbfgsOutcome {
  readonly x: Float64Array;
  readonly value: number;
  readonly gradient: Float64Array;
  readonly iterations: number;
  readonly evaluations: number;
  /** Value at the start and after every iteration. */
  readonly values: number[];
  readonly stop: LbfgsStop;
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] as number) * (b[i] as number);
  return s;
}

function maxAbs(a: Float64Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] as number));
  return m;
}

/** `a += alpha * b` in place. */
function axpy(a: Float64Array, alpha: number, b: Float64Array): void {
  for (let i = 0; i < a.length; i++) a[i] = (a[i] as number) + alpha * (b[i] as number);
}

/**
 * Minimizer of the cubic through `(x1, f1, g1)` and `(x2, f2, g2)`, clamped to `bounds` (torch
 * `_cubic_interpolate`, from `polyinterp.lua`).
 * @internal
 */
export function cubicInterpolate(
  x1: number,
  f1: number,
  g1: number,
  x2: number,
  f2: number,
  g2: number,
  bounds?: readonly [number, number],
): number {
  const [low, high] = bounds ?? (x1 <= x2 ? [x1, x2] : [x2, x1]);
  const d1 = g1 + g2 - (3 * (f1 - f2)) / (x1 - x2);
  const d2Square = d1 * d1 - g1 * g2;
  if (d2Square >= 0) {
    const d2 = Math.sqrt(d2Square);
    const minimum =
      x1 <= x2 ? x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2)) : x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2));
    return Math.min(Math.max(minimum, low), high);
  }
  return (low + high) / 2;
}

interface Point {
  readonly value: number;
  readonly gradient: Float64Array;
}

/**
 * Strong-Wolfe line search along `direction` from `x` (torch `_strong_wolfe`, from `lswolfe.lua`):
 * bracket, then zoom with cubic interpolation. Returns the accepted step, its value and gradient.
 */
function strongWolfe(
  evaluate: (step: number) => Point,
  initialStep: number,
  direction: Float64Array,
  value: number,
  gradient: Float64Array,
  gtd: number,
  changeTolerance: number,
): { step: number; value: number; gradient: Float64Array; evaluations: number } {
  const c1 = 1e-4;
  const c2 = 0.9;
  const maxSearches = 25;
  const directionNorm = maxAbs(direction);
  let step = initialStep;
  let trial = evaluate(step);
  let evaluations = 1;
  let trialGtd = dot(trial.gradient, direction);

  let previousStep = 0;
  let previous: Point = { value, gradient };
  let previousGtd = gtd;
  let done = false;
  let searches = 0;
  let bracket: number[] = [];
  let bracketPoints: Point[] = [];
  let bracketGtd: number[] = [];
  while (searches < maxSearches) {
    if (trial.value > value + c1 * step * gtd || (searches > 1 && trial.value >= previous.value)) {
      bracket = [previousStep, step];
      bracketPoints = [previous, trial];
      bracketGtd = [previousGtd, trialGtd];
      break;
    }
    if (Math.abs(trialGtd) <= -c2 * gtd) {
      bracket = [step];
      bracketPoints = [trial];
      done = true;
      break;
    }
    if (trialGtd >= 0) {
      bracket = [previousStep, step];
      bracketPoints = [previous, trial];
      bracketGtd = [previousGtd, trialGtd];
      break;
    }
    // Extrapolate.
    const minStep = step + 0.01 * (step - previousStep);
    const maxStep = step * 10;
    const next = cubicInterpolate(previousStep, previous.value, previousGtd, step, trial.value, trialGtd, [minStep, maxStep]);
    previousStep = step;
    previous = trial;
    previousGtd = trialGtd;
    step = next;
    trial = evaluate(step);
    evaluations++;
    trialGtd = dot(trial.gradient, direction);
    searches++;
  }
  if (searches === maxSearches) {
    bracket = [0, step];
    bracketPoints = [{ value, gradient }, trial];
    bracketGtd = [gtd, trialGtd];
  }

  // Zoom: shrink the bracket until a point satisfies the strong Wolfe conditions.
  let insufficientProgress = false;
  let [low, high] = (bracketPoints[0] as Point).value <= (bracketPoints[bracketPoints.length - 1] as Point).value ? [0, 1] : [1, 0];
  while (!done && searches < maxSearches) {
    const b0 = bracket[0] as number;
    const b1 = bracket[1] as number;
    if (Math.abs(b1 - b0) * directionNorm < changeTolerance) break;
    step = cubicInterpolate(
      b0,
      (bracketPoints[0] as Point).value,
      bracketGtd[0] as number,
      b1,
      (bracketPoints[1] as Point).value,
      bracketGtd[1] as number,
    );
    const top = Math.max(b0, b1);
    const bottom = Math.min(b0, b1);
    const eps = 0.1 * (top - bottom);
    if (Math.min(top - step, step - bottom) < eps) {
      if (insufficientProgress || step >= top || step <= bottom) {
        step = Math.abs(step - top) < Math.abs(step - bottom) ? top - eps : bottom + eps;
        insufficientProgress = false;
      } else {
        insufficientProgress = true;
      }
    } else {
      insufficientProgress = false;
    }
    trial = evaluate(step);
    evaluations++;
    trialGtd = dot(trial.gradient, direction);
    searches++;
    if (trial.value > value + c1 * step * gtd || trial.value >= (bracketPoints[low] as Point).value) {
      bracket[high] = step;
      bracketPoints[high] = trial;
      bracketGtd[high] = trialGtd;
      [low, high] = (bracketPoints[0] as Point).value <= (bracketPoints[1] as Point).value ? [0, 1] : [1, 0];
    } else {
      if (Math.abs(trialGtd) <= -c2 * gtd) {
        done = true;
      } else if (trialGtd * ((bracket[high] as number) - (bracket[low] as number)) >= 0) {
        bracket[high] = bracket[low] as number;
        bracketPoints[high] = bracketPoints[low] as Point;
        bracketGtd[high] = bracketGtd[low] as number;
      }
      bracket[low] = step;
      bracketPoints[low] = trial;
      bracketGtd[low] = trialGtd;
    }
  }
  const accepted = bracketPoints[low] as Point;
  return { step: bracket[low] as number, value: accepted.value, gradient: accepted.gradient, evaluations };
}

/**
 * Minimize `objective` from `x0` with L-BFGS and a strong-Wolfe line search; the iteration and the
 * stopping rules are those of `torch.optim.LBFGS` with `lr = 1`. `x0` is not modified.
 * @internal
 */
export function minimizeLbfgs(objective: Objective, x0: Float64Array, settings: LbfgsSettings): LbfgsOutcome {
  const size = x0.length;
  const maxEvaluations = settings.maxEvaluations ?? Math.floor((settings.maxIterations * 5) / 4);
  const { history, gradientTolerance, changeTolerance } = settings;
  const x = Float64Array.from(x0);
  let gradient: Float64Array = new Float64Array(size);
  let value = objective(x, gradient);
  let evaluations = 1;
  const values = [value];
  if (maxAbs(gradient) <= gradientTolerance) {
    return { x, value, gradient, iterations: 0, evaluations, values, stop: 'gradient' };
  }

  const trialX = new Float64Array(size);
  const evaluateAlong =
    (direction: Float64Array) =>
    (step: number): Point => {
      for (let i = 0; i < size; i++) trialX[i] = (x[i] as number) + step * (direction[i] as number);
      const trialGradient = new Float64Array(size);
      return { value: objective(trialX, trialGradient), gradient: trialGradient };
    };

  const steps: Float64Array[] = []; // s_i = x_{i+1} - x_i
  const changes: Float64Array[] = []; // y_i = g_{i+1} - g_i
  const rho: number[] = [];
  const alpha = new Float64Array(history);
  let hessianDiagonal = 1;
  let direction: Float64Array = new Float64Array(size);
  let step = 0;
  let previousGradient: Float64Array = new Float64Array(size);
  let iterations = 0;
  let stop: LbfgsStop = 'iterations';
  while (iterations < settings.maxIterations) {
    iterations++;
    if (iterations === 1) {
      for (let i = 0; i < size; i++) direction[i] = -(gradient[i] as number);
    } else {
      const y = new Float64Array(size);
      const s = new Float64Array(size);
      for (let i = 0; i < size; i++) {
        y[i] = (gradient[i] as number) - (previousGradient[i] as number);
        s[i] = (direction[i] as number) * step;
      }
      const ys = dot(y, s);
      if (ys > 1e-10) {
        if (steps.length === history) {
          steps.shift();
          changes.shift();
          rho.shift();
        }
        changes.push(y);
        steps.push(s);
        rho.push(1 / ys);
        hessianDiagonal = ys / dot(y, y);
      }
      // Two-loop recursion: direction = -H g.
      const q = new Float64Array(size);
      for (let i = 0; i < size; i++) q[i] = -(gradient[i] as number);
      for (let i = steps.length - 1; i >= 0; i--) {
        const a = dot(steps[i] as Float64Array, q) * (rho[i] as number);
        alpha[i] = a;
        axpy(q, -a, changes[i] as Float64Array);
      }
      for (let i = 0; i < size; i++) q[i] = (q[i] as number) * hessianDiagonal;
      for (let i = 0; i < steps.length; i++) {
        const beta = dot(changes[i] as Float64Array, q) * (rho[i] as number);
        axpy(q, (alpha[i] as number) - beta, steps[i] as Float64Array);
      }
      direction = q;
    }
    previousGradient = Float64Array.from(gradient);
    const previousValue = value;

    let gradientL1 = 0;
    for (let i = 0; i < size; i++) gradientL1 += Math.abs(gradient[i] as number);
    step = iterations === 1 ? Math.min(1, 1 / gradientL1) : 1;
    const gtd = dot(gradient, direction);
    if (gtd > -changeTolerance) {
      // Not a descent direction: this iteration takes no step.
      iterations--;
      stop = 'direction';
      break;
    }
    const search = strongWolfe(evaluateAlong(direction), step, direction, value, gradient, gtd, changeTolerance);
    step = search.step;
    axpy(x, step, direction);
    value = search.value;
    gradient = search.gradient;
    evaluations += search.evaluations;
    values.push(value);

    if (iterations === settings.maxIterations) {
      stop = 'iterations';
      break;
    }
    if (evaluations >= maxEvaluations) {
      stop = 'evaluations';
      break;
    }
    if (maxAbs(gradient) <= gradientTolerance) {
      stop = 'gradient';
      break;
    }
    if (maxAbs(direction) * Math.abs(step) <= changeTolerance || Math.abs(value - previousValue) < changeTolerance) {
      stop = 'change';
      break;
    }
  }
  return { x, value, gradient, iterations, evaluations, values, stop };
}
