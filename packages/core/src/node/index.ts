/**
 * `@contrastive/core/node`: checkpoint files for Node.js (the only part of `@contrastive/core` that
 * touches the file system).
 *
 * @packageDocumentation
 */
export {
  CHECKPOINT_FILE_NAME,
  CHECKPOINT_FORMAT_VERSION,
  directoryCheckpointer,
  hasCheckpoint,
  loadCheckpoint,
  saveCheckpoint,
} from './checkpoint.js';
export type { CheckpointFileOptions, DirectoryCheckpointerOptions } from './checkpoint.js';
