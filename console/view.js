// What every panel shares: an API error shown with its status, code, message and field, and a
// panel's state (loading, ready, error) on its section for people and for the browser tests.

import { h, fill } from "./dom.js";
import { destroyIn } from "./charts.js";
import { time } from "./format.js";

/** An alert naming the error's HTTP status, code, message and field. */
export function errorBox(err) {
  const status = err && typeof err.status === "number" && err.status > 0 ? `${err.status} ` : "";
  const code = (err && err.code) || "error";
  const message = (err && err.message) || String(err);
  return h(
    "div",
    { class: "error", role: "alert", dataset: { code, status: String((err && err.status) || 0) } },
    h("strong", { class: "error-code" }, `${status}${code}`),
    ": ",
    h("span", { class: "error-message" }, message),
    err && err.field ? [" ", h("span", { class: "error-field" }, `(field: ${err.field})`)] : null,
  );
}

const latest = new WeakMap(); // section -> the number of its latest load

/**
 * Load a panel: `section.dataset.state` goes "loading", then "ready" with `render(answer)` in
 * its body, or "error" with the error shown. An unauthorised answer (401) is passed to
 * `onUnauthorized` instead (back to sign-in). Returns the answer, or null.
 */
export async function load(section, fetchAnswer, render, onUnauthorized) {
  const body = section.querySelector(".panel-body");
  const status = section.querySelector(".panel-status");
  const ticket = (latest.get(section) || 0) + 1; // a later load of the panel wins
  latest.set(section, ticket);
  section.dataset.state = "loading";
  section.setAttribute("aria-busy", "true");
  fill(status, "Loading…");
  try {
    const answer = await fetchAnswer();
    if (latest.get(section) !== ticket) return null;
    destroyIn(body);
    fill(body);
    render(body, answer);
    fill(status, answer && answer.generated_at ? `As of ${time(answer.generated_at)} (this browser's time zone)` : "");
    section.dataset.state = "ready";
    return answer;
  } catch (err) {
    if (latest.get(section) !== ticket) return null;
    if (err && err.status === 401 && onUnauthorized) {
      onUnauthorized(err);
      return null;
    }
    destroyIn(body);
    fill(body, errorBox(err));
    fill(status, "");
    section.dataset.state = "error";
    if (!(err && err.name === "ApiError")) console.error(err); // a bug of ours: the tests fail on it
    return null;
  } finally {
    if (latest.get(section) === ticket) section.removeAttribute("aria-busy");
  }
}
