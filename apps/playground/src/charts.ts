/** Small canvas charts: a line chart and a labelled scatter plot, no chart library. */

/** Ten distinguishable colours (Tableau 10), one per digit. */
export const DIGIT_COLOURS: readonly string[] = [
  '#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f',
  '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac',
];

export interface Series {
  readonly name: string;
  readonly colour: string;
  /** `[x, y]` pairs in data units. */
  readonly points: readonly (readonly [number, number])[];
  /** Draw a dot on every point (for short series such as per-epoch values). */
  readonly dots?: boolean;
}

export interface LineChartOptions {
  readonly xLabel: string;
  readonly yLabel: string;
  /** Fixed y range; otherwise the data's range. */
  readonly yRange?: readonly [number, number];
  /** Smallest x range shown, so that the first points do not fill the whole width. */
  readonly xMin?: number;
  readonly xMax?: number;
}

const MARGIN = { left: 46, right: 12, top: 12, bottom: 30 } as const;

/** Resize the canvas backing store to its CSS size times the device pixel ratio. */
function prepare(canvas: HTMLCanvasElement): { context: CanvasRenderingContext2D; width: number; height: number } {
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth || canvas.width;
  const height = canvas.clientHeight || canvas.height;
  if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
  }
  const context = canvas.getContext('2d');
  if (context === null) throw new Error('canvas 2d context unavailable');
  context.setTransform(ratio, 0, 0, ratio, 0, 0);
  context.clearRect(0, 0, width, height);
  context.font = '11px system-ui, sans-serif';
  return { context, width, height };
}

function niceTicks(low: number, high: number, count: number): number[] {
  const span = high - low || 1;
  const step = 10 ** Math.floor(Math.log10(span / count));
  const multiple = [1, 2, 5, 10].find((m) => span / (m * step) <= count) ?? 10;
  const size = multiple * step;
  const ticks: number[] = [];
  for (let value = Math.ceil(low / size) * size; value <= high + size * 1e-9; value += size) ticks.push(Number(value.toPrecision(12)));
  return ticks;
}

export function drawLineChart(canvas: HTMLCanvasElement, series: readonly Series[], options: LineChartOptions): void {
  const { context, width, height } = prepare(canvas);
  const all = series.flatMap((s) => s.points);
  const plotWidth = width - MARGIN.left - MARGIN.right;
  const plotHeight = height - MARGIN.top - MARGIN.bottom;
  let xLow = options.xMin ?? 0;
  let xHigh = Math.max(options.xMax ?? 1, ...all.map(([x]) => x));
  if (xHigh <= xLow) xHigh = xLow + 1;
  let [yLow, yHigh] = options.yRange ?? [Math.min(...all.map(([, y]) => y)), Math.max(...all.map(([, y]) => y))];
  if (!Number.isFinite(yLow) || !Number.isFinite(yHigh)) [yLow, yHigh] = [0, 1];
  if (yHigh - yLow < 1e-9) [yLow, yHigh] = [yLow - 0.5, yHigh + 0.5];
  if (options.yRange === undefined) {
    const pad = (yHigh - yLow) * 0.08;
    yLow -= pad;
    yHigh += pad;
  }
  const x = (value: number): number => MARGIN.left + ((value - xLow) / (xHigh - xLow)) * plotWidth;
  const y = (value: number): number => MARGIN.top + (1 - (value - yLow) / (yHigh - yLow)) * plotHeight;

  context.strokeStyle = '#ddd';
  context.fillStyle = '#555';
  context.lineWidth = 1;
  context.textAlign = 'right';
  context.textBaseline = 'middle';
  for (const tick of niceTicks(yLow, yHigh, 5)) {
    context.beginPath();
    context.moveTo(MARGIN.left, y(tick));
    context.lineTo(width - MARGIN.right, y(tick));
    context.stroke();
    context.fillText(String(tick), MARGIN.left - 4, y(tick));
  }
  context.textAlign = 'center';
  context.textBaseline = 'top';
  for (const tick of niceTicks(xLow, xHigh, 6)) context.fillText(String(tick), x(tick), height - MARGIN.bottom + 4);
  context.fillText(options.xLabel, MARGIN.left + plotWidth / 2, height - 13);
  context.save();
  context.translate(11, MARGIN.top + plotHeight / 2);
  context.rotate(-Math.PI / 2);
  context.fillText(options.yLabel, 0, -6);
  context.restore();
  context.strokeStyle = '#888';
  context.strokeRect(MARGIN.left, MARGIN.top, plotWidth, plotHeight);

  let legendX = MARGIN.left + 8;
  for (const s of series) {
    context.strokeStyle = s.colour;
    context.fillStyle = s.colour;
    context.lineWidth = 1.5;
    context.beginPath();
    s.points.forEach(([px, py], i) => (i === 0 ? context.moveTo(x(px), y(py)) : context.lineTo(x(px), y(py))));
    context.stroke();
    if (s.dots === true) {
      for (const [px, py] of s.points) {
        context.beginPath();
        context.arc(x(px), y(py), 3, 0, 2 * Math.PI);
        context.fill();
      }
    }
    context.textAlign = 'left';
    context.textBaseline = 'top';
    context.fillRect(legendX, MARGIN.top + 6, 10, 3);
    context.fillStyle = '#333';
    context.fillText(s.name, legendX + 14, MARGIN.top + 2);
    legendX += 24 + context.measureText(s.name).width;
  }
}

/** A point of the map, in CSS pixels of the canvas. */
export interface MapPoint {
  readonly index: number;
  readonly label: number;
  readonly x: number;
  readonly y: number;
}

/**
 * Scatter `n` 2-D points coloured by label, scaled to fill the canvas; returns where each point was
 * drawn (for hit-testing clicks).
 */
export function drawScatter(canvas: HTMLCanvasElement, coordinates: Float64Array, labels: Int32Array, highlight?: readonly number[]): MapPoint[] {
  const { context, width, height } = prepare(canvas);
  const n = labels.length;
  let xLow = Infinity;
  let xHigh = -Infinity;
  let yLow = Infinity;
  let yHigh = -Infinity;
  for (let i = 0; i < n; i++) {
    xLow = Math.min(xLow, coordinates[2 * i]!);
    xHigh = Math.max(xHigh, coordinates[2 * i]!);
    yLow = Math.min(yLow, coordinates[2 * i + 1]!);
    yHigh = Math.max(yHigh, coordinates[2 * i + 1]!);
  }
  const pad = 12;
  const scale = Math.min((width - 2 * pad) / (xHigh - xLow || 1), (height - 2 * pad - 16) / (yHigh - yLow || 1));
  const points: MapPoint[] = [];
  for (let i = 0; i < n; i++) {
    const label = labels[i]!;
    const px = width / 2 + (coordinates[2 * i]! - (xLow + xHigh) / 2) * scale;
    const py = 16 + (height - 16) / 2 - (coordinates[2 * i + 1]! - (yLow + yHigh) / 2) * scale;
    points.push({ index: i, label, x: px, y: py });
    context.fillStyle = DIGIT_COLOURS[label % DIGIT_COLOURS.length]!;
    context.globalAlpha = 0.8;
    context.beginPath();
    context.arc(px, py, 2.6, 0, 2 * Math.PI);
    context.fill();
  }
  context.globalAlpha = 1;
  for (const index of highlight ?? []) {
    const point = points[index];
    if (point === undefined) continue;
    context.strokeStyle = '#000';
    context.lineWidth = index === highlight?.[0] ? 2.5 : 1.2;
    context.beginPath();
    context.arc(point.x, point.y, index === highlight?.[0] ? 6 : 4, 0, 2 * Math.PI);
    context.stroke();
  }
  // Legend: one coloured digit per class.
  context.textAlign = 'left';
  context.textBaseline = 'top';
  context.font = 'bold 12px system-ui, sans-serif';
  DIGIT_COLOURS.forEach((colour, digit) => {
    context.fillStyle = colour;
    context.fillText(String(digit), 6 + digit * 14, 2);
  });
  return points;
}

/** Draw one 28x28 grey image (pixels in [0, 1], white digit on black) into a canvas. */
export function drawDigit(canvas: HTMLCanvasElement, pixels: Float32Array, side = 28): void {
  canvas.width = side;
  canvas.height = side;
  const context = canvas.getContext('2d');
  if (context === null) throw new Error('canvas 2d context unavailable');
  const image = context.createImageData(side, side);
  for (let p = 0; p < side * side; p++) {
    const value = Math.round(Math.min(1, Math.max(0, pixels[p] ?? 0)) * 255);
    image.data[4 * p] = value;
    image.data[4 * p + 1] = value;
    image.data[4 * p + 2] = value;
    image.data[4 * p + 3] = 255;
  }
  context.putImageData(image, 0, 0);
}
