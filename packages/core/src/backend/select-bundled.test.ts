import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { selectBackend } from './select.js';
import { relaxedSimdSupported } from './wasm-native.js';

// A bundled browser page: the application imports the backends itself (registering their
// factories), and a run-time import of the bare specifier fails, as it does in Chromium
// ("Failed to resolve module specifier"). Here the specifier's import throws likewise.
vi.mock('@tensorflow/tfjs-backend-wasm', () => {
  throw new TypeError("Failed to resolve module specifier '@tensorflow/tfjs-backend-wasm'");
});

describe('selectBackend in a bundled page', () => {
  beforeAll(async () => {
    // What the page's own static import does: load the real module, which registers 'wasm'.
    await vi.importActual('@tensorflow/tfjs-backend-wasm');
  });

  // The two tests run in order: wasm is registered but not initialised in the first.
  it('imports the module when threads are requested before wasm initialises, and says why it skipped', async () => {
    expect(tf.findBackendFactory('wasm')).not.toBeNull();
    const selection = await selectBackend({ preference: ['wasm', 'cpu'], log: false, wasmThreads: 2 });
    expect(selection.name).toBe('cpu');
    // The import was tried (and failed: vitest reports the mock's throw in its own words).
    expect(selection.skipped.map((entry) => entry.name)).toEqual(['wasm']);
    expect(selection.skipped[0]?.reason).toMatch(/mocking a module|Failed to resolve module specifier/);
  });

  it('uses a wasm backend the application registered without importing its module again', async () => {
    const selection = await selectBackend({ preference: ['wasm', 'cpu'], log: false });
    // fma 'auto': the fused multiply-add kernels where the engine runs relaxed SIMD as it stands.
    expect(selection).toEqual({ name: 'wasm', skipped: [], fma: relaxedSimdSupported() });
    expect(tf.getBackend()).toBe('wasm');
    expect(tf.sum(tf.tensor1d([1, 2, 3])).dataSync()[0]).toBe(6);
  });
});
