/**
 * The models the benchmarks train (bench/run.mjs, bench/training.mjs), from @contrastive/core: the
 * MLP 784-256-128 and the reference CNN (conv3x3-32, maxpool, conv3x3-64, maxpool, dense-128) with
 * the 128-128-64 projection head. Each returns { apply(x), variables, dispose() }.
 */
import * as core from '@contrastive/core';

export function mlpModel() {
  const encoder = core.mlpEncoder({ inputDim: 784, hiddenDims: [256], outputDim: 128, seed: 0 });
  return { apply: (x) => encoder.apply(x, { training: true }), variables: encoder.trainableVariables, dispose: () => encoder.dispose() };
}

export function cnnModel() {
  const encoder = core.convEncoder({ inputShape: [28, 28, 1], filters: [32, 64], kernelSize: 3, denseUnits: 128, seed: 0 });
  const head = core.projectionHead({ inputDim: 128, hiddenDim: 128, outputDim: 64, seed: 1 });
  return {
    apply: (x) => head.apply(encoder.apply(x, { training: true }), { training: true }),
    variables: [...encoder.trainableVariables, ...head.trainableVariables],
    dispose: () => {
      encoder.dispose();
      head.dispose();
    },
  };
}
