/**
 * `@contrastive/eval`: how good are learned features? Weighted kNN (Wu et al. 2018) and the
 * linear probe of RECIPE.md, on the encoder output `h` of a train and a test split.
 *
 * @packageDocumentation
 */
export type { EvaluationSplit } from './split.js';
export { knnClassifier, knnEvaluate } from './knn.js';
export type { KnnClassifier, KnnDistance, KnnOptions, KnnQuery, KnnResult } from './knn.js';
export { linearProbe } from './linear-probe.js';
export type { LinearProbeMethod, LinearProbeOptions, LinearProbeResult, LinearProbeStop } from './linear-probe.js';
export { projectorExport } from './projector.js';
export type { ProjectorColumn, ProjectorExportOptions, ProjectorFiles } from './projector.js';
export { retrievalMetrics } from './retrieval.js';
export type {
  RetrievalClassMetrics,
  RetrievalDistance,
  RetrievalMetricName,
  RetrievalMetricValues,
  RetrievalOptions,
  RetrievalResult,
} from './retrieval.js';
