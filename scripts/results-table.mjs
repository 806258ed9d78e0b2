#!/usr/bin/env node
/**
 * The README's results table from the committed run reports: reads results/<run>/report.json, groups
 * runs by recipe, dataset, epochs and options (seeds pooled), and prints a Markdown table with the mean
 * (and the spread over seeds) of kNN top-1, linear top-1 (converged L-BFGS) and cluster NMI, the
 * training minutes and the backend, beside the PyTorch reference of ../shared/recipes/reference-results.json
 * where it has the same recipe, dataset and epochs.
 *
 * Usage: node scripts/results-table.mjs [--copy <runs dir> <run name>...]
 *   --copy: first copy <runs dir>/<run name>/report.json into results/<run name>/report.json.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const results = join(root, 'results');
const args = process.argv.slice(2);
if (args[0] === '--copy') {
  const [, runs, ...names] = args;
  for (const name of names) {
    const from = join(runs, name, 'report.json');
    if (!existsSync(from)) throw new Error(`no report: ${from}`);
    mkdirSync(join(results, name), { recursive: true });
    copyFileSync(from, join(results, name, 'report.json'));
  }
}

const referenceFile = join(root, '..', 'shared', 'recipes', 'reference-results.json');
const referenceJson = existsSync(referenceFile) ? JSON.parse(readFileSync(referenceFile, 'utf8')) : { runs: [] };
const reference = [...referenceJson.runs];
// The 5-epoch references were run on this machine's CPU (torch 1.13): "simclr mnist 5 epochs (...)".
for (const [label, figures] of Object.entries(referenceJson.short_runs_cpu ?? {})) {
  const match = /^(\w+) (mnist|fashion-mnist) (\d+) epochs/.exec(label);
  if (match) reference.push({ recipe: match[1], dataset: match[2], epochs: Number(match[3]), ...figures });
}
const datasetOf = (text) => (text.startsWith('mnist') ? 'mnist' : text.startsWith('fashion') ? 'fashion-mnist' : text);

const reports = existsSync(results)
  ? readdirSync(results)
      .filter((name) => existsSync(join(results, name, 'report.json')))
      .map((name) => JSON.parse(readFileSync(join(results, name, 'report.json'), 'utf8')))
  : [];

/** What distinguishes runs besides the seed. */
function variant(report) {
  const o = report.options ?? {};
  const parts = [];
  if (report.recipe === 'triplet') parts.push(o.miner ?? 'batch-hard');
  if (report.recipe === 'moco') parts.push(`queue ${o.queueSize}`);
  if (report.recipe === 'moco' && o.momentum !== undefined && o.momentum !== 0.99) parts.push(`m ${o.momentum}`);
  if (report.recipe === 'instdisc' && o.objective === 'softmax') parts.push('exact softmax');
  if (report.config.trainLimit !== undefined) parts.push(`${report.config.trainLimit} train images`);
  if (report.config.batchSize !== 256) parts.push(`batch ${report.config.batchSize}`);
  if (report.config.learningRate !== undefined && report.config.learningRate !== 1e-3) parts.push(`lr ${report.config.learningRate}`);
  const defaultTemperature = { simclr: 0.5, supcon: 0.1, hcl: 0.5, dcl: 0.5, moco: 0.2, pcl: 0.2 }[report.recipe];
  if (defaultTemperature !== undefined && o.temperature !== undefined && o.temperature !== defaultTemperature) parts.push(`τ ${o.temperature}`);
  if (o.strength !== undefined && o.strength !== 0.5 && report.recipe !== 'infomin-sweep') parts.push(`strength ${o.strength}`);
  return parts.join(', ');
}

const groups = new Map();
for (const report of reports) {
  const key = [report.recipe, report.dataset, report.config.epochs, variant(report)].join('|');
  if (!groups.has(key)) groups.set(key, []);
  groups.get(key).push(report);
}

const pct = (values) => {
  const defined = values.filter((value) => value !== undefined);
  if (defined.length === 0) return '–';
  const mean = defined.reduce((a, b) => a + b, 0) / defined.length;
  if (defined.length === 1) return (100 * mean).toFixed(2);
  const sd = Math.sqrt(defined.reduce((a, b) => a + (b - mean) ** 2, 0) / (defined.length - 1));
  return `${(100 * mean).toFixed(2)} ± ${(100 * sd).toFixed(2)}`;
};
const mean = (values) => values.reduce((a, b) => a + b, 0) / values.length;

const rows = [
  '| recipe | dataset | epochs | seeds | kNN top-1 | linear top-1 | NMI | other | min / run | backend | PyTorch kNN / linear |',
  '|---|---|---:|---:|---:|---:|---:|---|---:|---|---|',
];
const sorted = [...groups.entries()].sort(([a], [b]) => a.localeCompare(b));
for (const [, runs] of sorted) {
  const first = runs[0];
  // The reference recipe is the default variant (for triplet: batch-hard mining).
  const plain = variant(first) === '' || (first.recipe === 'triplet' && variant(first) === 'batch-hard');
  const ref = !plain ? undefined : reference.find((run) => run.recipe === first.recipe && datasetOf(run.dataset) === first.dataset && run.epochs === first.config.epochs);
  const extra = Object.keys(first.metrics)
    .filter((key) => !['knn_top1', 'linear_top1', 'linear_adam_top1', 'cluster_nmi'].includes(key))
    .map((key) => `${key} ${pct(runs.map((run) => run.metrics[key]))}`);
  if (first.sweep !== undefined) extra.push(`best strength ${first.sweep.bestStrength} (${first.sweep.peaksInside ? 'inside' : 'edge'})`);
  const nmi = runs.map((run) => run.metrics.cluster_nmi).filter((value) => value !== undefined);
  rows.push(
    `| ${first.recipe}${variant(first) ? ` (${variant(first)})` : ''} | ${first.dataset} | ${first.config.epochs} | ${runs.map((run) => run.config.seed).join(', ')} | ` +
      `${pct(runs.map((run) => run.metrics.knn_top1))} | ${pct(runs.map((run) => run.metrics.linear_top1))} | ` +
      `${nmi.length ? mean(nmi).toFixed(3) : '–'} | ${extra.join('; ') || ''} | ${(mean(runs.map((run) => run.epochs.reduce((sum, epoch) => sum + epoch.seconds, 0))) / 60).toFixed(1)} | ` +
      `${first.backend}${first.threads > 1 ? ` ×${first.threads}` : ''}${first.fma === true ? ' FMA' : ''} | ${ref ? `${(100 * ref.knn_top1).toFixed(2)} / ${(100 * ref.linear_top1).toFixed(2)}` : '–'} |`,
  );
}
console.log(rows.join('\n'));
