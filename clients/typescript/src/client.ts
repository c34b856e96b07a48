/** The client: one method per route of the API, and the event buffer (`client.events`). */
import createClient, { type Client } from "openapi-fetch";

import type { Auth } from "./auth.js";
import { errorFrom, MusicRecError } from "./errors.js";
import { EventBuffer, MAX_PER_REQUEST, validateEvent } from "./events.js";
import { RetryPolicy, type RetryOptions } from "./retry.js";
import type { paths } from "./schema.js";
import { ADMIN_TIMEOUT_MS, DEFAULT_TIMEOUT_MS, transportFetch } from "./transport.js";
import type {
  ArtistList,
  ArtistsQuery,
  Availability,
  Event,
  EventsAcknowledgement,
  Experiments,
  ExperimentsQuery,
  Home,
  HomeQuery,
  Kpis,
  KpisQuery,
  ListenerPreview,
  ListenerPreviewQuery,
  Models,
  Onboarding,
  OnboardingPreview,
  OnboardingPreviewQuery,
  OnboardingRequest,
  RecommendationsQuery,
  Rollback,
  SimilarArtists,
  SimilarArtistsQuery,
  SimilarItemsQuery,
  SimilarSongs,
  SongList,
  Traffic,
  TrafficQuery,
} from "./types.js";
import { API_VERSION } from "./version.js";

/** Each route of docs/openapi.json and the method calling it (test/generated.test.js checks). */
export const ROUTES = {
  onboard: "POST /v1/onboarding/recommendations",
  recommendations: "GET /v1/users/{userId}/recommendations",
  artists: "GET /v1/users/{userId}/artists",
  home: "GET /v1/users/{userId}/home",
  similarItems: "GET /v1/items/{itemId}/similar",
  similarArtists: "GET /v1/artists/{artistId}/similar",
  postEvents: "POST /v1/events",
  setAvailability: "PUT /v1/catalog/items/{itemId}/availability",
  traffic: "GET /v1/admin/traffic",
  experiments: "GET /v1/admin/experiments",
  kpis: "GET /v1/admin/kpis",
  models: "GET /v1/admin/models",
  rollbackBatch: "POST /v1/admin/batch/rollback",
  previewOnboarding: "POST /v1/admin/preview/onboarding",
  previewListener: "GET /v1/admin/listeners/{userId}/preview",
} as const;

export interface MusicRecOptions {
  /**
   * Milliseconds per attempt, for every route; default 10,000, and 30,000 for the console's admin
   * routes (their function may take API Gateway's 29 s).
   */
  timeoutMs?: number;
  /** The retry policy (or its options); default 4 attempts, 250 ms to 8 s of backoff. */
  retry?: RetryPolicy | RetryOptions;
  /** Aborts every call of this client (e.g. when a screen goes away). */
  signal?: AbortSignal;
  /** Events per request (1 to 100); default 100, the API's limit. */
  eventBatchSize?: number;
  /** The most events buffered; default 10,000. */
  maxPendingEvents?: number;
  /** Where a background send of events fails to (the events stay buffered); default nowhere. */
  onEventError?: (error: unknown) => void;
  /** New event ids; default `crypto.randomUUID()` (React Native without it: pass one). */
  newEventId?: () => string;
  /** The fetch to send with; default `globalThis.fetch`. */
  fetch?: typeof fetch;
  /** Random numbers in [0, 1) for the backoff's jitter (tests). */
  random?: () => number;
  /** Share another client's event buffer (what `withOptions` does). */
  events?: EventBuffer;
}

function userAgent(): Record<string, string> {
  // Node only: a browser refuses (or ignores) a User-Agent set by a script
  const node = (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node;
  return node ? { "user-agent": `musicrec-client/${API_VERSION} node/${node}` } : {};
}

function checkUrl(baseUrl: string): string {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new TypeError(`baseUrl: not a URL: ${baseUrl}`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new TypeError(`baseUrl: http or https, not ${url.protocol}`);
  }
  return baseUrl.replace(/\/+$/, "");
}

function id(name: string, value: string): string {
  if (typeof value !== "string" || !value) throw new TypeError(`${name}: a non-empty string`);
  return value;
}

/**
 * A client of the musicrec API at `baseUrl` (the stage's URL, e.g.
 * `https://abc.execute-api.eu-west-1.amazonaws.com/prod`, or `http://127.0.0.1:3000`).
 *
 * `auth`: {@link ListenerAuth}, {@link ServerAuth}, {@link OperatorTokenAuth} (the console's admin
 * routes), {@link OperatorAuth} or {@link AdminKeyAuth} (the catalogue's route), or none. Answers are the API's JSON, typed; errors are {@link ApiError}s (a subclass per
 * status) and {@link TransportError}s. Call {@link close} when done: it sends buffered events.
 */
export class MusicRec {
  readonly baseUrl: string;
  /** The event buffer: `track()` events, `flush()` them. */
  readonly events: EventBuffer;
  readonly #auth: Auth | undefined;
  readonly #options: MusicRecOptions;
  readonly #signal: AbortSignal | undefined;
  readonly #http: Client<paths>;
  /** The same, with the admin routes' timeout. */
  readonly #admin: Client<paths>;

  constructor(baseUrl: string, auth?: Auth | null, options: MusicRecOptions = {}) {
    this.baseUrl = checkUrl(baseUrl);
    this.#auth = auth ?? undefined;
    this.#options = options;
    this.#signal = options.signal;
    const retry =
      options.retry instanceof RetryPolicy ? options.retry : new RetryPolicy(options.retry);
    const http = (timeoutMs: number): Client<paths> =>
      createClient<paths>({
        baseUrl: this.baseUrl,
        headers: { accept: "application/json" },
        fetch: transportFetch({
          auth: this.#auth,
          timeoutMs,
          retry,
          fetch: options.fetch,
          headers: userAgent(),
          random: options.random,
        }),
      });
    this.#http = http(options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    this.#admin = http(options.timeoutMs ?? ADMIN_TIMEOUT_MS);
    this.events =
      options.events ??
      new EventBuffer((events) => this.postEvents(events), {
        batchSize: options.eventBatchSize ?? MAX_PER_REQUEST,
        maxPending: options.maxPendingEvents,
        onError: options.onEventError,
        newEventId: options.newEventId,
      });
  }

  /**
   * A client sharing this one's credentials and event buffer, with another timeout, retry policy
   * or abort signal (e.g. `api.withOptions({ timeoutMs: 2000 }).home(user)`).
   */
  withOptions(options: Pick<MusicRecOptions, "timeoutMs" | "retry" | "signal">): MusicRec {
    return new MusicRec(this.baseUrl, this.#auth, {
      ...this.#options,
      ...options,
      events: this.events,
    });
  }

  /** Send the buffered events (their acknowledgements); there is nothing else to release. */
  close(): Promise<EventsAcknowledgement[]> {
    return this.events.flush();
  }

  /** The answer of a call, or its error thrown. */
  async #answer<T>(
    call: Promise<{ data?: unknown; error?: unknown; response: Response }>,
  ): Promise<T> {
    const { data, error, response } = await call;
    if (!response.ok) throw errorFrom(response, error);
    if (data === undefined) {
      throw new MusicRecError(`${response.url}: an empty answer (${response.status})`);
    }
    return data as T;
  }

  // onboarding ----------------------------------------------------------------------------------

  /** Genres, stations, songs and artists for a listener who just answered the onboarding questions. */
  async onboard(request: OnboardingRequest = {}): Promise<Onboarding> {
    return await this.#answer(
      this.#http.POST("/v1/onboarding/recommendations", { body: request, signal: this.#signal }),
    );
  }

  // a listener's lists --------------------------------------------------------------------------

  /** The listener's songs (or artists, with `kind: "artists"`), re-ranked by their latest plays. */
  recommendations(
    userId: string,
    query?: RecommendationsQuery & { kind?: "songs" },
  ): Promise<SongList>;
  recommendations(
    userId: string,
    query: RecommendationsQuery & { kind: "artists" },
  ): Promise<ArtistList>;
  recommendations(userId: string, query?: RecommendationsQuery): Promise<SongList | ArtistList>;
  async recommendations(userId: string, query: RecommendationsQuery = {}): Promise<SongList | ArtistList> {
    return await this.#answer(
      this.#http.GET("/v1/users/{userId}/recommendations", {
        params: { path: { userId: id("userId", userId) }, query },
        signal: this.#signal,
      }),
    );
  }

  /** Artists for the listener. */
  async artists(userId: string, query: ArtistsQuery = {}): Promise<ArtistList> {
    return await this.#answer(
      this.#http.GET("/v1/users/{userId}/artists", {
        params: { path: { userId: id("userId", userId) }, query },
        signal: this.#signal,
      }),
    );
  }

  /**
   * The listener's home screen: carousels in the bandit's order (each has its own
   * `recommendation_id` for impressions and clicks).
   */
  async home(userId: string, query: HomeQuery = {}): Promise<Home> {
    return await this.#answer(
      this.#http.GET("/v1/users/{userId}/home", {
        params: { path: { userId: id("userId", userId) }, query },
        signal: this.#signal,
      }),
    );
  }

  // similar songs and artists -------------------------------------------------------------------

  /** Songs similar to a song (re-ranked for `user_id` when given); NotFound when it has no list. */
  async similarItems(itemId: string, query: SimilarItemsQuery = {}): Promise<SimilarSongs> {
    return await this.#answer(
      this.#http.GET("/v1/items/{itemId}/similar", {
        params: { path: { itemId: id("itemId", itemId) }, query },
        signal: this.#signal,
      }),
    );
  }

  /** Artists whose fans also like this one; NotFound when the artist has no list. */
  async similarArtists(artistId: string, query: SimilarArtistsQuery = {}): Promise<SimilarArtists> {
    return await this.#answer(
      this.#http.GET("/v1/artists/{artistId}/similar", {
        params: { path: { artistId: id("artistId", artistId) }, query },
        signal: this.#signal,
      }),
    );
  }

  // events --------------------------------------------------------------------------------------

  /**
   * One request with up to 100 events (each with its `event_id`); to batch, use
   * `client.events.track(...)`.
   */
  async postEvents(events: Event[]): Promise<EventsAcknowledgement> {
    if (events.length < 1 || events.length > MAX_PER_REQUEST) {
      throw new RangeError(`events: 1 to ${MAX_PER_REQUEST} per request`);
    }
    events.forEach((event, i) => validateEvent(event, `events.${i}.`));
    return await this.#answer(this.#http.POST("/v1/events", { body: { events }, signal: this.#signal }));
  }

  // operators -----------------------------------------------------------------------------------

  /** Mark a song available or unavailable (operator credentials). */
  async setAvailability(itemId: string, available: boolean): Promise<Availability> {
    return await this.#answer(
      this.#http.PUT("/v1/catalog/items/{itemId}/availability", {
        params: { path: { itemId: id("itemId", itemId) } },
        body: { available },
        signal: this.#signal,
      }),
    );
  }

  // the console's admin routes (OperatorTokenAuth) ------------------------------------------------

  /**
   * Requests, 4xx and 5xx answers and latency p50/p99 per route over the last `hours` (1-72) in
   * `period` s points (60, 300 or 3600), and the fallback rates (the API's defaults if absent).
   */
  async traffic(query: TrafficQuery = {}): Promise<Traffic> {
    return await this.#answer(this.#admin.GET("/v1/admin/traffic", { params: { query }, signal: this.#signal }));
  }

  /**
   * Each experiment's variants: totals, CTR over the last `days` (1-90) in `period` s points
   * (300, 3600 or 86400), lift with its interval, and a bandit's off-policy estimates over its
   * log's last `hours` (the API's defaults if absent).
   */
  async experiments(query: ExperimentsQuery = {}): Promise<Experiments> {
    return await this.#answer(this.#admin.GET("/v1/admin/experiments", { params: { query }, signal: this.#signal }));
  }

  /** Plays from recommendations, follows from "artists for you" and follow-through, per UTC day. */
  async kpis(query: KpisQuery = {}): Promise<Kpis> {
    return await this.#answer(this.#admin.GET("/v1/admin/kpis", { params: { query }, signal: this.#signal }));
  }

  /** The serving model, the training runs with their gate verdicts, the batch versions, the next run. */
  async models(): Promise<Models> {
    return await this.#answer(this.#admin.GET("/v1/admin/models", { signal: this.#signal }));
  }

  /**
   * Make the previous batch version active again, if `expectedActive` still is the active one
   * (else a 409 `conflict` {@link ClientError}).
   *
   * Retried like every call (429, 503, no answer): safe, as a rollback that landed makes its
   * repeat a 409 rather than a second switch. So a 409 after a lost answer may mean the first
   * attempt rolled back: {@link models} tells.
   */
  async rollbackBatch(expectedActive: string): Promise<Rollback> {
    return await this.#answer(
      this.#admin.POST("/v1/admin/batch/rollback", {
        body: { expected_active: id("expectedActive", expectedActive) },
        signal: this.#signal,
      }),
    );
  }

  /**
   * What {@link onboard} would answer these onboarding answers, under `query.variant` if given,
   * with each list's reasons; nothing is recorded.
   */
  async previewOnboarding(request: OnboardingRequest = {}, query: OnboardingPreviewQuery = {}): Promise<OnboardingPreview> {
    return await this.#answer(
      this.#admin.POST("/v1/admin/preview/onboarding", { body: request, params: { query }, signal: this.#signal }),
    );
  }

  /**
   * A listener's home screen and personal songs and artists, each with its source and variant,
   * and what is known of them; nothing is recorded.
   */
  async previewListener(userId: string, query: ListenerPreviewQuery = {}): Promise<ListenerPreview> {
    return await this.#answer(
      this.#admin.GET("/v1/admin/listeners/{userId}/preview", {
        params: { path: { userId: id("userId", userId) }, query },
        signal: this.#signal,
      }),
    );
  }
}
