/**
 * `@contrastive/augment`: seeded, batched image augmentations and view generators for contrastive
 * learning on TensorFlow.js — the SimCLR view pipeline (Chen et al. 2020) as specified by the
 * reference recipe. Every random draw comes from core's `Rng`, in a documented order.
 *
 * @packageDocumentation
 */
export { compose } from './augmentation.js';
export type { Augmentation } from './augmentation.js';
export type { Interval } from './checks.js';
export { randomResizedCrop, applyResizedCrop, applyCropBoxes, cropBoxes } from './random-resized-crop.js';
export type { CropParams, RandomResizedCrop, RandomResizedCropOptions, ResizeOptions } from './random-resized-crop.js';
export { horizontalFlip, applyHorizontalFlip } from './horizontal-flip.js';
export type { FlipParams, HorizontalFlip, HorizontalFlipOptions } from './horizontal-flip.js';
export { colorJitter, applyColorJitter } from './color-jitter.js';
export type { ColorJitter, ColorJitterOptions, JitterParams, JitterApplyOptions, JitterOrder, ContrastMean, JitterClamp } from './color-jitter.js';
export { gaussianNoise, applyGaussianNoise } from './gaussian-noise.js';
export type { GaussianNoise, GaussianNoiseOptions, NoiseParams, NoiseScaleOptions } from './gaussian-noise.js';
export { recipeAugmentation } from './recipe-augmentation.js';
export type { RecipeAugmentationOptions } from './recipe-augmentation.js';
export { viewGenerator } from './view-generator.js';
export type { ViewGenerator, ViewGeneratorOptions } from './view-generator.js';
export { randomRotation, applyRotation, randomTranslation, applyTranslation, randomAffine, applyAffine } from './geometric-warp.js';
export type {
  WarpInterpolation,
  ImageWarpOptions,
  RotationParams,
  TranslationParams,
  AffineParams,
  RandomRotation,
  RandomRotationOptions,
  RandomTranslation,
  RandomTranslationOptions,
  RandomAffine,
  RandomAffineOptions,
} from './geometric-warp.js';
export { randomCrop, applyCrop, verticalFlip, applyVerticalFlip, rotate90, applyRotate90 } from './geometric-flip-crop.js';
export type {
  CropPaddingMode,
  CropPadding,
  RandomCropOptions,
  CropOffsets,
  RandomCrop,
  VerticalFlipOptions,
  VerticalFlip,
  QuarterTurns,
  Rotate90Params,
  Rotate90Options,
  Rotate90,
} from './geometric-flip-crop.js';
export { loocViews } from './looc.js';
export type { LoocKeyMode, LoocViewsOptions, LoocBatch, LoocViews } from './looc.js';
export { randomApply, oneOf, randomOrder, applySelected, applyChoice, applyOrder } from './combinators.js';
export type { RandomApply, RandomApplyOptions, OneOf, OneOfOptions, RandomOrder, SelectParams, ChoiceParams, OrderParams } from './combinators.js';
export { multiCrop } from './multi-crop.js';
export type { MultiCrop, MultiCropOptions, MultiCropViews, MultiCropViewGeneratorOptions } from './multi-crop.js';
export { renderGrid } from './preview.js';
export type { RenderGridOptions } from './preview.js';
export { scarfCorruption, applyScarfCorruption, featureMasking, applyFeatureMasking, tabularNoise, applyTabularNoise } from './tabular.js';
export type {
  TensorAugmentation,
  MarginalDraw,
  ScarfParams,
  ScarfCorruptionOptions,
  ScarfCorruption,
  FeatureMaskParams,
  FeatureMaskValueOptions,
  FeatureMaskingOptions,
  MaskedTable,
  FeatureMasking,
  TabularNoiseParams,
  TabularNoiseOptions,
  TabularNoise,
} from './tabular.js';
export {
  tokenMasking,
  applyTokenMasking,
  spanDeletion,
  applySpanDeletion,
  randomTokenCrop,
  applyTokenCrop,
  localShuffle,
  applyLocalShuffle,
} from './sequence.js';
export type {
  MaskingSplit,
  TokenMaskingParams,
  TokenPaddingOptions,
  TokenMaskingOptions,
  TokenMasking,
  SpanDeletionParams,
  PadOptions,
  SpanDeletionOptions,
  SpanDeletion,
  TokenCropParams,
  TokenCropOptions,
  RandomTokenCrop,
  LocalShuffleParams,
  LocalShuffleOptions,
  LocalShuffle,
} from './sequence.js';
export {
  jitter,
  applyJitter,
  scaling,
  applyScaling,
  magnitudeWarp,
  applyMagnitudeWarp,
  timeWarp,
  applyTimeWarp,
  windowCrop,
  applyWindowCrop,
  segmentPermutation,
  applySegmentPermutation,
} from './time-series.js';
export type {
  SeriesShape,
  JitterNoiseParams,
  JitterOptions,
  Jitter,
  ScalingParams,
  ScalingOptions,
  Scaling,
  WarpParams,
  WarpKnotOptions,
  WarpOptions,
  Warp,
  WindowCropParams,
  WindowLengthOptions,
  WindowCropOptions,
  WindowCrop,
  SegmentMode,
  SegmentPermutationParams,
  SegmentPermutationOptions,
  SegmentPermutation,
} from './time-series.js';
export {
  randomGrayscale,
  applyGrayscale,
  solarize,
  applySolarize,
  posterize,
  applyPosterize,
  equalize,
  applyEqualize,
  normalize,
  applyNormalize,
} from './photometric.js';
export type {
  GrayscaleParams,
  RandomGrayscale,
  RandomGrayscaleOptions,
  SolarizeParams,
  Solarize,
  SolarizeOptions,
  SolarizeThresholdOptions,
  PosterizeParams,
  Posterize,
  PosterizeOptions,
  PosterizeBitsOptions,
  EqualizeParams,
  Equalize,
  EqualizeOptions,
  NormalizeOptions,
} from './photometric.js';
export { randomErasing, cutout, applyErasing } from './photometric-erasing.js';
export type { ErasingValue, ErasingParams, ErasingValueOptions, RandomErasing, RandomErasingOptions, Cutout, CutoutOptions } from './photometric-erasing.js';
export { gaussianBlur, applyGaussianBlur, gaussianKernel1d } from './blur.js';
export type { BlurParams, BlurKernelOptions, GaussianBlur, GaussianBlurOptions } from './blur.js';
export { viewPreset } from './presets.js';
export type { ViewPresetName, ViewPresetOptions, ViewPresetParameters, ViewPreset } from './presets.js';
