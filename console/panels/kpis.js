// The music KPIs: plays from recommendations, follows from "artists for you", follow-through
// (GET /v1/admin/kpis).

import { h, facts } from "../dom.js";
import { chart } from "../charts.js";
import * as fmt from "../format.js";

export function query(form) {
  return new URLSearchParams({ days: new FormData(form).get("days") });
}

function byDay(container, title, kpi) {
  const s = (kpi || {}).by_day || {};
  chart(container, {
    title, unit: "per day", bars: true, step: 86400, format: fmt.count,
    series: [{ label: title, timestamps: s.timestamps || [], values: s.values || [] }],
  });
}

const window = (days) => (days === 1 ? "today (UTC)" : `in the last ${days} days`);

export function render(body, answer) {
  const plays = answer.plays_from_recommendations || {};
  const follows = answer.follows_from_artists || {};
  const through = answer.follow_through || {};
  body.append(h("div", { class: "kpi-cards" },
    h("div", { class: "kpi", dataset: { kpi: "plays" } },
      h("h3", {}, "Plays from recommendations"), h("p", { class: "kpi-value" }, fmt.count(plays.total)),
      h("p", { class: "note" }, window(answer.days))),
    h("div", { class: "kpi", dataset: { kpi: "follows" } },
      h("h3", {}, "Follows from “artists for you”"), h("p", { class: "kpi-value" }, fmt.count(follows.total)),
      h("p", { class: "note" }, window(answer.days))),
    h("div", { class: "kpi", dataset: { kpi: "follow-through" } },
      h("h3", {}, "Follow-through"), h("p", { class: "kpi-value" }, fmt.fraction(through.rate, 1)),
      facts([
        ["followed a recommended artist", fmt.count(through.followers)],
        ["of whom followed another", fmt.count(through.followed_another)],
      ])),
  ));
  const grid = h("div", { class: "chart-grid" });
  body.append(grid);
  byDay(grid, "Plays from recommendations", plays);
  byDay(grid, "Follows from artists for you", follows);
}
