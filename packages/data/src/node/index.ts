/**
 * `@contrastive/data/node`: file loaders that need Node's `fs` and `zlib` — IDX datasets such as
 * MNIST (LeCun et al. 1998) and Fashion-MNIST (Xiao et al. 2017), plain or gzip-compressed. The
 * isomorphic parts (the IDX parser, the embedded MNIST digits, batching) are in `@contrastive/data`.
 *
 * @packageDocumentation
 */
export { FASHION_MNIST_DEFAULT_DIR, loadFashionMnist, loadIdxDataset, readIdxFile } from './idx.js';
export type { IdxFileNames, LoadFashionMnistOptions, LoadIdxDatasetOptions } from './idx.js';
export { loadCsv } from './csv.js';
