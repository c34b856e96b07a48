// "Try it": what a new listener with these answers would get (POST
// /v1/admin/preview/onboarding) and what a known listener sees (GET
// /v1/admin/listeners/{userId}/preview), each list with its reasons; nothing is recorded.

import { h, fill, facts, table } from "../dom.js";
import * as fmt from "../format.js";

const MAX_ROWS = 10;

/** The onboarding request of docs/api.md from the form (empty fields left out). */
export function onboardingRequest(form) {
  const data = new FormData(form);
  const request = {};
  const age = String(data.get("age") || "").trim();
  if (age) request.age = Number(age);
  if (data.get("gender")) request.gender = data.get("gender");
  const region = String(data.get("region") || "").trim();
  if (region) request.region = region;
  request.selected_genres = String(data.get("genres") || "")
    .split(",").map((g) => g.trim()).filter(Boolean);
  const userId = String(data.get("user_id") || "").trim();
  if (userId) request.user_id = userId;
  const limit = String(data.get("limit") || "").trim();
  if (limit) request.limit = Number(limit);
  return request;
}

function itemName(item) {
  return item.title ?? item.name ?? item.id ?? fmt.plain(item);
}

/** A list's items as a table: rank, name, id, genre, the chart it came from, score. */
function itemsTable(caption, items, kind) {
  const shown = (items || []).slice(0, MAX_ROWS);
  if (shown.length === 0) return h("p", { class: "empty", dataset: { list: kind } }, `${caption}: nothing.`);
  const rows = shown.map((item, i) => [
    i + 1,
    h("th", { scope: "row" }, itemName(item)),
    h("td", {}, item.id ?? item.item_id ?? item.artist_id ?? "–"),
    h("td", {}, item.genre ?? "–"),
    h("td", {}, item.chart ?? (item.chart === null ? "personal" : "–")),
    h("td", { class: "num" }, fmt.number(item.score, 3)),
  ]);
  const more = (items || []).length > MAX_ROWS ? ` (first ${MAX_ROWS} of ${items.length})` : "";
  const listed = table(`${caption}${more}`, ["#", "Name", "Id", "Genre", "Chart", "Score"], rows,
    { class: "items", dataset: { list: kind, count: String((items || []).length) } });
  if (!more) listed.querySelector("caption").classList.add("visually-hidden"); // a heading names it
  return listed;
}

/** The reasons of a list: where it came from (source), the variant, and any reason text. */
function reasons(list, extra = []) {
  const pairs = [];
  if (list.source) pairs.push(["source", list.source]);
  if (list.variant) pairs.push(["variant", list.variant]);
  if (list.model_version) pairs.push(["model version", list.model_version]);
  if (list.reason) pairs.push(["why", fmt.plain(list.reason)]);
  return facts([...pairs, ...extra], { class: "facts reasons" });
}

function warnings(answer) {
  const list = answer.warnings || [];
  if (!list.length) return null;
  return h("ul", { class: "warnings" }, list.map((w) => h("li", {}, `${w.field}: ${w.message}`)));
}

/** A reason of the preview (`{source, text, charts, ...}`): its source and its text. */
function reasonNote(reason) {
  if (!reason) return null;
  if (typeof reason !== "object") return h("p", { class: "reason" }, String(reason));
  const charts = Array.isArray(reason.charts) && reason.charts.length
    ? ` Charts: ${reason.charts.join(", ")}.` : "";
  return h("p", { class: "reason", dataset: { source: reason.source || "" } },
    reason.source ? h("span", { class: "tag" }, reason.source) : null, " ",
    reason.text ? `${reason.text}.` : fmt.plain(reason), charts);
}

function assignmentOf(answer) {
  const how = answer.assignment || {};
  if (how.by === "variant") return "asked for";
  if (how.by && how.unit) return `assigned to ${how.by} ${how.unit}`;
  return how.by || "–";
}

/** The onboarding preview: the variant and source, genres, then stations, songs and artists. */
export function renderOnboarding(out, answer) {
  const why = answer.reasons || {};
  const genres = (answer.genres || []).map((g) => `${g.genre} (${fmt.number(g.score, 3)})`).join(", ");
  fill(out,
    h("h4", {}, "What this new listener would get"),
    reasons(answer, [["variant chosen", assignmentOf(answer)], ["region", answer.region ?? "–"],
      ["genres", genres || "–"], ["batch version", answer.batch_version ?? "–"]]),
    warnings(answer),
    h("div", { class: "list", dataset: { list: "genres" } }, h("h5", {}, "Genres"), reasonNote(why.genres)),
    ...["stations", "songs", "artists"].map((kind) => h("div", { class: "list" },
      h("h5", {}, kind[0].toUpperCase() + kind.slice(1)),
      reasonNote(why[kind]),
      itemsTable(kind[0].toUpperCase() + kind.slice(1), answer[kind], kind))),
  );
}

function carousel(c) {
  const about = [];
  if (typeof c.position === "number") about.push(`position ${c.position}`);
  if (typeof c.propensity === "number") about.push(`propensity ${fmt.number(c.propensity, 3)}`);
  if (c.seed) about.push(`seed ${c.seed}`);
  return h("div", { class: "list carousel", dataset: { kind: c.kind } },
    h("h6", {}, c.title || c.kind),
    h("p", { class: "note" }, c.source ? h("span", { class: "tag" }, c.source) : null, " ",
      `${c.kind}`, about.length ? ` · ${about.join(" · ")}` : ""),
    itemsTable(c.title || c.kind, c.items, c.kind));
}

/** The listener preview: what is known of them, the home screen's carousels in order, then
 * their personal songs and artists, each with its source and variant. */
export function renderListener(out, answer) {
  const known = answer.listener || {};
  fill(out, h("h4", {}, `Listener ${answer.user_id}`),
    facts([
      ["batch list", known.has_list ? "yes" : "no"],
      ["onboarded", known.onboarded ? "yes" : "no"],
      ["recent plays", fmt.count(known.recent_plays)],
      ["days since sign-up", fmt.number(known.days_since_signup, 1)],
      ["batch version", answer.batch_version ?? "–"],
    ]));
  const home = answer.home || {};
  out.append(h("section", { class: "preview-part", "aria-label": "Home screen" },
    h("h5", {}, "Home screen"),
    reasons(home, home.policy ? [["policy", fmt.plain(home.policy)]] : []),
    warnings(home),
    (home.carousels || []).map(carousel)));
  for (const [key, title] of [["songs", "Songs for you"], ["artists", "Artists for you"]]) {
    const list = answer[key] || {};
    out.append(h("section", { class: "preview-part", "aria-label": title },
      h("h5", {}, title), reasons(list), warnings(list), itemsTable(title, list.items, key)));
  }
}
