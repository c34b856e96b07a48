// Traffic and latency per route over time, and the fallback rate (GET /v1/admin/traffic).

import { h, fill, table } from "../dom.js";
import { chart } from "../charts.js";
import * as fmt from "../format.js";

const TOP_ROUTES = 8; // routes drawn in the overview charts (the busiest); the table lists all
const ADMIN_PREFIX = "/v1/admin/";

const label = (route) => `${route.method} ${route.path}`;
const total = (route, key) => ((route.totals || {})[key] ?? 0);
const latest = (series) => {
  const values = ((series || {}).values || []).filter((v) => typeof v === "number");
  return values.length ? values[values.length - 1] : null;
};
const seriesOf = (name, s) => ({ label: name, timestamps: (s || {}).timestamps || [], values: (s || {}).values || [] });

/** The query of the panel's controls: `hours` and `period` (s). */
export function query(form) {
  const data = new FormData(form);
  return new URLSearchParams({ hours: data.get("hours"), period: data.get("period") });
}

/** The panel in `section`: its controls, and the answer rendered into its body. */
export function render(body, answer, state = { selected: null }) {
  const routes = answer.routes || [];
  const busy = routes.filter((r) => total(r, "count") > 0)
    .sort((a, b) => total(b, "count") - total(a, "count"));
  // the apps' routes in the overview (the console's own are in the table and "Show")
  const apps = busy.filter((r) => !String(r.path).startsWith(ADMIN_PREFIX));
  const drawn = apps.slice(0, TOP_ROUTES);
  const grid = h("div", { class: "chart-grid" });
  body.append(grid);
  chart(grid, {
    step: answer.period_s, title: "Requests per route", unit: `per ${answer.period_s} s`,
    series: drawn.map((r) => seriesOf(label(r), r.count)), format: fmt.count, counts: true,
  });
  chart(grid, {
    step: answer.period_s, title: "p99 latency per route", unit: "ms",
    series: drawn.map((r) => seriesOf(label(r), r.p99_ms)), format: fmt.ms,
  });
  const fallback = Object.entries(answer.fallback_rate || {});
  chart(grid, {
    step: answer.period_s, title: "Fallback rate", unit: "% of answers",
    series: fallback.map(([name, s]) => seriesOf(name, s)), format: (v) => fmt.percent(v),
  });
  chart(grid, {
    step: answer.period_s, title: "Server errors (5xx) per route", unit: `per ${answer.period_s} s`,
    series: drawn.map((r) => seriesOf(label(r), r.errors_5xx)), format: fmt.count, counts: true,
  });
  const left = busy.length - drawn.length;
  if (left > 0) {
    const which = apps.length > TOP_ROUTES ? `the ${TOP_ROUTES} busiest of the apps' routes` : "the apps' routes";
    body.append(h("p", { class: "note" }, `The charts show ${which}; the table lists every route, the console's own included ("Show" draws one).`));
  }
  const detail = h("div", { class: "route-detail", "aria-live": "polite" });
  const show = (route) => {
    state.selected = label(route);
    fill(detail, h("h3", {}, `${label(route)}`));
    const pair = h("div", { class: "chart-grid" });
    detail.append(pair);
    chart(pair, {
      step: answer.period_s, title: "Requests and errors", unit: `per ${answer.period_s} s`, format: fmt.count, counts: true,
      series: [seriesOf("requests", route.count), seriesOf("4xx", route.errors_4xx), seriesOf("5xx", route.errors_5xx)],
    });
    chart(pair, {
      step: answer.period_s, title: "Latency", unit: "ms", format: fmt.ms,
      series: [seriesOf("p50", route.p50_ms), seriesOf("p99", route.p99_ms)],
    });
  };
  const rows = routes.map((route) => [
    h("td", {}, route.method),
    h("th", { scope: "row" }, route.path),
    total(route, "count"),
    total(route, "errors_4xx"),
    total(route, "errors_5xx"),
    h("td", { class: "num" }, fmt.ms(latest(route.p50_ms))),
    h("td", { class: "num" }, fmt.ms(latest(route.p99_ms))),
    h("td", {}, h("button", { type: "button", class: "link", onclick: () => show(route),
      "aria-label": `Show ${label(route)} over time` }, "Show")),
  ]);
  body.append(table(
    `Every route, ${fmt.time(answer.start)} to ${fmt.time(answer.end)} (latency: the latest period with requests)`,
    ["Method", "Path", "Requests", "4xx", "5xx", "p50", "p99", "Over time"], rows,
    { class: "routes" },
  ));
  body.append(detail);
  const chosen = routes.find((r) => label(r) === state.selected) || apps[0] || busy[0];
  if (chosen) show(chosen);
}
