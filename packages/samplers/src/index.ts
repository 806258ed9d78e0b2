/**
 * `@contrastive/samplers`: where positives and negatives come from — batch samplers now; miners,
 * memory queues and banks, and prototypes as the package grows.
 *
 * @packageDocumentation
 */
export { shuffledBatchSampler } from './shuffled-batch-sampler.js';
export type { ShuffledBatchSamplerOptions } from './shuffled-batch-sampler.js';
export { hardNegativeMiner, hardNegativeProbabilities } from './hard-negative-miner.js';
export type { HardNegativeOptions, HardNegativeMinerOptions } from './hard-negative-miner.js';
export { mPerClassSampler } from './m-per-class-sampler.js';
export type { MPerClassSamplerOptions, MPerClassRemainder } from './m-per-class-sampler.js';
export { viewPairSampler } from './view-pair-sampler.js';
export type { ViewPairSamplerOptions, PartnerFunction } from './view-pair-sampler.js';
export { pairMarginMiner } from './pair-margin-miner.js';
export type { PairMarginMinerOptions } from './pair-margin-miner.js';
export { multiSimilarityMiner } from './multi-similarity-miner.js';
export type { MultiSimilarityMinerOptions } from './multi-similarity-miner.js';
export { distanceWeightedMiner } from './distance-weighted-miner.js';
export type { DistanceWeightedMinerOptions } from './distance-weighted-miner.js';
export { batchHardMiner, batchEasyHardMiner } from './batch-hard-miner.js';
export type { BatchHardMinerOptions, BatchEasyHardMinerOptions, BatchEasyHardStrategy } from './batch-hard-miner.js';
export { tripletMarginMiner } from './triplet-margin-miner.js';
export type { TripletMarginMinerOptions, TripletMarginMinerType } from './triplet-margin-miner.js';
export { PrototypeBank, pclConcentration, pclConcentrationDetails } from './prototypes.js';
export type { PrototypeBankOptions, PrototypeSet, PclConcentrationOptions, PclConcentrationDetails } from './prototypes.js';
export { sinkhornKnopp } from './sinkhorn.js';
export type { SinkhornKnoppOptions } from './sinkhorn.js';
export { MemoryQueue } from './memory-queue.js';
export type { MemoryQueueOptions } from './memory-queue.js';
export { MemoryBank } from './memory-bank.js';
export type { MemoryBankOptions, SampleNegativesOptions } from './memory-bank.js';
export { crossBatchMemory } from './cross-batch-memory.js';
export type { CrossBatchMemoryOptions, CrossBatchMemoryLoss } from './cross-batch-memory.js';
export { NearestNeighborSupportSet } from './nearest-neighbor-support-set.js';
export type { NearestNeighborSupportSetOptions, NearestOptions } from './nearest-neighbor-support-set.js';
