// Calls to the admin API (same origin, relative URLs) with the operator's ID token, a time
// limit, and every failure as an ApiError carrying the API's code, message and field.

export const TIMEOUT_MS = 35_000; // the admin function's 29 s plus the gateway's own time

/** A refused or failed call: HTTP status (0 when no answer came), code, message, field. */
export class ApiError extends Error {
  constructor(status, code, message, field = null) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.field = field;
  }
}

// API Gateway's own refusals carry only a message: a code for them by status.
const GATEWAY_CODES = {
  401: "unauthorized", 403: "forbidden", 413: "payload_too_large", 429: "throttled",
  502: "bad_gateway", 504: "gateway_timeout",
};

/** The ApiError for an answer that is not a success (its JSON error body, else the status). */
export async function errorOf(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  const code = (body && typeof body.code === "string" && body.code) ||
    GATEWAY_CODES[response.status] || `http_${response.status}`;
  const message = (body && typeof body.message === "string" && body.message) ||
    response.statusText || `HTTP ${response.status}`;
  const field = body && typeof body.field === "string" ? body.field : null;
  return new ApiError(response.status, code, message, field);
}

/**
 * `method path` on the API with `token` in Authorization; the parsed JSON answer, or an
 * ApiError (a network failure: status 0, code "network_error"; over `timeoutMs`: "timeout").
 */
export async function call(path, { token, method = "GET", body, timeoutMs = TIMEOUT_MS } = {}) {
  const headers = { Accept: "application/json" };
  if (token) headers.Authorization = token;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
      credentials: "omit",
      cache: "no-store",
    });
  } catch (exc) {
    if (exc && (exc.name === "TimeoutError" || exc.name === "AbortError")) {
      throw new ApiError(0, "timeout", `${method} ${path}: no answer within ${timeoutMs / 1000} s`);
    }
    throw new ApiError(0, "network_error", `${method} ${path}: ${exc && exc.message ? exc.message : exc}`);
  }
  if (!response.ok) throw await errorOf(response);
  try {
    return await response.json();
  } catch {
    throw new ApiError(response.status, "bad_answer", `${method} ${path}: the answer is not JSON`);
  }
}
