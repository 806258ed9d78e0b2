/**
 * Adam with a fused step on the wasm backend: the same optimizer as `tf.train.adam`, the same
 * results bit for bit, one native pass per variable instead of about fifteen tensor operations.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ADAM_KERNEL, adamKernelActive } from './backend/wasm-adam.js';
import { assertNumber } from './validate.js';

/** The private state of tfjs-core 4.22's AdamOptimizer that the fused step reads and updates. */
interface AdamState {
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
  accumulatedFirstMoment: ({ originalName: string; variable: tf.Variable } | undefined)[];
  accumulatedSecondMoment: ({ originalName: string; variable: tf.Variable } | undefined)[];
}

/**
 * `tf.AdamOptimizer` whose step runs as one native kernel per variable where the toolkit's wasm
 * kernels are active (`ContrastiveAdam`: the new value and both moments in one pass, shared with the
 * second thread), else tfjs's own step. The fused step performs tfjs-core 4.22's float32 operations
 * in its order, so both give the same values bit for bit; the moments live in the same variables
 * (`getWeights` / `setWeights` and checkpoints are unchanged) and the class serializes as `Adam`.
 * Kingma & Ba 2015, "Adam: A Method for Stochastic Optimization".
 * @category Training
 */
export class FusedAdamOptimizer extends tf.AdamOptimizer {
  /**
   * @param learningRate - finite, `> 0`.
   * @param beta1 - in `[0, 1)`.
   * @param beta2 - in `[0, 1)`.
   * @param epsilon - finite, `>= 0`. @defaultValue the backend's epsilon (as `tf.train.adam`)
   * @throws `ContrastiveError` `INVALID_ARGUMENT` for an argument out of its range.
   */
  constructor(learningRate: number, beta1: number, beta2: number, epsilon?: number) {
    assertNumber(learningRate, 'learningRate', 'FusedAdamOptimizer', { min: 0, exclusiveMin: true });
    assertNumber(beta1, 'beta1', 'FusedAdamOptimizer', { min: 0, max: 1, exclusiveMax: true });
    assertNumber(beta2, 'beta2', 'FusedAdamOptimizer', { min: 0, max: 1, exclusiveMax: true });
    if (epsilon !== undefined && epsilon !== null) assertNumber(epsilon, 'epsilon', 'FusedAdamOptimizer', { min: 0 });
    super(learningRate, beta1, beta2, epsilon);
  }

  override applyGradients(variableGradients: Parameters<tf.AdamOptimizer['applyGradients']>[0]): void {
    if (!adamKernelActive()) {
      super.applyGradients(variableGradients);
      return;
    }
    const state = this as unknown as AdamState;
    const names = Array.isArray(variableGradients) ? variableGradients.map((v) => v.name) : Object.keys(variableGradients);
    // The kernel reads the accumulators β^t on the heap (1 - β^t in float32, as tfjs's sub).
    const scalars = {
      beta1: this.beta1,
      oneMinusBeta1: 1 - this.beta1,
      beta2: this.beta2,
      oneMinusBeta2: 1 - this.beta2,
      epsilon: this.epsilon,
      negLearningRate: -this.learningRate,
    };
    tf.tidy(() => {
      names.forEach((name, i) => {
        const value = tf.engine().registeredVariables[name];
        if (value === undefined) throw new Error(`FusedAdamOptimizer: no variable named '${name}'`);
        state.accumulatedFirstMoment[i] ??= { originalName: `${name}/m`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
        state.accumulatedSecondMoment[i] ??= { originalName: `${name}/v`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
        const gradient = Array.isArray(variableGradients) ? variableGradients[i]?.tensor : variableGradients[name];
        if (gradient == null) return;
        const m = state.accumulatedFirstMoment[i].variable;
        const v = state.accumulatedSecondMoment[i].variable;
        const [next, nextM, nextV] = tf.engine().runKernel(
          ADAM_KERNEL,
          { value, m, v, gradient: gradient.dtype === 'float32' ? gradient : tf.cast(gradient, 'float32'), accBeta1: state.accBeta1, accBeta2: state.accBeta2 },
          scalars as unknown as tf.NamedAttrMap,
        ) as tf.Tensor[];
        m.assign(nextM as tf.Tensor);
        v.assign(nextV as tf.Tensor);
        value.assign(next as tf.Tensor);
      });
      state.accBeta1.assign(tf.mul(state.accBeta1, this.beta1));
      state.accBeta2.assign(tf.mul(state.accBeta2, this.beta2));
    });
    this.incrementIterations();
  }
}

/**
 * An Adam optimizer: `tf.train.adam`'s arguments and results, with the fused native step on the
 * wasm backend ({@link FusedAdamOptimizer}; 2.5 → about 0.6 ms for the reference CNN's 445,120
 * parameters).
 *
 * @param learningRate - finite, `> 0`. @defaultValue 0.001
 * @param beta1 - in `[0, 1)`. @defaultValue 0.9
 * @param beta2 - in `[0, 1)`. @defaultValue 0.999
 * @param epsilon - finite, `>= 0`. @defaultValue the backend's epsilon, as `tf.train.adam` (1e-7 on
 *   wasm and cpu; PyTorch's default is 1e-8)
 * @returns the optimizer (dispose it with `optimizer.dispose()`).
 * @throws `ContrastiveError` `INVALID_ARGUMENT` for an argument out of its range.
 * @example
 * ```ts
 * const optimizer = adam(1e-3, 0.9, 0.999, 1e-8);
 * optimizer.minimize(() => loss.compute({ embeddings: model.apply(x), labels }), false, variables);
 * ```
 * @category Training
 */
export function adam(learningRate = 0.001, beta1 = 0.9, beta2 = 0.999, epsilon?: number): FusedAdamOptimizer {
  return new FusedAdamOptimizer(learningRate, beta1, beta2, epsilon); // which checks the arguments
}
