/**
 * Errors: every answer other than a success is an {@link ApiError} carrying the API's `code`,
 * `message` and `field`, of the subclass of its status; a request that got no answer is a
 * {@link TransportError} ({@link TimeoutError} when the client's timeout ran out).
 *
 * API Gateway's own refusals (`{"message": ...}`, no code) get the code of their
 * `x-amzn-ErrorType` header, else one named after the status.
 */

/** The code of an answer without one (the API's own codes, API Gateway's statuses). */
export const STATUS_CODES: Readonly<Record<number, string>> = {
  400: "invalid_request",
  401: "unauthorized",
  403: "forbidden",
  404: "not_found",
  413: "payload_too_large",
  414: "uri_too_long",
  415: "unsupported_media_type",
  429: "throttled",
  500: "internal_error",
  502: "bad_gateway",
  503: "unavailable",
  504: "gateway_timeout",
};

/** Anything this client throws about a call. */
export class MusicRecError extends Error {
  override name = "MusicRecError";
}

/** The API answered with an error status. */
export class ApiError extends MusicRecError {
  override name = "ApiError";
  /** The HTTP status. */
  readonly status: number;
  /** The API's code (`invalid_request`, `forbidden`, ...) or API Gateway's error type. */
  readonly code: string;
  /** The request field the error is about (`limit`, `events.0.user_id`), when the API names one. */
  readonly field: string | undefined;
  /** How long the API asked to wait (Retry-After), in milliseconds. */
  readonly retryAfterMs: number | undefined;
  /** The decoded JSON answer (or its text). */
  readonly body: unknown;

  constructor(
    status: number,
    code: string,
    message: string,
    field?: string,
    retryAfterMs?: number,
    body?: unknown,
  ) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field;
    this.retryAfterMs = retryAfterMs;
    this.body = body;
  }

  override toString(): string {
    return `${this.name}: ${this.status} ${this.code}: ${this.message}`;
  }
}

/** A 4xx: the request, its credentials or its rate were wrong. */
export class ClientError extends ApiError {
  override name = "ClientError";
}

/** 400, 413, 414, 415, 422: the request does not fit the API (`field` names what). */
export class ValidationError extends ClientError {
  override name = "ValidationError";
}

/** 401 or 403: no credentials, invalid ones, or ones that may not do this. */
export class AuthError extends ClientError {
  override name = "AuthError";
}

/** 404: no list for this song or artist, no such song, or no such route. */
export class NotFound extends ClientError {
  override name = "NotFound";
}

/** 429: throttled (`retryAfterMs`: how long the API asked to wait). */
export class RateLimited extends ClientError {
  override name = "RateLimited";
}

/** 5xx: the API or a service behind it failed; retrying later may succeed. */
export class ServerError extends ApiError {
  override name = "ServerError";
}

/** No answer: the connection failed, or the request timed out. */
export class TransportError extends MusicRecError {
  override name = "TransportError";
}

/** No answer within the client's timeout (per attempt). */
export class TimeoutError extends TransportError {
  override name = "TimeoutError";
}

/** An event refused before it was buffered (it would have made its whole batch fail). */
export class InvalidEventError extends MusicRecError {
  override name = "InvalidEventError";
  readonly field: string;

  constructor(field: string, message: string) {
    super(`${field}: ${message}`);
    this.field = field;
  }
}

/** `maxPending` events wait already (the API has been failing): flush first. */
export class BufferFullError extends MusicRecError {
  override name = "BufferFullError";
}

type ApiErrorClass = new (...args: ConstructorParameters<typeof ApiError>) => ApiError;

function classOf(status: number): ApiErrorClass {
  if (status === 401 || status === 403) return AuthError;
  if (status === 404) return NotFound;
  if (status === 429) return RateLimited;
  if ([400, 413, 414, 415, 422].includes(status)) return ValidationError;
  if (status >= 400 && status < 500) return ClientError;
  if (status >= 500) return ServerError;
  return ApiError;
}

/**
 * The answer's Retry-After in milliseconds (delta-seconds or an HTTP date); undefined if absent or
 * unreadable.
 */
export function retryAfterMs(headers: Headers, now: number = Date.now()): number | undefined {
  const value = headers.get("retry-after")?.trim();
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Math.max(0, Number(value) * 1000);
  const when = /[a-z]/i.test(value) ? Date.parse(value) : Number.NaN; // an HTTP date has a day name
  return Number.isNaN(when) ? undefined : Math.max(0, when - now);
}

/** The error for an answer with an error status; `body` is its decoded JSON, or its text. */
export function errorFrom(response: Response, body: unknown): ApiError {
  const { status } = response;
  const fallback =
    response.headers.get("x-amzn-errortype") ?? STATUS_CODES[status] ?? `http_${status}`;
  let code = fallback;
  let message = response.statusText || `HTTP ${status}`;
  let field: string | undefined;
  if (body !== null && typeof body === "object" && !Array.isArray(body)) {
    const fields = body as Record<string, unknown>;
    code = fields.code ? String(fields.code) : fallback;
    const text = fields.message ?? fields.Message;
    if (text) message = String(text);
    if (fields.field !== undefined && fields.field !== null) field = String(fields.field);
  } else if (typeof body === "string" && body.trim()) {
    message = body.trim().slice(0, 500);
  }
  const Class = classOf(status);
  return new Class(status, code, message, field, retryAfterMs(response.headers), body);
}
