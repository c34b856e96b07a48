/**
 * `@musicrec/client`: the TypeScript client of the musicrec API (docs/api.md).
 *
 * ```ts
 * import { ListenerAuth, MusicRec } from "@musicrec/client";
 * const api = new MusicRec("http://127.0.0.1:3000", new ListenerAuth("local-api-key", token));
 * const songs = await api.recommendations("u1", { limit: 10 });
 * api.events.track("u1", "play", { item_id: songs.items[0]!.id });
 * await api.close(); // sends the buffered events
 *
 * const console = new MusicRec("http://127.0.0.1:3000", new OperatorTokenAuth(operatorToken));
 * const { batch } = await console.models(); // the console's admin routes
 * ```
 */
export {
  ADMIN_KEY_HEADER,
  API_KEY_HEADER,
  AdminKeyAuth,
  ListenerAuth,
  OperatorAuth,
  OperatorTokenAuth,
  ServerAuth,
  TOKEN_HEADER,
  type Auth,
  type Provider,
  type SignableRequest,
  type Signer,
} from "./auth.js";
export { MusicRec, ROUTES, type MusicRecOptions } from "./client.js";
export {
  ApiError,
  AuthError,
  BufferFullError,
  ClientError,
  InvalidEventError,
  MusicRecError,
  NotFound,
  RateLimited,
  ServerError,
  TimeoutError,
  TransportError,
  ValidationError,
  errorFrom,
  retryAfterMs,
} from "./errors.js";
export {
  EVENT_TYPES,
  EventBuffer,
  MAX_PENDING,
  MAX_PER_REQUEST,
  validateEvent,
  type EventBufferOptions,
  type TrackFields,
} from "./events.js";
export { NO_RETRIES, RETRY_STATUSES, RetryPolicy, type RetryOptions } from "./retry.js";
export { ADMIN_TIMEOUT_MS, DEFAULT_TIMEOUT_MS } from "./transport.js";
export * from "./types.js";
export { API_VERSION } from "./version.js";
