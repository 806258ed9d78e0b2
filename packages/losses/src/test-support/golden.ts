/**
 * Test support (not built, not published): the golden cases of `../shared/golden/pytorch-reference.json`
 * (PyTorch 1.13 + pytorch-metric-learning 2.8.1; read its `meta.conventions`) and the acceptance
 * tolerances of issue 3: value within rtol 1e-4 of `value_f32`, gradient within atol 1e-5 relative to
 * its largest entry.
 */
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { expectTensorClose } from '@contrastive/core/testing';

export type Rows = number[][];

export interface GoldenCase {
  readonly name: string;
  readonly source: string;
  /** Names: `embeddings` (and e.g. `ref`, `queries`) name input sets; `labels` names a field of the embeddings' set. */
  readonly inputs: Record<string, string>;
  readonly params: Record<string, unknown>;
  readonly expected: {
    readonly value: number;
    readonly value_f32: number;
    readonly grad_f32_max_abs_diff_vs_f64?: number;
    readonly aux?: Record<string, unknown>;
    readonly [key: string]: unknown;
  };
  /** d(loss)/d(embeddings) in float64, w.r.t. the raw input rows. */
  readonly grad?: Rows;
  readonly [key: string]: unknown;
}

export interface Golden {
  readonly meta: Record<string, unknown>;
  readonly input_sets: Record<string, Record<string, unknown> & { embeddings: Rows }>;
  readonly cases: GoldenCase[];
  readonly miners: Record<string, unknown>[];
  readonly metrics: Record<string, unknown>[];
}

/** The whole golden file (repo root is four levels up from this file; shared/ sits beside it). */
export const golden: Golden = JSON.parse(
  readFileSync(new URL('../../../../../shared/golden/pytorch-reference.json', import.meta.url), 'utf8'),
) as Golden;

/** Cases whose name starts with `prefix` (throws when there is none, so a typo cannot pass). */
export function goldenCases(prefix: string): GoldenCase[] {
  const cases = golden.cases.filter((c) => c.name.startsWith(prefix));
  if (cases.length === 0) throw new Error(`no golden case starts with ${JSON.stringify(prefix)}`);
  return cases;
}

/** One case by exact name. */
export function goldenCase(name: string): GoldenCase {
  const found = golden.cases.find((c) => c.name === name);
  if (found === undefined) throw new Error(`no golden case ${JSON.stringify(name)}`);
  return found;
}

/** The rows of the input set a case names under `key` (default `embeddings`). */
export function goldenRows(c: GoldenCase, key = 'embeddings'): Rows {
  const setName = c.inputs[key];
  const set = setName === undefined ? undefined : golden.input_sets[setName];
  if (set === undefined) throw new Error(`${c.name}: no input set under ${JSON.stringify(key)}`);
  return set.embeddings;
}

/** The labels a case names (a field of its embeddings' input set), or `undefined` when it names none. */
export function goldenLabels(c: GoldenCase, key = 'labels'): number[] | undefined {
  const field = c.inputs[key];
  if (field === undefined) return undefined;
  const set = golden.input_sets[c.inputs['embeddings'] ?? ''];
  const labels = set?.[field];
  if (!Array.isArray(labels)) throw new Error(`${c.name}: no labels field ${JSON.stringify(field)}`);
  return labels as number[];
}

/** Issue 3's acceptance: value within rtol 1e-4 of value_f32 (atol 1e-6 for values near 0). */
export function expectGoldenValue(value: tf.Tensor, c: GoldenCase): void {
  expectTensorClose(value, c.expected.value_f32, { atol: 1e-6, rtol: 1e-4 });
}

/** Issue 3's acceptance: gradient within atol 1e-5 relative to its largest entry. */
export function expectGoldenGrad(grad: tf.Tensor, c: GoldenCase, expected: Rows | undefined = c.grad): void {
  if (expected === undefined) throw new Error(`${c.name}: no golden gradient`);
  const largest = Math.max(...expected.flat().map(Math.abs));
  expectTensorClose(grad, expected, { atol: 1e-5 * Math.max(1, largest), rtol: 0 });
}
