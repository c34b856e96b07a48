/**
 * The types of what the API takes and answers.
 *
 * Requests (bodies, path and query parameters) come from the generated `schema.d.ts`
 * (docs/openapi.json). The document does not describe the answers (each is an open object there),
 * so their types are written here from docs/api.md and the handlers, as the Python client's
 * models are; the API may add fields (they are kept at run time, untyped).
 */
import type { components, operations, paths } from "./schema.js";

export type { components, operations, paths };

type Schemas = components["schemas"];

/** `POST /v1/onboarding/recommendations`'s body: a new listener's answers. */
export type OnboardingRequest = Schemas["OnboardingRequest"];
/** One thing a listener did (`event_id` makes retries idempotent). */
export type Event = Schemas["Event"];
/** `POST /v1/events`'s body: up to 100 events. */
export type EventBatch = Schemas["EventBatch"];
/** `PUT /v1/catalog/items/{itemId}/availability`'s body. */
export type AvailabilityRequest = Schemas["AvailabilityRequest"];
/** `POST /v1/admin/batch/rollback`'s body: the active version the console showed. */
export type RollbackRequest = Schemas["RollbackRequest"];
/** The API's error body. */
export type ErrorBody = Schemas["Error"];
/** API Gateway's own error body (no code: see the `x-amzn-ErrorType` header). */
export type GatewayErrorBody = Schemas["GatewayError"];
export type EventType = Event["type"];

type Query<Path extends keyof paths, Method extends "get" | "put" | "post"> = NonNullable<
  NonNullable<paths[Path][Method]> extends { parameters: { query?: infer Q } } ? Q : never
>;
/** The query of `GET /v1/users/{userId}/recommendations`. */
export type RecommendationsQuery = Query<"/v1/users/{userId}/recommendations", "get">;
/** The query of `GET /v1/users/{userId}/artists`. */
export type ArtistsQuery = Query<"/v1/users/{userId}/artists", "get">;
/** The query of `GET /v1/users/{userId}/home`. */
export type HomeQuery = Query<"/v1/users/{userId}/home", "get">;
/** The query of `GET /v1/items/{itemId}/similar`. */
export type SimilarItemsQuery = Query<"/v1/items/{itemId}/similar", "get">;
/** The query of `GET /v1/artists/{artistId}/similar`. */
export type SimilarArtistsQuery = Query<"/v1/artists/{artistId}/similar", "get">;
/** The query of `GET /v1/admin/traffic` (`hours` 1-72, `period` 60, 300 or 3600 s). */
export type TrafficQuery = Query<"/v1/admin/traffic", "get">;
/** The query of `GET /v1/admin/experiments` (`days`, `period` 300, 3600 or 86400 s, `hours`). */
export type ExperimentsQuery = Query<"/v1/admin/experiments", "get">;
/** The query of `GET /v1/admin/kpis` (`days` 1-90). */
export type KpisQuery = Query<"/v1/admin/kpis", "get">;
/** The query of `GET /v1/admin/listeners/{userId}/preview` (`limit`, `region`). */
export type ListenerPreviewQuery = Query<"/v1/admin/listeners/{userId}/preview", "get">;
/** The query of `POST /v1/admin/preview/onboarding` (`variant`). */
export type OnboardingPreviewQuery = Query<"/v1/admin/preview/onboarding", "post">;

// answers ---------------------------------------------------------------------------------------

/**
 * What every successful answer carries: the id events refer to, the experiment variant and the
 * model (or batch) version.
 */
export interface Envelope {
  recommendation_id: string;
  variant: string;
  model_version: string;
}

/** Where an answer deviated from the request (`field`) and why. */
export interface Notice {
  field: string;
  message: string;
}

/**
 * An entry of a list: its id and score; `chart` names the chart a fallback took it from
 * (`<region>#<genre>`; absent or null for personal and similar lists).
 */
export interface Item {
  id: string;
  score: number;
  genre?: string | null;
  chart?: string | null;
}

export interface Song extends Item {
  title?: string | null;
  artist_id?: string | null;
  album_id?: string | null;
}

export interface Artist extends Item {
  name?: string | null;
}

export interface Station extends Item {
  name?: string | null;
}

export interface Genre {
  genre: string;
  score: number;
}

/** Where a listener's list came from. */
export type ListSource = "personal" | "onboarding" | "regional";

/** `POST /v1/onboarding/recommendations`: genres, then stations, songs and artists. */
export interface Onboarding extends Envelope {
  genres: Genre[];
  region: string;
  source: "model" | "rules" | "fallback";
  stations: Station[];
  songs: Song[];
  artists: Artist[];
  warnings?: Notice[];
  batch_version?: string | null;
}

/** `GET /v1/users/{userId}/recommendations` (songs). */
export interface SongList extends Envelope {
  user_id: string;
  kind: "songs";
  source: ListSource;
  items: Song[];
}

/** `GET /v1/users/{userId}/artists` and `.../recommendations?kind=artists`. */
export interface ArtistList extends Envelope {
  user_id: string;
  kind: "artists";
  source: ListSource;
  items: Artist[];
}

/** `GET /v1/items/{itemId}/similar`. */
export interface SimilarSongs extends Envelope {
  item_id: string;
  items: Song[];
}

/** `GET /v1/artists/{artistId}/similar` ("fans also like"). */
export interface SimilarArtists extends Envelope {
  artist_id: string;
  items: Artist[];
}

export const SONG_CAROUSELS = ["for_you", "because_you_played", "region_chart"] as const;
export const ARTIST_CAROUSELS = ["artists_for_you", "fans_also_like"] as const;
export const STATION_CAROUSELS = ["genre_station"] as const;

/**
 * One carousel of the home screen, a recommendation of its own (`recommendation_id`, which its
 * impressions and clicks name): `position` from 0, `propensity` the policy's probability of that
 * place. Its `kind` says what its items are.
 */
interface CarouselBase {
  title: string;
  seed?: string | null;
  recommendation_id: string;
  position: number;
  propensity: number;
}

export interface SongCarousel extends CarouselBase {
  kind: (typeof SONG_CAROUSELS)[number];
  items: Song[];
}

export interface ArtistCarousel extends CarouselBase {
  kind: (typeof ARTIST_CAROUSELS)[number];
  items: Artist[];
}

export interface StationCarousel extends CarouselBase {
  kind: (typeof STATION_CAROUSELS)[number];
  items: Station[];
}

export type Carousel = SongCarousel | ArtistCarousel | StationCarousel;

export interface Policy {
  name: string;
  version: string;
}

/**
 * `GET /v1/users/{userId}/home`: carousels in the bandit's order. Events name a carousel's
 * `recommendation_id`, not the top-level one (which is not recorded).
 */
export interface Home extends Envelope {
  user_id: string;
  carousels: Carousel[];
  policy: Policy;
  warnings?: Notice[];
}

/**
 * `POST /v1/events`: how many events came, were stored now, were retries of stored ones, and
 * were counted for an experiment; `warnings` for the ones not counted.
 */
export interface EventsAcknowledgement extends Envelope {
  accepted: number;
  stored: number;
  duplicates: number;
  counted: number;
  warnings?: Notice[];
}

/** `PUT /v1/catalog/items/{itemId}/availability`. */
export interface Availability extends Envelope {
  item_id: string;
  available: boolean;
}

// the console's admin routes ----------------------------------------------------------------------
// (docs/api.md, "The console's routes"; the same shapes as the Python client's musicrec_client.admin)

/** A time series: period starts (ISO-8601, oldest first) and a value each (null: no datum). */
export interface Series {
  timestamps: string[];
  values: (number | null)[];
}

/** One route's requests, 4xx and 5xx answers per period, and its latency's p50 and p99 (ms). */
export interface RouteTraffic {
  method: string;
  path: string;
  count: Series;
  errors_4xx: Series;
  errors_5xx: Series;
  p50_ms: Series;
  p99_ms: Series;
  totals: { count: number; errors_4xx: number; errors_5xx: number };
}

/**
 * `GET /v1/admin/traffic`: per route, over `start`..`end` in `period_s` periods, and each
 * fallback's rate in percent (`fallback_rate.onboarding`, `fallback_rate.home`).
 */
export interface Traffic {
  generated_at: string;
  start: string;
  end: string;
  period_s: number;
  routes: RouteTraffic[];
  fallback_rate: Record<string, Series>;
}

/**
 * A variant's totals and its CTR's relative lift over the control, with its 95 % interval and
 * p-value (null for the control, or without clicks).
 */
export interface VariantResult {
  variant: string;
  impressions: number;
  clicks: number;
  ctr: number;
  lift: number | null;
  ci_low: number | null;
  ci_high: number | null;
  p_value: number | null;
}

/** A variant's impressions, clicks and CTR per period (null: no datum). */
export interface CtrSeries {
  timestamps: string[];
  impressions: (number | null)[];
  clicks: (number | null)[];
  ctr: (number | null)[];
}

/**
 * A bandit's off-policy estimates over the last `hours` of its log (`hours_read`, `complete`: how
 * much of it was read in time); the estimates as the report gives them
 * (`python -m lambdas.ops.experiments ope --json`), untyped here.
 */
export interface OffPolicy {
  bandit: string;
  hours: number;
  hours_read?: number;
  complete?: boolean;
  [more: string]: unknown;
}

export interface ExperimentView {
  name: string;
  control: string;
  variants: VariantResult[];
  series: Record<string, CtrSeries>;
  off_policy: OffPolicy | null;
}

/** `GET /v1/admin/experiments`: each experiment's variants, CTR over time, lift. */
export interface Experiments {
  generated_at: string;
  start?: string;
  end?: string;
  period_s?: number;
  experiments: ExperimentView[];
}

export interface KpiCount {
  total: number;
  by_day: Series;
}

/** `GET /v1/admin/kpis`: the music KPIs of the last `days` UTC days. */
export interface Kpis {
  generated_at: string;
  days: number;
  plays_from_recommendations: KpiCount;
  follows_from_artists: KpiCount;
  /** Of the listeners who followed a recommended artist, how many followed another. */
  follow_through: { followers: number; followed_another: number; rate: number | null };
}

/** The version the onboarding model's endpoint answers with, and the endpoint (null locally). */
export interface ServingModel {
  serving: string | null;
  serving_run_id?: string | null;
  endpoint?: Record<string, unknown> | null;
  note?: string | null;
}

/**
 * A training run: its gate verdict (`passed`; null before a verdict) and `reason`, `metrics` per
 * model against the baselines and `checks`; an unreadable record has only `run_id`,
 * `unreadable` and `note`.
 */
export interface TrainingRun {
  run_id: string;
  started_at?: string | null;
  finished_at?: string | null;
  passed?: boolean | null;
  reason?: string | null;
  metrics?: Record<string, Record<string, { value: number | null; low?: number | null; high?: number | null }>>;
  checks?: Record<string, unknown>[];
  model_version?: string | null;
  complete?: boolean;
  unreadable?: boolean;
  note?: string | null;
}

export interface BatchVersion {
  version: string;
  role: "active" | "previous";
  switched_at?: string | null;
  loaded?: boolean;
}

/** The active batch version, the previous one, and whether a rollback is possible. */
export interface BatchVersions {
  active: string | null;
  previous: string | null;
  switched_at?: string | null;
  rollback_possible: boolean;
  versions: BatchVersion[];
}

/** The retraining schedule and its next run (null, with `note`, when runs start by hand). */
export interface Schedule {
  name: string | null;
  group: string | null;
  expression: string | null;
  timezone: string | null;
  state: string | null;
  next_run: string | null;
  note: string | null;
}

/** `GET /v1/admin/models`: the serving model, the newest training runs, the batch versions. */
export interface Models {
  generated_at: string;
  model: ServingModel;
  runs: TrainingRun[];
  runs_truncated?: boolean;
  batch: BatchVersions;
  schedule: Schedule;
}

/** `POST /v1/admin/batch/rollback`: the version now active, the one it replaced. */
export interface Rollback {
  active: string;
  previous: string | null;
  rolled_back_from: string;
  switched_at?: string | null;
}

/**
 * Why a list is what it is: its `source` (model, rules, fallback, charts or bandit) and a
 * sentence; the rest (probabilities, charts, the bandit's ranking) as the route gives it.
 */
export interface ListReason {
  source: string;
  text?: string;
  [more: string]: unknown;
}

/**
 * `POST /v1/admin/preview/onboarding`: the onboarding answer (without its `recommendation_id`:
 * nothing is recorded), its variant and how it was chosen, and each list's reasons.
 */
export interface OnboardingPreview extends Omit<Onboarding, "recommendation_id" | "model_version"> {
  generated_at: string;
  assignment: { by: "variant" | "user_id" | "install_id" | "preview"; unit: string | null };
  model_version: string | null;
  reasons: { genres: ListReason; stations: ListReason; songs: ListReason; artists: ListReason };
}

/** A carousel of the previewed home screen (no `recommendation_id`), with its source. */
export type PreviewCarousel = DistributiveOmit<Carousel, "recommendation_id"> & { source?: string };
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** The listener's personal songs or artists with their source and variant. */
export interface PersonalPreview<T extends Item> {
  variant: string;
  source: ListSource;
  items: T[];
}

/**
 * `GET /v1/admin/listeners/{userId}/preview`: what is known of the listener, their home screen
 * and their personal songs and artists; nothing is recorded.
 */
export interface ListenerPreview {
  generated_at: string;
  user_id: string;
  batch_version: string | null;
  listener: {
    known: boolean;
    has_list: boolean;
    onboarded: boolean;
    recent_plays: number;
    days_since_signup: number | null;
  };
  home: {
    variant: string;
    policy: Policy & { problem?: string };
    carousels: PreviewCarousel[];
    candidates: string[];
    warnings: Notice[];
  };
  songs: PersonalPreview<Song>;
  artists: PersonalPreview<Artist>;
}
