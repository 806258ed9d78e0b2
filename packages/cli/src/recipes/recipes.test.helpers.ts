import type { ImageDataset } from '@contrastive/data';

/** Every `step`-th image of a split (all classes of a class-ordered test split, for a cheaper evaluation). */
export function strided(split: ImageDataset['test'], step: number): ImageDataset['test'] {
  const size = split.shape[0] * split.shape[1] * split.shape[2];
  const count = Math.floor(split.count / step);
  const images = new Float32Array(count * size);
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    images.set(split.images.subarray(i * step * size, (i * step + 1) * size), i * size);
    labels[i] = split.labels[i * step] as number;
  }
  return { images, labels, count, shape: split.shape };
}
