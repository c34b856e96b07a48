// Errors: an ApiError of the status's class carrying the API's code, message and field (or API
// Gateway's error type), Retry-After and the body.
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  ApiError,
  AuthError,
  ClientError,
  MusicRec,
  MusicRecError,
  NO_RETRIES,
  NotFound,
  RateLimited,
  ServerError,
  ValidationError,
  retryAfterMs,
} from "../dist/index.js";
import { fakeApi, reply } from "./support/fake-api.js";

function client(api) {
  return new MusicRec(api.url, null, { retry: NO_RETRIES });
}

async function caught(promise) {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  assert.fail("no error thrown");
}

test("the API's error body: status, code, message and field", async (t) => {
  const api = (await fakeApi(t)).reply(
    reply(400, { code: "invalid_request", message: "selected_genres.0: not a genre", field: "selected_genres.0" }),
  );
  const error = await caught(client(api).onboard({ selected_genres: ["nope"] }));
  assert.ok(error instanceof ValidationError);
  assert.ok(error instanceof ClientError && error instanceof ApiError && error instanceof MusicRecError);
  assert.ok(error instanceof Error);
  assert.equal(error.status, 400);
  assert.equal(error.code, "invalid_request");
  assert.equal(error.message, "selected_genres.0: not a genre");
  assert.equal(error.field, "selected_genres.0");
  assert.equal(error.name, "ValidationError");
  assert.deepEqual(error.body, { code: "invalid_request", message: "selected_genres.0: not a genre", field: "selected_genres.0" });
  assert.equal(String(error), "ValidationError: 400 invalid_request: selected_genres.0: not a genre");
  assert.match(error.stack, /ValidationError/);
});

test("each status has its class", async (t) => {
  const api = await fakeApi(t);
  const classes = [
    [400, ValidationError], [413, ValidationError], [414, ValidationError], [415, ValidationError],
    [401, AuthError], [403, AuthError], [404, NotFound], [429, RateLimited], [409, ClientError],
    [500, ServerError], [502, ServerError], [503, ServerError], [504, ServerError],
  ];
  for (const [status, Class] of classes) {
    api.reply(reply(status, { code: "c", message: "m" }));
    const error = await caught(client(api).home("u1"));
    assert.equal(error.constructor, Class, `status ${status}`);
    assert.equal(error.status, status);
  }
});

test("API Gateway's refusals: the code is the x-amzn-ErrorType header", async (t) => {
  const api = (await fakeApi(t)).reply(
    reply(401, { message: "Unauthorized" }, { headers: { "x-amzn-ErrorType": "UnauthorizedException" } }),
    reply(403, { message: "Forbidden" }),
    reply(403, { Message: "User is not authorized" }, { headers: { "x-amzn-errortype": "AccessDeniedException" } }),
  );
  const unauthorised = await caught(client(api).artists("u1"));
  assert.deepEqual([unauthorised.status, unauthorised.code, unauthorised.message, unauthorised.field],
    [401, "UnauthorizedException", "Unauthorized", undefined]);
  const forbidden = await caught(client(api).artists("u1"));
  assert.deepEqual([forbidden.code, forbidden.message], ["forbidden", "Forbidden"]);
  const denied = await caught(client(api).artists("u1"));
  assert.deepEqual([denied.code, denied.message], ["AccessDeniedException", "User is not authorized"]);
});

test("an answer that is not JSON: its text is the message", async (t) => {
  const api = (await fakeApi(t)).reply(
    reply(502, "Bad Gateway from the proxy\n", { headers: { "content-type": "text/plain" } }),
    reply(500, null),
  );
  const proxy = await caught(client(api).artists("u1"));
  assert.ok(proxy instanceof ServerError);
  assert.deepEqual([proxy.code, proxy.message, proxy.body], ["bad_gateway", "Bad Gateway from the proxy", "Bad Gateway from the proxy\n"]);
  const empty = await caught(client(api).artists("u1"));
  assert.deepEqual([empty.status, empty.code, empty.message], [500, "internal_error", "Internal Server Error"]);
  const odd = (await fakeApi(t)).reply(reply(418, { message: "teapot" }));
  const teapot = await caught(client(odd).artists("u1"));
  assert.deepEqual([teapot.constructor, teapot.code], [ClientError, "http_418"]);
});

test("a 429's Retry-After is on the error", async (t) => {
  const api = (await fakeApi(t)).reply(
    reply(429, { code: "throttled", message: "too many requests, retry later" }, { headers: { "retry-after": "1" } }),
  );
  const error = await caught(client(api).artists("u1"));
  assert.ok(error instanceof RateLimited);
  assert.equal(error.retryAfterMs, 1000);
});

test("Retry-After: seconds, an HTTP date, or nothing usable", () => {
  const now = Date.parse("2026-12-06T12:00:00Z");
  const headers = (value) => new Headers(value === undefined ? {} : { "retry-after": value });
  assert.equal(retryAfterMs(headers("3"), now), 3000);
  assert.equal(retryAfterMs(headers(" 0 "), now), 0);
  assert.equal(retryAfterMs(headers("1.5"), now), 1500);
  assert.equal(retryAfterMs(headers("Sun, 06 Dec 2026 12:00:10 GMT"), now), 10_000);
  assert.equal(retryAfterMs(headers("Sun, 06 Dec 2026 11:00:00 GMT"), now), 0);
  assert.equal(retryAfterMs(headers("soon"), now), undefined);
  assert.equal(retryAfterMs(headers("-5"), now), undefined);
  assert.equal(retryAfterMs(headers(undefined), now), undefined);
});

test("a success without a body is an error (every route answers JSON)", async (t) => {
  const api = (await fakeApi(t)).reply(reply(200, null));
  const error = await caught(client(api).artists("u1"));
  assert.ok(error instanceof MusicRecError && !(error instanceof ApiError));
});

test("bad arguments are refused before anything is sent", async (t) => {
  const api = await fakeApi(t);
  const rec = client(api);
  await assert.rejects(rec.artists(""), TypeError);
  await assert.rejects(rec.postEvents([]), RangeError);
  await assert.rejects(rec.postEvents(Array.from({ length: 101 }, (_, i) => ({ event_id: `e${i}`, user_id: "u", type: "play", item_id: "s" }))), RangeError);
  assert.equal(api.received.length, 0);
  assert.throws(() => new MusicRec("not a url"), TypeError);
  assert.throws(() => new MusicRec("ftp://example.com"), TypeError);
});
