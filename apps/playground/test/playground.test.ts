/**
 * The playground in a real browser: build the page with Vite, serve dist/ with `vite preview`, open
 * it in Debian's Chromium (headless, driven by playwright-core), train SimCLR for 2 short epochs,
 * and check that the loss falls, the charts and the map are drawn, a click on the map fills the
 * neighbour gallery, and the downloads are a TF.js model, projector TSVs and eval's HTML report.
 * Saves a screenshot to test-results/playground.png.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build, preview } from 'vite';
import type { PreviewServer } from 'vite';
import { chromium } from 'playwright-core';
import type { BrowserContext, Download, Page } from 'playwright-core';
// The page's `window.playground` state (declared in src/main.ts).
import type {} from '../src/main.js';

const APP = fileURLToPath(new URL('..', import.meta.url));
const RESULTS = join(APP, 'test-results');
const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
// A short run: 300 train digits (30 per class), 200 on the map, 2 epochs of 6 batches of 50.
const RUN = { method: 'simclr', train: 300, test: 200, epochs: 2, batch: 50 } as const;
const STEPS = RUN.epochs * Math.floor(RUN.train / RUN.batch);

let server: PreviewServer | undefined;
let context: BrowserContext | undefined;
let userDataDir: string | undefined;
let page: Page;
const browserLog: string[] = [];

function elapsed(started: number): string {
  return `${((performance.now() - started) / 1000).toFixed(1)} s`;
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM}. The playground test drives a real browser: install Debian's chromium ` +
        `(apt-get install chromium, as .ci/run does) or point CHROMIUM_PATH at a Chromium binary.`,
    );
  }
  let started = performance.now();
  await build({ root: APP, logLevel: 'error' });
  console.log(`[playground] vite build: ${elapsed(started)}`);
  server = await preview({ root: APP, logLevel: 'error', preview: { host: '127.0.0.1', port: 0, strictPort: false, open: false } });
  started = performance.now();
  userDataDir = mkdtempSync(join(tmpdir(), 'playground-chromium-'));
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    acceptDownloads: true,
    viewport: { width: 1080, height: 1000 },
  });
  page = context.pages()[0] ?? (await context.newPage());
  page.on('console', (message) => browserLog.push(`${message.type()}: ${message.text()}`));
  page.on('pageerror', (error) => browserLog.push(`pageerror: ${error.message}`));
  console.log(`[playground] Chromium ${context.browser()?.version() ?? ''} started: ${elapsed(started)}`);
});

afterAll(async () => {
  await context?.close();
  await server?.close();
  if (userDataDir !== undefined) rmSync(userDataDir, { recursive: true, force: true });
});

/** Count the canvas pixels that are not blank (transparent or white). */
async function inkedPixels(selector: string): Promise<number> {
  return page.evaluate((query) => {
    const canvas = document.querySelector<HTMLCanvasElement>(query);
    const context = canvas?.getContext('2d');
    if (canvas === null || canvas === undefined || context === null || context === undefined) return -1;
    const { data } = context.getImageData(0, 0, canvas.width, canvas.height);
    let count = 0;
    for (let i = 0; i < data.length; i += 4) if (data[i + 3]! > 0 && (data[i]! < 250 || data[i + 1]! < 250 || data[i + 2]! < 250)) count++;
    return count;
  }, selector);
}

async function downloads(button: string, count: number): Promise<Download[]> {
  const received: Download[] = [];
  const done = new Promise<void>((resolve) => {
    const listener = (download: Download): void => {
      received.push(download);
      if (received.length === count) {
        page.off('download', listener);
        resolve();
      }
    };
    page.on('download', listener);
  });
  await page.click(button);
  await done;
  return received;
}

async function text(download: Download): Promise<string> {
  const path = await download.path();
  return readFileSync(path, 'utf8');
}

describe('playground in Chromium', () => {
  it('trains SimCLR in the page: the loss falls, charts and map render, a clicked digit gets neighbours, downloads work', async () => {
    const started = performance.now();
    const query = new URLSearchParams({ ...Object.fromEntries(Object.entries(RUN).map(([key, value]) => [key, String(value)])), autostart: '1' });
    await page.goto(`${server!.resolvedUrls!.local[0]}?${query}`);
    // Wait for the run to end; an uncaught page error ends the wait at once.
    const pageError = new Promise<never>((_, reject) => page.once('pageerror', (error) => reject(new Error(`page error: ${error.message}`))));
    pageError.catch(() => undefined); // a later page error shows in the browser log instead
    try {
      await Promise.race([
        page.waitForFunction(() => ['done', 'stopped', 'error'].includes(window.playground?.status), null, { timeout: 90_000 }),
        pageError,
      ]);
    } finally {
      const status = await page.evaluate(() => ({ status: window.playground?.status, error: window.playground?.error }));
      if (status.status !== 'done') console.log(`[playground] page status ${JSON.stringify(status)}; browser log:\n${browserLog.join('\n')}`);
    }
    const state = await page.evaluate(() => window.playground);
    const notes = [state.backendNote, ...state.skipped.map((entry) => `${entry.name} skipped: ${entry.reason}`)].filter(Boolean).join('; ');
    console.log(`[playground] backend in Chromium: ${state.backend}${notes === '' ? '' : ` (${notes})`}; WebGL renderer: ${state.webglRenderer ?? 'none'}`);
    console.log(`[playground] training and evaluation: ${elapsed(started)}; epochs: ${JSON.stringify(state.epochs)}`);
    expect(state.error).toBeUndefined();
    expect(state.status).toBe('done');
    expect(await page.textContent('#backend')).toContain(`Backend: ${state.backend}`);

    // The loss falls: every step loss is finite, and the second epoch's mean is below the first's.
    expect(state.stepLosses).toHaveLength(STEPS);
    expect(state.stepLosses.every(Number.isFinite)).toBe(true);
    expect(state.epochs.map((e) => e.epoch)).toEqual([0, 1, 2]);
    const [first, second] = [state.epochs[1]!.meanLoss!, state.epochs[2]!.meanLoss!];
    expect(second).toBeLessThan(first);
    for (const e of state.epochs) expect(e.knnTop1).toBeGreaterThan(0.1); // above chance on 10 classes
    expect(await inkedPixels('#loss-chart')).toBeGreaterThan(500);
    expect(await inkedPixels('#knn-chart')).toBeGreaterThan(500);

    // The map was drawn after each evaluation, with one point per test digit.
    expect(state.mapRenders).toBeGreaterThanOrEqual(RUN.epochs + 1);
    expect(state.mapPoints).toHaveLength(RUN.test);
    expect(await inkedPixels('#map')).toBeGreaterThan(RUN.test * 5);

    // Click a digit of the map: the gallery shows it and its 8 nearest neighbours.
    const target = state.mapPoints[Math.floor(RUN.test / 3)]!;
    await page.locator('#map').click({ position: { x: target.x, y: target.y } });
    await page.waitForFunction(() => window.playground.gallery !== undefined, null, { timeout: 10_000 });
    const gallery = await page.evaluate(() => window.playground.gallery!);
    const clicked = state.mapPoints[gallery.query]!;
    expect(Math.hypot(clicked.x - target.x, clicked.y - target.y)).toBeLessThan(12);
    expect(gallery.neighbours).toHaveLength(8);
    expect(new Set([gallery.query, ...gallery.neighbours.map((n) => n.index)]).size).toBe(9);
    const similarities = gallery.neighbours.map((n) => n.similarity);
    expect([...similarities].sort((a, b) => b - a)).toEqual(similarities);
    expect(await page.locator('#gallery figure canvas').count()).toBe(9);
    expect(await page.textContent('#gallery figure.query figcaption')).toBe(`query: ${gallery.label}`);
    const galleryInk = await page.evaluate(() => {
      const canvas = document.querySelector<HTMLCanvasElement>('#gallery figure.query canvas')!;
      const { data } = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height);
      let bright = 0;
      for (let i = 0; i < data.length; i += 4) if (data[i]! > 128) bright++;
      return bright;
    });
    expect(galleryInk).toBeGreaterThan(20); // the query digit's strokes

    mkdirSync(RESULTS, { recursive: true });
    await page.screenshot({ path: join(RESULTS, 'playground.png'), fullPage: true });

    // Downloads: the encoder in the TF.js layers format, and the projector's two TSV files.
    const model = await downloads('#download-encoder', 2);
    const names = model.map((d) => d.suggestedFilename()).sort();
    expect(names).toEqual(['contrastive-encoder.json', 'contrastive-encoder.weights.bin']);
    const manifest = JSON.parse(await text(model.find((d) => d.suggestedFilename().endsWith('.json'))!)) as {
      modelTopology: { config: { layers: unknown[] } };
      weightsManifest: { paths: string[]; weights: { shape: number[] }[] }[];
    };
    expect(manifest.weightsManifest[0]!.paths).toEqual(['./contrastive-encoder.weights.bin']);
    const weightCount = manifest.weightsManifest.flatMap((group) => group.weights).reduce((sum, w) => sum + w.shape.reduce((p, s) => p * s, 1), 0);
    expect(weightCount).toBe(420_352); // the reference CNN
    const weightsFile = model.find((d) => d.suggestedFilename().endsWith('.bin'))!;
    expect(readFileSync(await weightsFile.path()).byteLength).toBe(weightCount * 4);

    const projector = await downloads('#download-projector', 2);
    const files = Object.fromEntries(await Promise.all(projector.map(async (d) => [d.suggestedFilename(), await text(d)] as const)));
    const rows = files['vectors.tsv']!.trimEnd().split('\n');
    expect(rows).toHaveLength(RUN.test);
    expect(rows.every((row) => row.split('\t').length === 128)).toBe(true);
    const labels = files['metadata.tsv']!.trimEnd().split('\n');
    expect(labels).toHaveLength(RUN.test);
    expect(new Set(labels)).toEqual(new Set(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']));

    // eval's HTML report, rendered in the page: the training curves and the map as two SVGs.
    const [report] = await downloads('#download-report', 1);
    expect(report!.suggestedFilename()).toBe('report.html');
    const html = await text(report!);
    expect(html.match(/<svg/g)).toHaveLength(2);
    expect(html).toContain('SimCLR in the browser: 300 digits, 2 epochs');
    console.log(`[playground] whole test in the page: ${elapsed(started)}; screenshot: ${join(RESULTS, 'playground.png')}`);
  });
});
