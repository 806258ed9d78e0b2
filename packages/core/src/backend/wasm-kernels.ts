/**
 * Kernels the tfjs wasm backend lacks or runs slowly. Filled in by the wasm-kernels work.
 */
let registered = false;

/**
 * Register the toolkit's kernels for the `wasm` backend. Idempotent.
 * @category Backend
 */
export function registerWasmKernels(): void {
  if (registered) return;
  registered = true;
}
