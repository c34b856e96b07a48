// Experiments: CTR per variant over time, each variant's lift over the control with its
// interval, and the off-policy estimates of a bandit's log (GET /v1/admin/experiments).

import { h, table } from "../dom.js";
import { chart } from "../charts.js";
import * as fmt from "../format.js";

export function query(form) {
  const data = new FormData(form);
  return new URLSearchParams({ days: data.get("days"), period: data.get("period"), hours: data.get("hours") });
}

/** A bar showing the interval [low, high] and the estimate on a scale [min, max] with 0 marked. */
function intervalBar(est, min, max) {
  if (est.value === null || est.low === null || est.high === null || max <= min) return null;
  const at = (v) => `${(((v - min) / (max - min)) * 100).toFixed(2)}%`;
  const range = h("span", { class: "ci-range" });
  range.style.left = at(est.low);
  range.style.width = `${(((est.high - est.low) / (max - min)) * 100).toFixed(2)}%`;
  const point = h("span", { class: "ci-point" });
  point.style.left = at(est.value);
  const zero = h("span", { class: "ci-zero" });
  zero.style.left = at(0);
  const side = est.low > 0 ? "above" : est.high < 0 ? "below" : "across";
  return h("span", { class: `ci-bar ci-${side}`, role: "img",
    "aria-label": `interval ${fmt.signedFraction(est.low)} to ${fmt.signedFraction(est.high)}` },
  zero, range, point);
}

function variantsTable(experiment) {
  const variants = experiment.variants || [];
  const lifts = variants.map((v) => ({ value: v.lift ?? null, low: v.ci_low ?? null, high: v.ci_high ?? null }));
  const bounds = lifts.flatMap((e) => [e.low, e.high]).filter((v) => typeof v === "number");
  const min = Math.min(0, ...bounds);
  const max = Math.max(0, ...bounds);
  const rows = variants.map((v, i) => {
    const isControl = v.variant === experiment.control;
    return [
      h("th", { scope: "row" }, v.variant, isControl ? h("span", { class: "tag" }, "control") : null),
      v.impressions ?? 0,
      v.clicks ?? 0,
      h("td", { class: "num" }, fmt.fraction(v.ctr)),
      h("td", { class: "num" }, isControl ? "–" : fmt.interval(lifts[i], fmt.signedFraction)),
      h("td", {}, isControl ? null : intervalBar(lifts[i], min, max)),
      h("td", { class: "num" }, isControl ? "–" : fmt.number(v.p_value, 4)),
    ];
  });
  return table(
    `Lift over ${experiment.control || "the control"} (95 % interval)`,
    ["Variant", "Impressions", "Clicks", "CTR", "Lift (interval)", "Interval", "p-value"], rows,
    { class: "variants" },
  );
}

const METHODS = [["ips", "IPS"], ["snips", "SNIPS"], ["dr", "DR"]];

/** A method's estimate with its interval, or why the method could not estimate it. */
function estimateCell(target, method) {
  const estimates = target.estimates || target;
  const est = fmt.estimate(estimates[method]);
  const why = (target.errors || {})[method];
  if (est.value === null && why) return h("td", { class: "note" }, why);
  return h("td", { class: "num" }, fmt.interval(est, (v) => fmt.number(v, 4)));
}

function offPolicy(experiment) {
  const ope = experiment.off_policy;
  if (!ope) return h("p", { class: "note" }, "No off-policy estimates for this experiment (no bandit logs its propensities here).");
  const targets = ope.targets || ope.policies || [];
  const rows = targets.map((t) => [
    h("th", { scope: "row" }, t.target ?? t.name),
    ...METHODS.map(([method]) => estimateCell(t, method)),
    h("td", { class: "num" }, fmt.number(t.ess, 1)),
  ]);
  const level = typeof ope.level === "number" ? `${Math.round(ope.level * 100)} %` : "95 %";
  const read = ope.complete === false && typeof ope.hours_read === "number"
    ? ` (only the latest ${fmt.number(ope.hours_read, 1)} h read in time)` : "";
  const about = [
    typeof ope.decisions === "number" ? `${fmt.count(ope.decisions)} decisions` : null,
    typeof ope.observed === "number" ? `${fmt.count(ope.observed)} observed` : null,
    ope.unit ? `reward: ${ope.unit}` : null,
    ope.state_version ? `state ${ope.state_version}` : null,
  ].filter(Boolean).join(" · ");
  return h("div", { class: "off-policy-block" },
    h("h4", {}, "Off-policy estimates"),
    h("p", { class: "note" }, `From the ${ope.bandit || "bandit"} bandit's log of the last ${ope.hours ?? "?"} h${read}.`,
      about ? ` ${about}.` : ""),
    targets.length
      ? table(`What each policy would have earned (${level} bootstrap intervals)`,
        ["Policy", ...METHODS.map(([, name]) => name), "Effective sample size"], rows, { class: "off-policy" })
      : h("p", { class: "empty" }, "Nothing in the log to estimate from yet."));
}

export function render(body, answer) {
  const experiments = answer.experiments || [];
  if (experiments.length === 0) {
    body.append(h("p", { class: "empty" }, "No experiments are running."));
    return;
  }
  for (const experiment of experiments) {
    const block = h("article", { class: "experiment", dataset: { experiment: experiment.name } },
      h("h3", {}, `Experiment ${experiment.name}`));
    body.append(block);
    const series = Object.entries(experiment.series || {});
    chart(block, {
      step: answer.period_s, title: "CTR per variant", unit: "%",
      series: series.map(([variant, s]) => ({
        label: variant,
        timestamps: s.timestamps || [],
        values: (s.ctr || []).map((v) => (typeof v === "number" ? v * 100 : null)),
      })),
      format: (v) => fmt.percent(v, 2),
    });
    block.append(variantsTable(experiment), offPolicy(experiment));
  }
}
