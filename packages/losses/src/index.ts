/**
 * `@contrastive/losses`: contrastive loss functions for TensorFlow.js. Each factory returns a `Loss`
 * (the interface of `@contrastive/core`) that takes a batch of embeddings with labels (views are
 * labels), optional mined tuples and an optional reference set.
 *
 * @packageDocumentation
 */
export { ntXentLoss } from './nt-xent.js';
export type { NtXentLossOptions } from './nt-xent.js';
export { meanReducer, sumReducer, avgNonZeroReducer, thresholdReducer, perAnchorReducer, connectedZero } from './reducers.js';
export type { Reducer, ReductionInput, ThresholdReducerOptions, PerAnchorReducerOptions } from './reducers.js';
export { nceLoss } from './nce-loss.js';
export type { NceLoss, NceLossOptions } from './nce-loss.js';
export { protoNceLoss } from './proto-nce-loss.js';
export type { ProtoNceLoss, ProtoNceLossOptions, ProtoNcePrototypes } from './proto-nce-loss.js';
export { negativeCosineSimilarityLoss, barlowTwinsLoss, vicregLoss } from './non-contrastive-losses.js';
export type { BarlowTwinsLossOptions, VicregLossOptions } from './non-contrastive-losses.js';
export { ncaLoss } from './nca-loss.js';
export type { NcaLossOptions } from './nca-loss.js';
export { nPairsLoss } from './n-pairs-loss.js';
export type { NPairsLossOptions } from './n-pairs-loss.js';
export { proxyNcaLoss, proxyAnchorLoss } from './proxy-losses.js';
export type { ProxyLoss, ProxyLossOptions, ProxyNcaLossOptions, ProxyAnchorLossOptions } from './proxy-losses.js';
export { multiSimilarityLoss } from './multi-similarity-loss.js';
export type { MultiSimilarityLossOptions } from './multi-similarity-loss.js';
export { circleLoss } from './circle-loss.js';
export type { CircleLossOptions } from './circle-loss.js';
export { liftedStructureLoss, generalizedLiftedStructureLoss } from './lifted-structure-loss.js';
export type { LiftedStructureLossOptions } from './lifted-structure-loss.js';
export { supConLoss } from './supcon-loss.js';
export type { SupConLossOptions } from './supcon-loss.js';
export { infoNceLoss } from './info-nce-loss.js';
export type { InfoNceLossOptions } from './info-nce-loss.js';
export { clipLoss } from './clip-loss.js';
export type { ClipLoss, ClipLossOptions } from './clip-loss.js';
export { debiasedContrastiveLoss } from './debiased-contrastive-loss.js';
export type { DebiasedContrastiveLossOptions } from './debiased-contrastive-loss.js';
export { hardNegativeLoss, hardNegativeWeights } from './hard-negative-loss.js';
export type { HardNegativeLossOptions, HardNegativeWeightsOptions } from './hard-negative-loss.js';
export { contrastiveLoss } from './contrastive-loss.js';
export type { ContrastiveLossOptions } from './contrastive-loss.js';
export { tripletMarginLoss } from './triplet-margin-loss.js';
export type { TripletMarginLossOptions } from './triplet-margin-loss.js';
export { lmnnLoss } from './lmnn-loss.js';
export type { LmnnLossOptions } from './lmnn-loss.js';
