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
export { hnswIndex } from './ann.js';
export type { AnnIndex, AnnDistance, HnswIndexOptions } from './ann.js';
export type {
  RetrievalClassMetrics,
  RetrievalDistance,
  RetrievalMetricName,
  RetrievalMetricValues,
  RetrievalOptions,
  RetrievalResult,
} from './retrieval.js';
export { clusteringScores, clusterEmbeddings } from './clustering.js';
export type { Labelling, ClusteringScores, ClusterEmbeddingsOptions, ClusterEmbeddingsResult } from './clustering.js';
export { calibrateThreshold, verificationMetrics } from './verification.js';
export type {
  VerificationPairs,
  VerificationMetrics,
  CalibrationTarget,
  CalibrateThresholdInput,
  VerificationMetricsInput,
  CalibratedThreshold,
} from './verification.js';
export { alignment, uniformity, rankMe, effectiveRank, embeddingStd, pairDistanceStats, MAX_RANK_DIMENSION } from './health.js';
export type {
  AlignmentOptions,
  UniformityOptions,
  RankMeOptions,
  EmbeddingStdOptions,
  PairDistanceStatsOptions,
  DistanceSummary,
  PairDistanceStats,
} from './health.js';
export { embeddingReport } from './report.js';
export type { EmbeddingReportInput, EmbeddingReportHistory } from './report.js';
