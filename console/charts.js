// Time-series charts on uPlot (vendor/uPlot.iife.min.js, loaded before the modules as
// `globalThis.uPlot`). Series arrive as the admin API sends them: `{timestamps: [ISO...],
// values: [...]}` with null where there is no datum; each chart joins its series on time.

export const PALETTE = ["#1f6feb", "#d1242f", "#1a7f37", "#bf8700", "#8250df", "#0a7b83",
  "#cf222e", "#57606a"];
const HEIGHT = 220;
const SPARSE = 60; // a series with fewer numbers than this shows each as a point
const LONE_SPAN_S = 3600; // the x range around a single timestamp
const live = new Set(); // charts on the page, resized with the window

function uPlotLib() {
  const lib = globalThis.uPlot;
  if (!lib) throw new Error("the charting library (vendor/uPlot.iife.min.js) is not loaded");
  return lib;
}

/**
 * One x axis for several series: `[{label, timestamps, values}]` -> `{xs, ys}` where `xs` are
 * the union of the timestamps (epoch seconds, ascending) and `ys[i]` series i's values at each
 * (null where it has none).
 */
export function align(series) {
  const times = new Set();
  const lookups = series.map((s) => {
    const byTime = new Map();
    (s.timestamps || []).forEach((iso, i) => {
      const t = Date.parse(iso) / 1000;
      if (Number.isNaN(t)) return;
      times.add(t);
      const v = (s.values || [])[i];
      byTime.set(t, typeof v === "number" && Number.isFinite(v) ? v : null);
    });
    return byTime;
  });
  const xs = [...times].sort((a, b) => a - b);
  const ys = lookups.map((byTime) => xs.map((t) => (byTime.has(t) ? byTime.get(t) : null)));
  return { xs, ys };
}

/**
 * A count series with its inner gaps as zeros: CloudWatch has no datum for a period without
 * requests, which is a count of 0; before the first and after the last datum a gap stays a gap
 * (metrics arrive late).
 */
export function zeroGaps(values) {
  const first = values.findIndex((v) => v !== null);
  if (first < 0) return values;
  let last = values.length - 1;
  while (values[last] === null) last--;
  return values.map((v, i) => (v === null && i > first && i < last ? 0 : v));
}

/** How many numbers (non-null values) the series hold. */
export function points(ys) {
  return ys.reduce((n, values) => n + values.filter((v) => v !== null).length, 0);
}

/**
 * A figure with a caption and a line (or bar) chart of `series` ([{label, timestamps,
 * values}]) in `container`; "no data" instead of a chart when every value is null. `step`: the
 * series' period (s); `counts`: inner gaps are zeros. The figure carries `data-points` (the
 * numbers drawn) and an `aria-label` summing it up.
 */
export function chart(container, { title, series, unit = "", bars = false, height = HEIGHT,
  step = null, counts = false, format = (v) => String(v) }) {
  const { xs, ys: aligned } = align(series);
  const ys = counts ? aligned.map(zeroGaps) : aligned;
  const drawn = points(ys);
  const figure = document.createElement("figure");
  figure.className = "chart";
  figure.dataset.points = String(drawn);
  figure.dataset.series = String(series.length);
  const caption = document.createElement("figcaption");
  caption.textContent = unit ? `${title} (${unit})` : title;
  figure.append(caption);
  container.append(figure);
  if (drawn === 0) {
    const empty = document.createElement("p");
    empty.className = "empty";
    empty.textContent = "No data in this period.";
    figure.append(empty);
    return null;
  }
  const plot = document.createElement("div");
  plot.className = "plot";
  plot.setAttribute("role", "img");
  plot.setAttribute("aria-label", summary(title, series, ys, format));
  figure.append(plot);
  const lib = uPlotLib();
  const options = {
    width: Math.max(plot.clientWidth || container.clientWidth || 600, 200),
    height,
    scales: { x: { time: true, range: () => xRange(xs, bars, step) } },
    legend: { live: true },
    cursor: { drag: { x: true, y: false } },
    axes: [
      { stroke: "#57606a", grid: { stroke: "#eaeef2" } },
      { stroke: "#57606a", grid: { stroke: "#eaeef2" }, size: axisWidth,
        values: (_u, ticks) => ticks.map((v) => format(v)) },
    ],
    series: [
      { label: "time" },
      ...series.map((s, i) => ({
        label: s.label,
        stroke: PALETTE[i % PALETTE.length],
        fill: bars ? `${PALETTE[i % PALETTE.length]}88` : undefined,
        width: bars ? 1 : 1.6,
        spanGaps: false,
        points: { show: !bars && ys[i].filter((v) => v !== null).length < SPARSE },
        paths: bars ? lib.paths.bars({ size: [0.6, 60] }) : undefined,
        value: (_u, v) => (v === null || v === undefined ? "–" : format(v)),
      })),
    ],
  };
  const instance = new lib(options, [xs, ...ys], plot);
  live.add(instance);
  return instance;
}

/**
 * The x axis's range: the first to the last timestamp (bars: half a step more on each side, so
 * the outer bars show whole). `step` (s) is the series' period, else the smallest gap, else
 * an hour; a single timestamp gets a step on each side.
 */
export function xRange(xs, bars = false, step = null) {
  if (xs.length === 0) return [0, 1];
  const gap = xs.length > 1 ? Math.min(...xs.slice(1).map((x, i) => x - xs[i])) : LONE_SPAN_S;
  const width = step || gap;
  const pad = xs.length === 1 ? width : bars ? width / 2 : 0;
  return [xs[0] - pad, xs[xs.length - 1] + pad];
}

/** The y axis's width: room for its longest tick label. */
function axisWidth(_u, values) {
  const longest = Math.max(0, ...(values || []).map((v) => String(v).length));
  return Math.max(48, 16 + longest * 7);
}

function summary(title, series, ys, format) {
  const parts = series.map((s, i) => {
    const values = ys[i].filter((v) => v !== null);
    if (values.length === 0) return `${s.label}: no data`;
    return `${s.label}: ${values.length} points, latest ${format(values[values.length - 1])}, ` +
      `highest ${format(Math.max(...values))}`;
  });
  return `${title}. ${parts.join("; ")}.`;
}

/** Remove the charts drawn in `container` (before it is filled again). */
export function destroyIn(container) {
  for (const instance of [...live]) {
    if (container.contains(instance.root)) {
      instance.destroy();
      live.delete(instance);
    }
  }
}

function resizeAll() {
  for (const instance of live) {
    const box = instance.root.parentElement;
    if (!box || !box.isConnected) {
      live.delete(instance);
      continue;
    }
    const width = Math.max(box.clientWidth, 200);
    if (width !== instance.width) instance.setSize({ width, height: instance.height });
  }
}

let pending = 0;
window.addEventListener("resize", () => {
  cancelAnimationFrame(pending);
  pending = requestAnimationFrame(resizeAll);
});
