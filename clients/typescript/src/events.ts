/**
 * Event batching: {@link EventBuffer.track} buffers events and sends them in batches of the API's
 * limit (100 per request) as soon as a batch is full, and everything on
 * {@link EventBuffer.flush} (and `client.close()`).
 *
 * Each event gets a client-generated `event_id` (`crypto.randomUUID()`) and the time it was
 * tracked as `ts`, so a batch sent again after a failure is acknowledged as duplicates by the
 * server, not stored twice. A batch that failed in a way a later try may fix (throttled, the API
 * unavailable, no answer) stays buffered for the next flush; one the API refused (another 4xx) is
 * dropped into `rejected`.
 *
 * `track` is synchronous: it validates and buffers, and starts sending a full batch in the
 * background. That send's failure is given to `onError` (the events stay buffered or go to
 * `rejected` as above) rather than thrown, since an unawaited rejected promise would crash Node
 * or pollute a page's console; `flush()` sends everything and rejects when a batch fails.
 */
import { BufferFullError, ClientError, InvalidEventError, RateLimited } from "./errors.js";
import type { Event, EventsAcknowledgement, EventType } from "./types.js";

/** The most events one request takes (EventBatch's `maxItems` in docs/openapi.json). */
export const MAX_PER_REQUEST = 100;
export const MAX_PENDING = 10_000;
/** Event's `type` in docs/openapi.json. */
export const EVENT_TYPES: readonly EventType[] = [
  "play",
  "skip",
  "like",
  "follow",
  "click",
  "impression",
];
/** The field each type needs (Event's `allOf` rules in docs/openapi.json). */
export const NEEDS: Readonly<Record<EventType, "item_id" | "artist_id" | "recommendation_id">> = {
  play: "item_id",
  skip: "item_id",
  like: "item_id",
  follow: "artist_id",
  click: "recommendation_id",
  impression: "recommendation_id",
};
/** The ids' `pattern` and `maxLength` in docs/openapi.json. */
export const ID_PATTERN = /^[0-9A-Za-z._:@#/-]+$/;
export const ID_MAX_LENGTH = 128;
export const TS_MAX = 253402300799999;
const ID_FIELDS = [
  "event_id",
  "user_id",
  "item_id",
  "artist_id",
  "recommendation_id",
  "experiment",
  "variant",
] as const;

/** What `track` takes besides the listener and the type. */
export interface TrackFields {
  item_id?: string;
  artist_id?: string;
  recommendation_id?: string;
  /** Milliseconds since the epoch; default now. */
  ts?: number;
  /** Default `crypto.randomUUID()` (or the client's `newEventId`). */
  event_id?: string;
}

export type Send = (events: Event[]) => Promise<EventsAcknowledgement>;

export interface EventBufferOptions {
  /** Events per request, 1 to 100. */
  batchSize?: number;
  /** The most events waiting; `track` throws a BufferFullError beyond. */
  maxPending?: number;
  /** Where a background send's failure goes; default nowhere (the events stay buffered). */
  onError?: (error: unknown) => void;
  /** New event ids; default `crypto.randomUUID()` (React Native: pass one, e.g. from uuid). */
  newEventId?: () => string;
  /** The clock, in milliseconds since the epoch (tests). */
  now?: () => number;
}

function defaultEventId(): string {
  const crypto = (globalThis as { crypto?: { randomUUID?: () => string } }).crypto;
  if (typeof crypto?.randomUUID !== "function") {
    throw new Error(
      "crypto.randomUUID is not available here: give the client a newEventId function",
    );
  }
  return crypto.randomUUID();
}

/** Throws an InvalidEventError naming the first field of `event` the API would refuse. */
export function validateEvent(event: Event, prefix = ""): void {
  const record = event as unknown as Record<string, unknown>;
  for (const name of ["event_id", "user_id", "type"]) {
    if (record[name] === undefined || record[name] === null) {
      throw new InvalidEventError(prefix + name, "required");
    }
  }
  if (!EVENT_TYPES.includes(event.type)) {
    throw new InvalidEventError(`${prefix}type`, `one of ${EVENT_TYPES.join(", ")}`);
  }
  for (const name of ID_FIELDS) {
    const value = record[name];
    if (value === undefined || value === null) continue;
    if (typeof value !== "string" || !value || value.length > ID_MAX_LENGTH) {
      throw new InvalidEventError(prefix + name, `a string of 1 to ${ID_MAX_LENGTH} characters`);
    }
    if (!ID_PATTERN.test(value)) {
      throw new InvalidEventError(prefix + name, `does not match ${ID_PATTERN.source}`);
    }
  }
  const needed = NEEDS[event.type];
  if (record[needed] === undefined || record[needed] === null) {
    throw new InvalidEventError(prefix + needed, `required for a ${event.type} event`);
  }
  const ts = record.ts;
  if (ts !== undefined && ts !== null) {
    if (typeof ts !== "number" || !Number.isInteger(ts) || ts < 0 || ts > TS_MAX) {
      throw new InvalidEventError(`${prefix}ts`, "milliseconds since the epoch (an integer)");
    }
  }
}

/**
 * Buffers events and posts them with `send` (one `POST /v1/events` per batch of at most
 * `batchSize`), one send at a time.
 */
export class EventBuffer {
  readonly batchSize: number;
  readonly maxPending: number;
  /** Refused by the API (a 4xx other than 429): fix them and `add` them again. */
  readonly rejected: Event[] = [];
  /** What the acknowledgements said, in all. */
  stored = 0;
  duplicates = 0;

  readonly #send: Send;
  readonly #pending: Event[] = [];
  readonly #onError: (error: unknown) => void;
  readonly #newEventId: () => string;
  readonly #now: () => number;
  #queue: Promise<unknown> = Promise.resolve(); // sends, one after the other
  #automatic = false; // a background send of whole batches is queued or running

  constructor(send: Send, options: EventBufferOptions = {}) {
    this.batchSize = options.batchSize ?? MAX_PER_REQUEST;
    this.maxPending = options.maxPending ?? MAX_PENDING;
    if (!Number.isInteger(this.batchSize) || this.batchSize < 1 || this.batchSize > MAX_PER_REQUEST) {
      throw new RangeError(`batchSize: 1 to ${MAX_PER_REQUEST}`);
    }
    this.#send = send;
    this.#onError = options.onError ?? (() => {});
    this.#newEventId = options.newEventId ?? defaultEventId;
    this.#now = options.now ?? Date.now;
  }

  /** Events buffered and not yet acknowledged (a batch being sent included). */
  get pending(): number {
    return this.#pending.length;
  }

  /**
   * Buffer one event (validated now, so one bad event cannot sink a batch; an
   * InvalidEventError otherwise) and start sending when a batch is full. Returns the event, with
   * its `event_id` and `ts`.
   */
  track(userId: string, type: EventType, fields: TrackFields = {}): Event {
    const event: Event = {
      event_id: fields.event_id ?? this.#newEventId(),
      user_id: userId,
      type,
      ts: fields.ts ?? this.#now(),
    };
    for (const name of ["item_id", "artist_id", "recommendation_id"] as const) {
      if (fields[name] !== undefined) event[name] = fields[name];
    }
    this.add([event]);
    return event;
  }

  /** Buffer events built elsewhere (keep their `event_id`: retries depend on it). */
  add(events: Event[]): void {
    events.forEach((event, i) => validateEvent(event, events.length > 1 ? `${i}.` : ""));
    if (this.#pending.length + events.length > this.maxPending) {
      throw new BufferFullError(`${this.#pending.length} events wait to be sent`);
    }
    this.#pending.push(...events);
    if (this.#pending.length >= this.batchSize && !this.#automatic) {
      this.#automatic = true;
      const sent = this.#enqueue(() => {
        this.#automatic = false; // from now on, a new full batch queues another send
        return this.#sendWhile(true);
      });
      sent.catch((error: unknown) => this.#onError(error));
    }
  }

  /** Send everything buffered: the acknowledgements of this flush's batches. */
  flush(): Promise<EventsAcknowledgement[]> {
    return this.#enqueue(() => this.#sendWhile(false));
  }

  /** Wait for the sends started so far (automatic ones included) to end, without sending more. */
  async idle(): Promise<void> {
    await this.#queue.catch(() => {});
  }

  #enqueue<T>(work: () => Promise<T>): Promise<T> {
    const result = this.#queue.then(work, work);
    this.#queue = result.catch(() => {});
    return result;
  }

  async #sendWhile(wholeBatchesOnly: boolean): Promise<EventsAcknowledgement[]> {
    const done: EventsAcknowledgement[] = [];
    for (;;) {
      const enough = this.#pending.length >= (wholeBatchesOnly ? this.batchSize : 1);
      if (!enough) return done;
      const batch = this.#pending.slice(0, this.batchSize);
      let acknowledgement: EventsAcknowledgement;
      try {
        acknowledgement = await this.#send(batch);
      } catch (error) {
        if (error instanceof ClientError && !(error instanceof RateLimited)) {
          this.#pending.splice(0, batch.length); // the API refused it: never sendable as is
          this.rejected.push(...batch);
        }
        throw error;
      }
      this.#pending.splice(0, batch.length); // only a send removes, from the front
      this.stored += acknowledgement.stored;
      this.duplicates += acknowledgement.duplicates;
      done.push(acknowledgement);
    }
  }
}
