/**
 * Class names of Fashion-MNIST (Xiao, Rasul & Vollgraf 2017, "Fashion-MNIST: a Novel Image Dataset
 * for Benchmarking Machine Learning Algorithms"); label `k` is `FASHION_MNIST_CLASS_NAMES[k]`.
 * The loader, `loadFashionMnist`, is in `@contrastive/data/node`.
 *
 * @example
 * ```ts
 * FASHION_MNIST_CLASS_NAMES[9]; // 'Ankle boot'
 * ```
 * @category Fashion-MNIST
 */
export const FASHION_MNIST_CLASS_NAMES: readonly string[] = Object.freeze([
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
]);
