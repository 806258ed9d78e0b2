/**
 * `@contrastive/core`: the shared tensor types, distances, labels, seeded RNG, errors, backend
 * selection, encoders and training loop of the Contrastive toolkit.
 *
 * @packageDocumentation
 */
export type {
  Embeddings,
  Labels,
  PairTuples,
  TripletTuples,
  Tuples,
  Reference,
  Distance,
  LossInput,
  Loss,
  MinerInput,
  Miner,
} from './types.js';
export { ContrastiveError, isContrastiveError } from './errors.js';
export type { ContrastiveErrorCode } from './errors.js';
export {
  assertNumber,
  assertOneOf,
  assertTensor,
  assertEmbeddings,
  assertLabels,
  assertSameDims,
  assertDistance,
  assertTuples,
  assertReference,
} from './validate.js';
export { Rng } from './rng.js';
export type { RngState } from './rng.js';
export { viewLabels } from './labels.js';
export { gramMatrix, l2Normalize, safeSqrt, scaledMatMul, stopGradient } from './math.js';
export { cosineSimilarity, dotProductSimilarity, lpDistance } from './distances.js';
export type { ChunkOptions, LpDistanceOptions } from './distances.js';
export { kMeans } from './kmeans.js';
export type { KMeansOptions, KMeansResult } from './kmeans.js';
export { selectBackend } from './backend/select.js';
export type { BackendName, BackendSelection, SelectBackendOptions } from './backend/select.js';
export { registerWasmKernels } from './backend/wasm-kernels.js';
export {
  addTransposeNative,
  bilinearCropNative,
  contrastiveSelfLossNative,
  debiasedRowGradsNative,
  debiasedRowsNative,
  firstNonFiniteNative,
  infoNceRowsNative,
  infoNceRowGradsNative,
  pairMarginGradNative,
  pairMarginSumsNative,
  pickRowsNative,
  tripletMarginGradNative,
  tripletMarginNative,
} from './backend/wasm-native.js';
export type { ContrastiveSelfOptions, CropLines, DebiasedRowOptions, PairMarginOptions, PairMarginSums, RowPickOptions, RowPicksNative, TripletMarginOptions } from './backend/wasm-native.js';
export type { NativeRowLoss } from './backend/wasm-native.js';
export { mlpEncoder, convEncoder, projectionHead, layersEncoder } from './encoders.js';
export type {
  Encoder,
  EncoderActivation,
  EncoderApplyOptions,
  EncoderCloneOptions,
  EncoderInit,
  EncoderInitOptions,
  MlpEncoderOptions,
  ConvEncoderOptions,
  ProjectionHeadOptions,
  LayersEncoderOptions,
} from './encoders.js';
export { MomentumEncoder } from './momentum.js';
export type { MomentumEncoderOptions } from './momentum.js';
export { train, embedDataset, disposeTrainState } from './train.js';
export { adam, FusedAdamOptimizer } from './optim.js';
export type {
  Batch,
  BatchSampler,
  BatchSource,
  ViewGenerator,
  StepContext,
  AfterStepContext,
  TrainHooks,
  EpochSummary,
  EpochReport,
  EpochBeginEvent,
  StepEndEvent,
  EpochEndEvent,
  TrainCallbacks,
  NamedStateTensor,
  OptimizerState,
  TrainState,
  Checkpointer,
  TrainOptions,
  TrainResult,
  EmbedDatasetOptions,
} from './train.js';
