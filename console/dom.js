// Building elements without HTML strings: every text goes in as a text node, so nothing an API
// answer holds can become markup.

/**
 * An element: `h("td", {class: "num"}, "42")`. Attributes: `class`, `dataset` (an object),
 * `on<event>` (a listener), `false`/`null`/`undefined` left out, `true` as an empty attribute.
 * Children: nodes, strings, numbers, arrays of them; null and false are skipped.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : String(child));
  }
}

/** Replace the children of `el` with `children`. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** A table with a caption, column headers (`scope="col"`) and rows of cells. */
export function table(caption, headers, rows, attrs = {}) {
  return h(
    "table",
    attrs,
    caption ? h("caption", {}, caption) : null,
    h("thead", {}, h("tr", {}, headers.map((name) => h("th", { scope: "col" }, name)))),
    h("tbody", {}, rows.map((cells) => h("tr", {}, cells.map((cell) => cellOf(cell))))),
  );
}

function cellOf(cell) {
  if (cell instanceof Node && (cell.tagName === "TD" || cell.tagName === "TH")) return cell;
  return h("td", typeof cell === "number" ? { class: "num" } : {}, cell);
}

/** A definition list of `[term, description]` pairs. */
export function facts(pairs, attrs = {}) {
  return h("dl", { class: "facts", ...attrs }, pairs.map(([term, value]) => [h("dt", {}, term), h("dd", {}, value)]));
}
