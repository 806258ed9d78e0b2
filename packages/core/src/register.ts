/**
 * Side-effect entry: `import '@contrastive/core/register'` registers the toolkit's wasm kernels
 * (`registerWasmKernels`) without selecting a backend. `selectBackend` does the same
 * itself; use this entry when you call `tf.setBackend('wasm')` yourself.
 *
 * @packageDocumentation
 */
import { registerWasmKernels } from './backend/wasm-kernels.js';

registerWasmKernels();

export { registerWasmKernels };
