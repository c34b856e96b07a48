// Numbers, rates, intervals and times as the panels show them.

const NONE = "–";

/** A count with thousands separators. */
export function count(value) {
  return typeof value === "number" && Number.isFinite(value) ? value.toLocaleString("en-GB") : NONE;
}

/** A plain number with at most `digits` decimals. */
export function number(value, digits = 3) {
  if (typeof value !== "number" || !Number.isFinite(value)) return NONE;
  return value.toLocaleString("en-GB", { maximumFractionDigits: digits });
}

/** A fraction (0.123) as a percentage ("12.30 %"). */
export function fraction(value, digits = 2) {
  if (typeof value !== "number" || !Number.isFinite(value)) return NONE;
  return `${(value * 100).toFixed(digits)} %`;
}

/** A value already in percent (12.3) as "12.3 %". */
export function percent(value, digits = 1) {
  if (typeof value !== "number" || !Number.isFinite(value)) return NONE;
  return `${value.toFixed(digits)} %`;
}

/** A relative change (0.063) with its sign, as a percentage ("+6.30 %"). */
export function signedFraction(value, digits = 2) {
  if (typeof value !== "number" || !Number.isFinite(value)) return NONE;
  const sign = value > 0 ? "+" : value < 0 ? "−" : "";
  return `${sign}${Math.abs(value * 100).toFixed(digits)} %`;
}

/** Milliseconds ("12.3 ms"). */
export function ms(value) {
  if (typeof value !== "number" || !Number.isFinite(value)) return NONE;
  return `${value.toLocaleString("en-GB", { maximumFractionDigits: 1 })} ms`;
}

/** An ISO-8601 time in the operator's time zone ("2026-12-06 14:05"), or the text as given. */
export function time(iso) {
  if (!iso) return NONE;
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return String(iso);
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ` +
    `${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/** Any JSON value as short text (objects as `key: value` pairs). */
export function plain(value) {
  if (value === null || value === undefined) return NONE;
  if (typeof value === "number") return number(value, 4);
  if (typeof value === "boolean") return value ? "yes" : "no";
  if (Array.isArray(value)) return value.map(plain).join(", ");
  if (typeof value === "object") {
    return Object.entries(value).map(([key, inner]) => `${key}: ${plain(inner)}`).join("; ");
  }
  return String(value);
}

/**
 * An estimate with its interval, whichever way an answer spells it: a number, or an object with
 * `value`/`estimate`/`mean` and `low`/`ci_low`/`lower` and `high`/`ci_high`/`upper`.
 * Returns `{value, low, high}` (null where absent).
 */
export function estimate(raw) {
  if (typeof raw === "number") return { value: raw, low: null, high: null };
  if (!raw || typeof raw !== "object") return { value: null, low: null, high: null };
  const pick = (...keys) => {
    for (const key of keys) if (typeof raw[key] === "number") return raw[key];
    return null;
  };
  return {
    value: pick("value", "estimate", "mean", "point"),
    low: pick("low", "ci_low", "lower", "lo"),
    high: pick("high", "ci_high", "upper", "hi"),
  };
}

/** "0.123 (0.101 to 0.140)" for an estimate, with `show` formatting each number. */
export function interval(est, show = (v) => number(v, 4)) {
  if (est.value === null) return NONE;
  if (est.low === null || est.high === null) return show(est.value);
  return `${show(est.value)} (${show(est.low)} to ${show(est.high)})`;
}
