/**
 * TensorFlow.js backends for the page: WebGL first, then WebAssembly, then plain JavaScript, chosen
 * by core's `selectBackend`. The backends are imported here (statically), so the bundle contains
 * them and `selectBackend` finds them registered; the wasm binaries are emitted by Vite as assets
 * (`?url`) and handed to the wasm backend with `setWasmPaths`.
 */
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-webgl';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import wasmPlain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreadedSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import { selectBackend } from '@contrastive/core';
import type { BackendName, BackendSelection } from '@contrastive/core';

const BROWSER_BACKENDS: readonly BackendName[] = ['webgl', 'wasm', 'cpu'];

/** The WebGL renderer's name, or undefined without WebGL. */
export function webglRenderer(): string | undefined {
  const canvas = document.createElement('canvas');
  const gl = canvas.getContext('webgl2') ?? canvas.getContext('webgl');
  if (gl === null) return undefined;
  const info = gl.getExtension('WEBGL_debug_renderer_info');
  const name = String(gl.getParameter(info === null ? gl.RENDERER : info.UNMASKED_RENDERER_WEBGL));
  gl.getExtension('WEBGL_lose_context')?.loseContext();
  return name;
}

/** Software rasterisers: WebGL runs there, but far slower than the wasm backend. */
const SOFTWARE_RENDERER = /SwiftShader|llvmpipe|softpipe|Software Rasterizer|Microsoft Basic Render/i;

export interface BackendPlan {
  readonly preference: readonly BackendName[];
  /** Why WebGL is not in the default order, when it is not. */
  readonly note: string | undefined;
}

/**
 * Backend order: `?backend=wasm,cpu` if given; else WebGL, then wasm, then cpu — except where WebGL
 * is a software renderer (a machine without a GPU, such as headless Chromium in CI: SwiftShader),
 * where a training step on WebGL takes seconds and the order is wasm, then cpu.
 */
export function backendPlan(parameter: string | null, renderer: string | undefined): BackendPlan {
  if (parameter === null || parameter.trim() === '') {
    if (renderer !== undefined && SOFTWARE_RENDERER.test(renderer)) {
      return { preference: ['wasm', 'cpu'], note: `webgl not tried: software renderer ${renderer}` };
    }
    return { preference: BROWSER_BACKENDS, note: undefined };
  }
  const names = parameter.split(',').map((name) => name.trim());
  const unknown = names.filter((name) => !BROWSER_BACKENDS.includes(name as BackendName));
  if (unknown.length > 0) throw new Error(`?backend= must list backends among ${BROWSER_BACKENDS.join(', ')}, got ${unknown.join(', ')}`);
  return { preference: names as BackendName[], note: undefined };
}

export async function startBackend(preference: readonly BackendName[], log: (message: string) => void): Promise<BackendSelection> {
  setWasmPaths({
    'tfjs-backend-wasm.wasm': wasmPlain,
    'tfjs-backend-wasm-simd.wasm': wasmSimd,
    'tfjs-backend-wasm-threaded-simd.wasm': wasmThreadedSimd,
  });
  return selectBackend({ preference, log });
}
