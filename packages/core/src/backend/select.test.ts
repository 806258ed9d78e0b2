import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { selectBackend } from './select.js';

describe('selectBackend', () => {
  it('falls back past an unavailable backend, logs the one in use and says why it skipped', async () => {
    const messages: string[] = [];
    const selection = await selectBackend({ preference: ['tensorflow', 'wasm', 'cpu'], log: (m) => messages.push(m) });
    expect(['tensorflow', 'wasm']).toContain(selection.name);
    expect(tf.getBackend()).toBe(selection.name);
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatch(new RegExp(`backend: ${selection.name}`));
    if (selection.name === 'wasm') {
      expect(selection.skipped.map((entry) => entry.name)).toEqual(['tensorflow']);
      expect(messages[0]).toMatch(/skipped: tensorflow: /);
    }
  });

  it('switches to the cpu backend on request, silently', async () => {
    const selection = await selectBackend({ preference: 'cpu', log: false });
    expect(selection).toEqual({ name: 'cpu', skipped: [], fma: false });
    expect(tf.getBackend()).toBe('cpu');
  });

  it('throws a BACKEND error when nothing in the list initialises, and rejects unknown names', async () => {
    await expect(selectBackend({ preference: ['tensorflow-gpu'], log: false })).rejects.toThrow(
      /'selectBackend' could not initialise any of tensorflow-gpu/,
    );
    await expect(selectBackend({ preference: ['tpu' as never], log: false })).rejects.toThrow(
      /Argument 'preference' passed to 'selectBackend' must list backends among/,
    );
    for (const wasmThreads of [0, 1.5, Number.NaN]) {
      await expect(selectBackend({ preference: 'cpu', log: false, wasmThreads })).rejects.toThrow(
        /Argument 'wasmThreads' passed to 'selectBackend' must be an integer >= 1/,
      );
    }
    for (const fma of ['yes', 1, null]) {
      await expect(selectBackend({ preference: 'cpu', log: false, fma: fma as never })).rejects.toThrow(
        /Argument 'fma' passed to 'selectBackend' must be true, false or 'auto', got/,
      );
    }
  });
});
