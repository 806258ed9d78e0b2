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
export { assertNumber, assertOneOf, assertTensor, assertEmbeddings, assertLabels, assertSameDims } from './validate.js';
export { Rng } from './rng.js';
export type { RngState } from './rng.js';
export { viewLabels } from './labels.js';
export { l2Normalize, safeSqrt } from './math.js';
export { cosineSimilarity, dotProductSimilarity, lpDistance } from './distances.js';
export type { ChunkOptions, LpDistanceOptions } from './distances.js';
export { selectBackend } from './backend/select.js';
export type { BackendName, BackendSelection, SelectBackendOptions } from './backend/select.js';
export { registerWasmKernels } from './backend/wasm-kernels.js';
