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
