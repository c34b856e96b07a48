/**
 * When to retry a call and how long to wait: exponential backoff with full jitter, at most
 * `maxAttempts` attempts, honouring the API's Retry-After.
 */

export const RETRY_STATUSES: readonly number[] = [429, 503];

/** Retries of a call on a retryable status (429, 503) or a failed connection or timeout. */
export interface RetryOptions {
  /** Attempts in all, the first included (1: no retries). Default 4. */
  maxAttempts?: number;
  /** The first retry waits up to this long; each further one up to twice as long. Default 250. */
  baseDelayMs?: number;
  /** The longest backoff. Default 8000. */
  maxDelayMs?: number;
  /** A Retry-After longer than this is not waited for: the error is thrown at once. Default 30000. */
  maxRetryAfterMs?: number;
  /** The statuses retried. Default 429 and 503. */
  statuses?: readonly number[];
  /** Whether failed connections and timeouts are retried. Default true. */
  onTransportErrors?: boolean;
}

/**
 * The n-th retry waits a random time in [0, min(maxDelayMs, baseDelayMs * 2^(n-1))] ("full
 * jitter"), or the answer's Retry-After when it gives one.
 */
export class RetryPolicy {
  readonly maxAttempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  readonly maxRetryAfterMs: number;
  readonly statuses: readonly number[];
  readonly onTransportErrors: boolean;

  constructor(options: RetryOptions = {}) {
    this.maxAttempts = options.maxAttempts ?? 4;
    this.baseDelayMs = options.baseDelayMs ?? 250;
    this.maxDelayMs = options.maxDelayMs ?? 8000;
    this.maxRetryAfterMs = options.maxRetryAfterMs ?? 30_000;
    this.statuses = options.statuses ?? RETRY_STATUSES;
    this.onTransportErrors = options.onTransportErrors ?? true;
    if (!Number.isInteger(this.maxAttempts) || this.maxAttempts < 1) {
      throw new RangeError("maxAttempts: an integer, at least 1");
    }
    if (this.baseDelayMs < 0 || this.maxDelayMs < 0 || this.maxRetryAfterMs < 0) {
      throw new RangeError("delays: not negative");
    }
  }

  /** The backoff before retry number `retry` (1 for the first retry). */
  backoff(retry: number, random: () => number = Math.random): number {
    const ceiling = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (retry - 1));
    return random() * ceiling;
  }

  /**
   * The wait before retry number `retry`: the server's Retry-After if it sent one (undefined when
   * that is longer than `maxRetryAfterMs`: do not retry), else the backoff.
   */
  delay(retry: number, retryAfterMs?: number, random?: () => number): number | undefined {
    if (retryAfterMs !== undefined) {
      return retryAfterMs <= this.maxRetryAfterMs ? retryAfterMs : undefined;
    }
    return this.backoff(retry, random);
  }
}

/** One attempt, no retries. */
export const NO_RETRIES = new RetryPolicy({ maxAttempts: 1 });
