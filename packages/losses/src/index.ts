/**
 * `@contrastive/losses`: contrastive loss functions for TensorFlow.js. Each factory returns a `Loss`
 * (the interface of `@contrastive/core`) that takes a batch of embeddings with labels (views are
 * labels), optional mined tuples and an optional reference set.
 *
 * @packageDocumentation
 */
export { ntXentLoss } from './nt-xent.js';
export type { NtXentLossOptions } from './nt-xent.js';
