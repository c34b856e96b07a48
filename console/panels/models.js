// Models and batch versions: each training run's gate verdict and metrics against the
// baselines, the serving model, the active and previous batch versions, the next scheduled run
// (GET /v1/admin/models), and the rollback of the batch lists with a confirmation
// (POST /v1/admin/batch/rollback).

import { h, fill, facts, table } from "../dom.js";
import * as fmt from "../format.js";
import { errorBox } from "../view.js";

const KNOWN_TIME = /(_at|^next_run|time)$/;
let done = null; // a rollback's outcome, shown once the panel is drawn again with the new state

/** An object's fields as facts, those without a value left out (all of them: "–"). */
function factsOf(object) {
  const given = Object.entries(object || {}).filter(([, value]) => value !== null && value !== undefined);
  if (given.length === 0) return h("p", { class: "empty" }, "Nothing recorded.");
  return facts(given.map(([key, value]) => [
    key.replace(/_/g, " "),
    KNOWN_TIME.test(key) && typeof value === "string" ? fmt.time(value) : fmt.plain(value),
  ]));
}

/** A run's metrics against the baselines: a row per model, a column per metric, each value
 * with its 95 % interval (`{model: {metric: {value, low, high}}}`, or plain numbers). */
function metricsTable(metrics) {
  const models = Object.entries(metrics || {}).filter(([, values]) => values && typeof values === "object");
  if (models.length === 0) return null;
  const names = [...new Set(models.flatMap(([, values]) => Object.keys(values)))];
  const rows = models.map(([model, values]) => [
    h("th", { scope: "row" }, model),
    ...names.map((name) => h("td", { class: "num" }, fmt.interval(fmt.estimate(values[name]), (v) => fmt.number(v, 4)))),
  ]);
  return table("Metrics of the run's model and of the baselines (95 % intervals)", ["Model", ...names], rows, { class: "metrics" });
}

function checkItem(check) {
  if (!check || typeof check !== "object") return h("li", {}, fmt.plain(check));
  const mark = check.passed === true ? "passed" : check.passed === false ? "failed" : null;
  const { check: name, name: other, passed: _p, detail, ...rest } = check;
  const text = detail ?? (Object.keys(rest).length ? fmt.plain(rest) : "");
  return h("li", { class: mark ? `check-${mark}` : null },
    mark ? h("span", { class: `verdict verdict-${mark}` }, mark) : null, " ",
    h("strong", {}, name ?? other ?? ""), text ? ": " : "", h("span", {}, text));
}

function verdictOf(run) {
  return run.passed === true ? "passed" : run.passed === false ? "refused" : "unknown";
}

/** One training run: its verdict and reason, what it was trained on, metrics, gate checks. */
function runView(run, open) {
  const verdict = verdictOf(run);
  const details = h("details", { class: "run", open, dataset: { run: run.run_id || "", verdict } },
    h("summary", {},
      h("span", { class: `verdict verdict-${verdict}` }, verdict), " ",
      h("strong", {}, run.run_id || "run"), " · finished ", fmt.time(run.finished_at),
      run.model_version ? ` · model ${run.model_version}` : ""),
    facts([
      ["started", fmt.time(run.started_at)],
      ["finished", fmt.time(run.finished_at)],
      ["model version", run.model_version ?? "–"],
      ["compared with", run.baseline_model ?? "the baselines only"],
      ["test listeners", fmt.count(run.n_test_users)],
      ["gate", run.reason ?? "–"],
      ...(run.note ? [["note", run.note]] : []),
      ...(run.complete === false ? [["complete", "no: the run did not finish"]] : []),
      ...(run.unreadable ? [["unreadable", fmt.plain(run.unreadable)]] : []),
    ]),
    metricsTable(run.metrics),
    run.checks && run.checks.length
      ? [h("h5", {}, "The gate's checks"), h("ul", { class: "checks" }, run.checks.map(checkItem))]
      : null);
  return details;
}

function runsView(runs, truncated) {
  if (!runs || runs.length === 0) return h("p", { class: "empty" }, "No training run is recorded yet.");
  return h("div", { class: "runs" },
    h("h3", {}, "Training runs, newest first"),
    truncated ? h("p", { class: "note" }, `The latest ${runs.length} runs.`) : null,
    runs.map((run, i) => runView(run, i === 0)));
}

/**
 * The confirmation text naming the version the rollback leaves and the one it makes active
 * (when no previous version is recorded, it says the API will refuse: the server decides, since
 * another version may have been loaded since this page read the state).
 */
export function confirmation(batch) {
  if (!batch.previous) {
    return `Roll back the batch lists?\n\nThis would leave ${batch.active}, but no previous version ` +
      "is recorded to make active: the API will refuse unless one was loaded since.";
  }
  const partial = batch.rollback_possible === false
    ? `\n\n${batch.previous} is not completely loaded any more: the API will refuse.` : "";
  return `Roll back the batch lists?\n\nThis leaves ${batch.active} and makes ${batch.previous} ` +
    `the active version again for every listener.${partial}`;
}

function rollbackControl(batch, ctx) {
  const outcome = h("div", { class: "rollback-outcome", "aria-live": "polite" },
    done ? h("p", { class: "ok", dataset: { outcome: "done" } }, done) : null);
  done = null;
  const button = h("button", {
    type: "button", class: "danger", id: "rollback", disabled: !batch.active,
    dataset: { active: batch.active || "", previous: batch.previous || "" },
  }, batch.previous ? `Roll back to ${batch.previous}…` : "Roll back…");
  button.addEventListener("click", async () => {
    if (!window.confirm(confirmation(batch))) {
      fill(outcome, h("p", { class: "note", dataset: { outcome: "cancelled" } }, `Rollback cancelled: ${batch.active} stays active.`));
      return;
    }
    button.disabled = true;
    fill(outcome, h("p", {}, "Rolling back…"));
    try {
      const answer = await ctx.call("/v1/admin/batch/rollback", { method: "POST", body: { expected_active: batch.active } });
      done = `Rolled back from ${answer.rolled_back_from}: ${answer.active} is active.`;
      fill(outcome, h("p", { class: "ok", dataset: { outcome: "done" } }, done));
      await ctx.reload();
    } catch (err) {
      if (err && err.status === 401) return ctx.onUnauthorized(err);
      fill(outcome, errorBox(err));
      button.disabled = false;
    }
  });
  return h("div", { class: "rollback" },
    button,
    batch.previous ? null : h("p", { class: "note" }, "No previous version is recorded."),
    outcome);
}

export function render(body, answer, ctx) {
  const batch = answer.batch || {};
  const schedule = answer.schedule || {};
  body.append(h("div", { class: "cards" },
    h("div", { class: "card", dataset: { card: "model" } }, h("h3", {}, "Onboarding model"), factsOf(answer.model)),
    h("div", { class: "card", dataset: { card: "batch" } }, h("h3", {}, "Batch lists"),
      facts([["active", batch.active ?? "none"], ["since", fmt.time(batch.switched_at)],
        ["previous", batch.previous ?? "none"]]),
      rollbackControl(batch, ctx)),
    h("div", { class: "card", dataset: { card: "schedule" } }, h("h3", {}, "Retraining schedule"), factsOf(schedule)),
  ));
  const versions = batch.versions || [];
  if (versions.length) {
    const rows = versions.map((v) => {
      const entry = typeof v === "object" && v !== null ? v : { version: v };
      const { version, role, ...rest } = entry;
      const named = role ?? (version === batch.active ? "active" : version === batch.previous ? "previous" : "");
      const about = Object.entries(rest).map(([key, value]) => `${key.replace(/_/g, " ")}: ${
        KNOWN_TIME.test(key) && typeof value === "string" ? fmt.time(value) : fmt.plain(value)}`).join("; ");
      return [h("th", { scope: "row" }, version ?? fmt.plain(entry)), h("td", {}, named), h("td", {}, about || "–")];
    });
    body.append(table("Batch versions", ["Version", "Role", "Details"], rows, { class: "versions" }));
  }
  body.append(runsView(answer.runs, answer.runs_truncated));
}
