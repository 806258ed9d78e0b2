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
