import { join } from 'node:path';
import { ContrastiveError, assertNumber } from '@contrastive/core';
import { simclrRecipe } from './contrastive.js';
import { runRecipe } from './run-recipe.js';
import type { RecipeOutcome, RecipeSettings } from './run-recipe.js';

/** Strengths of the default InfoMin sweep: 0.1, 0.2, ..., 1.0. @category Recipes */
export const INFOMIN_STRENGTHS: readonly number[] = Object.freeze(Array.from({ length: 10 }, (_, i) => (i + 1) / 10));

/** One point of an InfoMin sweep. @category Recipes */
export interface InfominPoint {
  /** View strength (see `RecipeOptions.strength`). */
  readonly strength: number;
  /** The SimCLR run at that strength. */
  readonly outcome: RecipeOutcome;
}

/** What {@link runInfominSweep} measured. @category Recipes */
export interface InfominSweep {
  readonly points: readonly InfominPoint[];
  /** Strength with the highest kNN top-1 (the first on ties). */
  readonly bestStrength: number;
  /** True when the best strength lies strictly inside the swept range (InfoMin's "sweet spot"). */
  readonly peaksInside: boolean;
  /** An SVG chart of kNN and linear top-1 against strength. */
  readonly svg: string;
}

/**
 * The InfoMin sweep (Tian et al. 2020, "What Makes for Good Views for Contrastive Learning?"):
 * SimCLR trained from the same seed at each view strength, each run evaluated like any recipe.
 * InfoMin's claim is a reverse U: too weak views share nuisance information, too strong ones destroy
 * the task's, so accuracy peaks strictly inside the range. Each strength runs in
 * `<runDir>/strength-<s>` with its own checkpoint (so `resume` continues a partial sweep).
 *
 * @param settings - the settings of every run (its `options.strength` is replaced per point).
 * @param strengths - the strengths, each in `[0, 1]`, at least 3. @defaultValue {@link INFOMIN_STRENGTHS}
 * @returns the points, the best strength and the chart.
 * @throws `ContrastiveError` `INVALID_ARGUMENT` naming `strengths` (fewer than 3, out of range,
 *   repeated); the errors of {@link runRecipe}.
 * @category Recipes
 */
export async function runInfominSweep(settings: RecipeSettings, strengths: readonly number[] = INFOMIN_STRENGTHS): Promise<InfominSweep> {
  const fn = 'runInfominSweep';
  if (!Array.isArray(strengths) || strengths.length < 3) {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'strengths' passed to '${fn}' must be an array of at least 3 strengths, got ${Array.isArray(strengths) ? strengths.length : typeof strengths}`);
  }
  strengths.forEach((strength, i) => assertNumber(strength, `strengths[${i}]`, fn, { min: 0, max: 1 }));
  const sorted = [...strengths].sort((a, b) => a - b);
  if (new Set(sorted).size !== sorted.length) throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'strengths' passed to '${fn}' must not repeat a strength`);
  const points: InfominPoint[] = [];
  for (const strength of sorted) {
    settings.progress.log(`InfoMin sweep: strength ${strength}`);
    const outcome = await runRecipe(simclrRecipe, {
      ...settings,
      options: { ...settings.options, strength },
      runDir: join(settings.runDir, `strength-${strength}`),
      // The baselines do not depend on the strength: evaluate them once.
      baselines: points.length === 0 ? (settings.baselines ?? true) : false,
    });
    points.push({ strength, outcome });
  }
  let best = points[0] as InfominPoint;
  for (const point of points) if (point.outcome.learned.knnTop1 > best.outcome.learned.knnTop1) best = point;
  const index = points.indexOf(best);
  return { points, bestStrength: best.strength, peaksInside: index > 0 && index < points.length - 1, svg: sweepChart(points) };
}

/** A small line chart (SVG) of kNN and linear top-1 against view strength. @internal */
export function sweepChart(points: readonly InfominPoint[]): string {
  const width = 480;
  const height = 300;
  const left = 56;
  const right = 16;
  const top = 28;
  const bottom = 44;
  const series: { name: string; colour: string; values: (number | undefined)[] }[] = [
    { name: 'kNN top-1', colour: '#1f77b4', values: points.map((point) => point.outcome.learned.knnTop1) },
    { name: 'linear top-1', colour: '#d62728', values: points.map((point) => point.outcome.learned.linearTop1 ?? point.outcome.learned.linearAdamTop1) },
  ];
  const all = series.flatMap((line) => line.values.filter((value): value is number => value !== undefined));
  const low = Math.floor(Math.min(...all) * 100 - 1) / 100;
  const high = Math.ceil(Math.max(...all) * 100 + 1) / 100;
  const strengths = points.map((point) => point.strength);
  const minS = Math.min(...strengths);
  const maxS = Math.max(...strengths);
  const x = (s: number): number => left + ((s - minS) / (maxS - minS || 1)) * (width - left - right);
  const y = (v: number): number => top + (1 - (v - low) / (high - low || 1)) * (height - top - bottom);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="11">`,
    `<text x="${left}" y="16" font-size="13">InfoMin sweep: top-1 against view strength</text>`,
    `<line x1="${left}" y1="${height - bottom}" x2="${width - right}" y2="${height - bottom}" stroke="#333"/>`,
    `<line x1="${left}" y1="${top}" x2="${left}" y2="${height - bottom}" stroke="#333"/>`,
  ];
  for (const s of strengths) parts.push(`<text x="${x(s).toFixed(1)}" y="${height - bottom + 14}" text-anchor="middle">${s}</text>`);
  parts.push(`<text x="${(left + width - right) / 2}" y="${height - 8}" text-anchor="middle">view strength</text>`);
  for (let i = 0; i <= 4; i++) {
    const v = low + ((high - low) * i) / 4;
    parts.push(`<text x="${left - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${(100 * v).toFixed(1)}%</text>`);
  }
  series.forEach((line, k) => {
    const coords = line.values.flatMap((value, i) => (value === undefined ? [] : [`${x(strengths[i] as number).toFixed(1)},${y(value).toFixed(1)}`]));
    parts.push(`<polyline fill="none" stroke="${line.colour}" stroke-width="2" points="${coords.join(' ')}"/>`);
    for (const coord of coords) {
      const [cx, cy] = coord.split(',');
      parts.push(`<circle cx="${cx}" cy="${cy}" r="3" fill="${line.colour}"/>`);
    }
    parts.push(`<text x="${width - right - 90}" y="${top + 14 * k}" fill="${line.colour}">${line.name}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}
