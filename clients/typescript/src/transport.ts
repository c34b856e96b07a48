/**
 * One call of the API over HTTP, as the `fetch` openapi-fetch uses: the credentials of each
 * attempt, a timeout per attempt (an AbortController), retries with backoff on 429/503 and on
 * failed connections and timeouts, honouring Retry-After.
 *
 * Each attempt reads the whole answer before its timeout ends, so the timeout bounds a slow body
 * too, and openapi-fetch gets an answer already in memory.
 */
import type { Auth } from "./auth.js";
import { retryAfterMs, TimeoutError, TransportError } from "./errors.js";
import { RetryPolicy } from "./retry.js";

export const DEFAULT_TIMEOUT_MS = 10_000;
/**
 * The console's admin routes: their function may take API Gateway's whole 29 s (reading metrics,
 * a bandit's log), and a retry after a premature timeout would only repeat the work.
 */
export const ADMIN_TIMEOUT_MS = 30_000;
const NULL_BODY_STATUSES = [101, 103, 204, 205, 304];

export interface TransportOptions {
  auth?: Auth | undefined;
  /** Per attempt. */
  timeoutMs: number;
  retry: RetryPolicy;
  /** The fetch to send with; default `globalThis.fetch`. */
  fetch?: typeof fetch | undefined;
  /** Headers of every request (e.g. User-Agent in Node). */
  headers?: Record<string, string> | undefined;
  /** Jitter's random numbers in [0, 1) (tests). */
  random?: (() => number) | undefined;
}

/** Why an attempt's own controller aborted it. */
class AttemptTimedOut extends Error {}

/** Wait `ms`, or until `signal` aborts (then throw its reason). */
export function sleep(ms: number, signal?: AbortSignal | null): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const done = (): void => {
      signal?.removeEventListener("abort", aborted);
      resolve();
    };
    const timer = setTimeout(done, ms);
    const aborted = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener("abort", aborted, { once: true });
  });
}

interface Attempt {
  response?: Response;
  error?: TransportError;
}

/** The `fetch` of a client: sends `request` with retries, returns the last answer. */
export function transportFetch(options: TransportOptions): (request: Request) => Promise<Response> {
  const send = options.fetch ?? globalThis.fetch.bind(globalThis);
  const { retry, timeoutMs } = options;

  async function attempt(
    request: Request,
    url: URL,
    body: Uint8Array | undefined,
    caller: AbortSignal,
  ): Promise<Attempt> {
    const headers = new Headers(request.headers);
    for (const [name, value] of Object.entries(options.headers ?? {})) {
      if (!headers.has(name)) headers.set(name, value);
    }
    // credentials per attempt: a signature's date must be fresh, a token may have been refreshed
    await options.auth?.apply({ method: request.method, url, headers, body });
    const controller = new AbortController();
    const onAbort = (): void => controller.abort(caller.reason);
    caller.addEventListener("abort", onAbort, { once: true });
    const timer = setTimeout(() => controller.abort(new AttemptTimedOut()), timeoutMs);
    try {
      const response = await send(url, {
        method: request.method,
        headers,
        body: body as BodyInit | undefined,
        signal: controller.signal,
        redirect: "follow",
      });
      const bytes = await response.arrayBuffer();
      const nullBody = NULL_BODY_STATUSES.includes(response.status);
      return {
        response: new Response(nullBody ? null : bytes, {
          status: response.status,
          statusText: response.statusText,
          headers: response.headers,
        }),
      };
    } catch (error) {
      if (caller.aborted) throw caller.reason; // the caller gave up: no retry
      const where = `${request.method} ${url.pathname}`;
      if (controller.signal.reason instanceof AttemptTimedOut) {
        return { error: new TimeoutError(`${where}: no answer within ${timeoutMs} ms`) };
      }
      if (error instanceof TypeError) {
        // fetch's "network error" (connection refused or reset, DNS, TLS, CORS in a browser)
        const cause = (error as { cause?: unknown }).cause;
        const detail = cause instanceof Error ? `${error.message}: ${cause.message}` : error.message;
        return { error: new TransportError(`${where}: ${detail}`, { cause: error }) };
      }
      throw error;
    } finally {
      clearTimeout(timer);
      caller.removeEventListener("abort", onAbort);
    }
  }

  return async (request: Request): Promise<Response> => {
    const url = new URL(request.url);
    const body = request.body === null ? undefined : new Uint8Array(await request.arrayBuffer());
    const caller = request.signal;
    for (let number = 1; ; number += 1) {
      const { response, error } = await attempt(request, url, body, caller);
      const retryable = response
        ? retry.statuses.includes(response.status)
        : retry.onTransportErrors;
      const wait =
        retryable && number < retry.maxAttempts
          ? retry.delay(number, response && retryAfterMs(response.headers), options.random)
          : undefined;
      if (wait === undefined) {
        if (response) return response;
        throw error;
      }
      await sleep(wait, caller);
    }
  };
}
