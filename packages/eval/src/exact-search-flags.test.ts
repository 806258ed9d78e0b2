import { spawnSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

// A worker may not inherit V8 heap flags: under `node --max-old-space-size=...` the exact search's
// threads must still start (they once threw ERR_WORKER_INVALID_EXEC_ARGV). Runs the built package
// in a child Node process with the flag.
const distIndex = pathToFileURL(fileURLToPath(new URL('../dist/index.js', import.meta.url))).href;
const packageDir = fileURLToPath(new URL('..', import.meta.url));

describe('exact search threads under V8 heap flags', () => {
  it('retrievalMetrics with threads: 2 runs under --max-old-space-size and matches one thread', () => {
    const source = `
      import * as tf from '@tensorflow/tfjs-core';
      import '@tensorflow/tfjs-layers';
      import '@tensorflow/tfjs-backend-wasm';
      import { retrievalMetrics } from '${distIndex}';
      await tf.setBackend('wasm');
      const x = tf.randomNormal([1500, 16], 0, 1, 'float32', 1);
      const labels = tf.randomUniform([1500], 0, 5, 'int32', 2);
      const run = (threads) => retrievalMetrics({ query: x, queryLabels: labels, metrics: ['precisionAtOne', 'meanAveragePrecisionAtR'], engine: 'kernel', threads });
      const one = await run(1);
      const two = await run(2);
      console.log(JSON.stringify({ one: [one.precisionAtOne, one.meanAveragePrecisionAtR], two: [two.precisionAtOne, two.meanAveragePrecisionAtR] }));
    `;
    const result = spawnSync(process.execPath, ['--max-old-space-size=3000', '--input-type=module', '-e', source], { cwd: packageDir, encoding: 'utf8', timeout: 60_000 });
    expect(result.stderr).not.toContain('ERR_WORKER_INVALID_EXEC_ARGV');
    expect(result.status).toBe(0);
    const { one, two } = JSON.parse(result.stdout.trim().split('\n').pop() as string) as { one: number[]; two: number[] };
    expect(two).toEqual(one);
  }, 120_000);
});
