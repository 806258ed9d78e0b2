/**
 * The playground page: controls, live charts, the embedding map, the neighbour gallery and the
 * downloads. Settings come from the form, whose defaults can be set by query parameters:
 * `?method=supcon&encoder=mlp&train=300&test=200&epochs=2&batch=50&seed=0&backend=wasm,cpu&autostart=1`.
 *
 * The page publishes its state as `window.playground` (read by the browser test).
 */
import type { BackendName } from '@contrastive/core';
import { backendPlan, startBackend, webglRenderer } from './backend.js';
import { drawDigit, drawLineChart, drawScatter } from './charts.js';
import type { MapPoint } from './charts.js';
import { PlaygroundSession } from './session.js';
import type { EncoderKind, EpochUpdate, Method, Neighbour, Settings } from './session.js';

type Status = 'starting' | 'idle' | 'loading' | 'training' | 'done' | 'stopped' | 'error';

export interface PageState {
  status: Status;
  backend: BackendName | undefined;
  skipped: readonly { readonly name: BackendName; readonly reason: string }[];
  /** The WebGL renderer's name, if WebGL exists, and why the page did not try WebGL, if it did not. */
  webglRenderer: string | undefined;
  backendNote: string | undefined;
  error: string | undefined;
  settings: Settings | undefined;
  /** Loss of every step so far, in order. */
  stepLosses: number[];
  stepsPerEpoch: number;
  /** One entry per evaluation: epoch 0 is the untrained encoder. */
  epochs: { epoch: number; meanLoss: number | undefined; knnTop1: number; seconds: number | undefined }[];
  /** Where each test digit is drawn on the map, in CSS pixels of the map canvas. */
  mapPoints: MapPoint[];
  /** Number of times the map has been drawn. */
  mapRenders: number;
  gallery: { query: number; label: number; neighbours: Neighbour[] } | undefined;
}

declare global {
  interface Window {
    playground: PageState;
  }
}

const NEIGHBOURS = 8;

const state: PageState = {
  status: 'starting',
  backend: undefined,
  skipped: [],
  webglRenderer: undefined,
  backendNote: undefined,
  error: undefined,
  settings: undefined,
  stepLosses: [],
  stepsPerEpoch: 1,
  epochs: [],
  mapPoints: [],
  mapRenders: 0,
  gallery: undefined,
};
window.playground = state;

function element<T extends HTMLElement>(selector: string): T {
  const found = document.querySelector<T>(selector);
  if (found === null) throw new Error(`missing element ${selector}`);
  return found;
}

const form = element<HTMLFormElement>('#controls');
const trainButton = element<HTMLButtonElement>('#train-button');
const stopButton = element<HTMLButtonElement>('#stop-button');
const statusLine = element<HTMLParagraphElement>('#status');
const backendLine = element<HTMLSpanElement>('#backend');
const lossCanvas = element<HTMLCanvasElement>('#loss-chart');
const knnCanvas = element<HTMLCanvasElement>('#knn-chart');
const mapCanvas = element<HTMLCanvasElement>('#map');
const mapCaption = element<HTMLElement>('#map-caption');
const gallery = element<HTMLDivElement>('#gallery');
const galleryCaption = element<HTMLElement>('#gallery-caption');
const downloadButtons = {
  encoder: element<HTMLButtonElement>('#download-encoder'),
  projector: element<HTMLButtonElement>('#download-projector'),
  report: element<HTMLButtonElement>('#download-report'),
};

let session: PlaygroundSession | undefined;
let controller: AbortController | undefined;
let lastProjection: EpochUpdate['projection'] | undefined;

function setStatus(status: Status, message: string): void {
  state.status = status;
  document.body.dataset['status'] = status;
  statusLine.textContent = message;
}

function field(name: string): HTMLInputElement | HTMLSelectElement {
  const control = form.elements.namedItem(name);
  if (!(control instanceof HTMLInputElement || control instanceof HTMLSelectElement)) throw new Error(`missing form field ${name}`);
  return control;
}

/** Query parameters override the form's defaults. */
function applyQuery(query: URLSearchParams): void {
  for (const name of ['method', 'encoder', 'train', 'test', 'epochs', 'batch']) {
    const value = query.get(name);
    if (value !== null) field(name).value = value;
  }
}

function integer(name: string, low: number, high: number): number {
  const value = Number(field(name).value);
  if (!Number.isInteger(value) || value < low || value > high) throw new Error(`${name} must be an integer in [${low}, ${high}], got ${field(name).value}`);
  return value;
}

function readSettings(query: URLSearchParams): Settings {
  const method = field('method').value as Method;
  const encoder = field('encoder').value as EncoderKind;
  if (method !== 'simclr' && method !== 'supcon') throw new Error(`method must be simclr or supcon, got ${String(method)}`);
  if (encoder !== 'cnn' && encoder !== 'mlp') throw new Error(`encoder must be cnn or mlp, got ${String(encoder)}`);
  const seed = Number(query.get('seed') ?? 0);
  if (!Number.isInteger(seed)) throw new Error(`seed must be an integer, got ${query.get('seed')}`);
  return {
    method,
    encoder,
    trainCount: integer('train', 20, 8000),
    testCount: integer('test', 20, 2000),
    epochs: integer('epochs', 1, 100),
    batchSize: integer('batch', 4, 512),
    learningRate: 1e-3,
    seed,
  };
}

function drawCharts(): void {
  const perEpoch = state.stepsPerEpoch;
  const steps = state.stepLosses.map((loss, i): [number, number] => [(i + 1) / perEpoch, loss]);
  const means = state.epochs.filter((e) => e.meanLoss !== undefined).map((e): [number, number] => [e.epoch, e.meanLoss as number]);
  const epochs = state.settings?.epochs ?? 1;
  drawLineChart(
    lossCanvas,
    [
      { name: 'step loss', colour: '#9ab', points: steps },
      { name: 'epoch mean', colour: '#e15759', points: means, dots: true },
    ],
    { xLabel: 'epoch', yLabel: 'loss', xMax: epochs },
  );
  drawLineChart(
    knnCanvas,
    [{ name: 'kNN top-1 (k 20, τ 0.07)', colour: '#4e79a7', points: state.epochs.map((e): [number, number] => [e.epoch, e.knnTop1 * 100]), dots: true }],
    { xLabel: 'epoch (0 = untrained)', yLabel: 'accuracy %', yRange: [0, 100], xMax: epochs },
  );
}

function drawMap(): void {
  if (session === undefined || lastProjection === undefined) return;
  const highlight = state.gallery === undefined ? [] : [state.gallery.query, ...state.gallery.neighbours.map((n) => n.index)];
  state.mapPoints = drawScatter(mapCanvas, lastProjection.points, session.testLabels, highlight);
  state.mapRenders++;
  const [first, second] = lastProjection.explained;
  mapCaption.textContent = `PCA of h/‖h‖, ${session.testLabels.length} test digits (${(100 * first).toFixed(0)}% + ${(100 * second).toFixed(0)}% of variance)`;
}

function digitFigure(pixels: Float32Array, index: number, caption: string, className: string): HTMLElement {
  const figure = document.createElement('figure');
  figure.className = className;
  figure.dataset['index'] = String(index);
  const canvas = document.createElement('canvas');
  drawDigit(canvas, pixels.subarray(index * 784, (index + 1) * 784));
  const text = document.createElement('figcaption');
  text.textContent = caption;
  figure.append(canvas, text);
  return figure;
}

async function showNeighbours(query: number): Promise<void> {
  if (session === undefined) return;
  const active = session;
  const neighbours = await active.neighbours(query, NEIGHBOURS);
  if (active !== session) return;
  const label = active.testLabels[query]!;
  state.gallery = { query, label, neighbours };
  const same = neighbours.filter((n) => n.label === label).length;
  galleryCaption.textContent = `of a ${label}: ${same}/${neighbours.length} are ${label}s (cosine on h)`;
  gallery.replaceChildren(
    digitFigure(active.testPixels, query, `query: ${label}`, 'query'),
    ...neighbours.map((n) => digitFigure(active.testPixels, n.index, `${n.label} · ${n.similarity.toFixed(2)}`, n.label === label ? 'same' : 'other')),
  );
  drawMap();
}

mapCanvas.addEventListener('click', (event) => {
  const box = mapCanvas.getBoundingClientRect();
  const x = event.clientX - box.left;
  const y = event.clientY - box.top;
  let best: MapPoint | undefined;
  let bestDistance = 12;
  for (const point of state.mapPoints) {
    const distance = Math.hypot(point.x - x, point.y - y);
    if (distance < bestDistance) {
      best = point;
      bestDistance = distance;
    }
  }
  if (best !== undefined) void showNeighbours(best.index).catch(fail);
});

function download(name: string, text: string, type: string): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const anchor = document.createElement('a');
  anchor.href = url;
  anchor.download = name;
  anchor.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

downloadButtons.encoder.addEventListener('click', () => {
  void session?.saveEncoder().catch(fail);
});
downloadButtons.projector.addEventListener('click', () => {
  try {
    const files = session?.projectorFiles();
    if (files === undefined) return;
    download('vectors.tsv', files.vectors, 'text/tab-separated-values');
    if (files.metadata !== undefined) download('metadata.tsv', files.metadata, 'text/tab-separated-values');
  } catch (error) {
    fail(error);
  }
});
downloadButtons.report.addEventListener('click', () => {
  const trained = state.epochs.filter((e) => e.meanLoss !== undefined);
  void session
    ?.report({ epochs: trained.map((e) => e.epoch), loss: trained.map((e) => e.meanLoss as number), knn: trained.map((e) => e.knnTop1) })
    .then((html) => download('report.html', html, 'text/html'))
    .catch(fail);
});

function fail(error: unknown): void {
  const message = error instanceof Error ? error.message : String(error);
  state.error = message;
  console.error(error);
  setStatus('error', `Error: ${message}`);
  trainButton.disabled = state.backend === undefined;
  stopButton.disabled = true;
}

async function run(settings: Settings): Promise<void> {
  controller?.abort();
  session?.dispose();
  session = undefined;
  lastProjection = undefined;
  Object.assign(state, { settings, stepLosses: [], epochs: [], mapPoints: [], gallery: undefined, error: undefined });
  gallery.replaceChildren();
  galleryCaption.textContent = '';
  Object.values(downloadButtons).forEach((button) => (button.disabled = true));
  trainButton.disabled = true;
  setStatus('loading', 'Loading the MNIST digits and building the encoder…');
  const active = await PlaygroundSession.create(settings);
  session = active;
  controller = new AbortController();
  stopButton.disabled = false;
  const started = performance.now();
  setStatus('training', `Evaluating the untrained encoder on ${state.backend}…`);
  const { stopped } = await active.run(
    {
      onStep: ({ epoch, step, stepsPerEpoch, loss }) => {
        state.stepsPerEpoch = stepsPerEpoch;
        state.stepLosses.push(loss);
        setStatus('training', `Epoch ${epoch + 1}/${settings.epochs}, step ${step + 1}/${stepsPerEpoch}: loss ${loss.toFixed(4)}`);
        drawCharts();
      },
      onEpoch: async (update) => {
        state.epochs.push({ epoch: update.epoch, meanLoss: update.meanLoss, knnTop1: update.knnTop1, seconds: update.seconds });
        lastProjection = update.projection;
        drawCharts();
        if (state.gallery !== undefined) await showNeighbours(state.gallery.query);
        else drawMap();
        Object.values(downloadButtons).forEach((button) => (button.disabled = false));
      },
    },
    controller.signal,
  );
  stopButton.disabled = true;
  trainButton.disabled = false;
  const last = state.epochs.at(-1);
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  const summary = `${state.epochs.length - 1} epoch(s) on ${state.backend} in ${seconds} s; kNN top-1 ${last === undefined ? '–' : (100 * last.knnTop1).toFixed(1)}%`;
  setStatus(stopped ? 'stopped' : 'done', stopped ? `Stopped after ${summary}` : `Done: ${summary}. Click a digit on the map.`);
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  try {
    void run(readSettings(query)).catch(fail);
  } catch (error) {
    fail(error);
  }
});
stopButton.addEventListener('click', () => controller?.abort());

const query = new URLSearchParams(window.location.search);
try {
  applyQuery(query);
  drawCharts();
  state.webglRenderer = webglRenderer();
  const plan = backendPlan(query.get('backend'), state.webglRenderer);
  state.backendNote = plan.note;
  const selection = await startBackend(plan.preference, (message) => console.info(message));
  state.backend = selection.name;
  state.skipped = selection.skipped;
  const notes = [plan.note, ...selection.skipped.map((entry) => `${entry.name} skipped: ${entry.reason}`)].filter((note) => note !== undefined);
  backendLine.textContent = `Backend: ${selection.name}${notes.length === 0 ? '' : ` (${notes.join('; ')})`}`;
  backendLine.dataset['backend'] = selection.name;
  trainButton.disabled = false;
  setStatus('idle', 'Ready: choose a method and press Train.');
  if (selection.name === 'cpu' && !query.has('encoder')) field('encoder').value = 'mlp';
  if (query.get('autostart') === '1') form.requestSubmit();
} catch (error) {
  fail(error);
}

