// Retries with backoff and full jitter on 429/503 and on failed connections and timeouts,
// Retry-After honoured, a timeout per attempt, and a caller's abort, against a real local server.
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { test } from "node:test";

import {
  ListenerAuth,
  MusicRec,
  RateLimited,
  RetryPolicy,
  ServerError,
  TimeoutError,
  TransportError,
  ValidationError,
} from "../dist/index.js";
import { DROP, OK, fakeApi, reply } from "./support/fake-api.js";

const FAST = { maxAttempts: 3, baseDelayMs: 5, maxDelayMs: 20 };

function client(api, options = {}) {
  return new MusicRec(api.url, new ListenerAuth("key", "token"), { retry: FAST, ...options });
}

test("a 503 then a 200: the call is retried and answers", async (t) => {
  const api = (await fakeApi(t)).reply(reply(503, { code: "unavailable", message: "busy" }));
  const answer = await client(api).artists("u1");
  assert.equal(answer.recommendation_id, "r1");
  assert.equal(api.received.length, 2);
});

test("429 and 503 are retried up to maxAttempts, then thrown", async (t) => {
  const api = await fakeApi(t);
  api.default = reply(503, { code: "unavailable", message: "busy" });
  await assert.rejects(client(api).home("u1"), (error) => {
    assert.ok(error instanceof ServerError);
    assert.equal(error.status, 503);
    return true;
  });
  assert.equal(api.received.length, 3);
  api.received.length = 0;
  api.default = reply(429, { code: "throttled", message: "slow down" });
  await assert.rejects(client(api).home("u1"), RateLimited);
  assert.equal(api.received.length, 3);
});

test("other errors are not retried", async (t) => {
  const api = await fakeApi(t);
  for (const status of [400, 401, 403, 404, 500, 502, 504]) {
    api.received.length = 0;
    api.reply(reply(status, { code: "x", message: "no" }));
    await assert.rejects(client(api).artists("u1"), (error) => error.status === status);
    assert.equal(api.received.length, 1, `status ${status}`);
  }
});

test("Retry-After in seconds is waited for instead of the backoff", async (t) => {
  const api = (await fakeApi(t)).reply(
    reply(429, { code: "throttled", message: "wait" }, { headers: { "retry-after": "1" } }),
  );
  await client(api).artists("u1");
  const waited = api.received[1].at - api.received[0].at;
  assert.ok(waited >= 950 && waited < 2000, `waited ${waited} ms`);
});

test("Retry-After as an HTTP date is honoured", async (t) => {
  const when = new Date(Date.now() + 1500).toUTCString(); // whole seconds: 0.5 to 1.5 s from now
  const api = (await fakeApi(t)).reply(
    reply(503, { code: "unavailable", message: "wait" }, { headers: { "retry-after": when } }),
  );
  await client(api).artists("u1");
  const waited = api.received[1].at - api.received[0].at;
  assert.ok(waited >= 400 && waited < 2000, `waited ${waited} ms`);
});

test("a Retry-After over maxRetryAfterMs is thrown at once, carrying it", async (t) => {
  const api = (await fakeApi(t)).reply(
    reply(429, { code: "throttled", message: "later" }, { headers: { "retry-after": "120" } }),
  );
  const started = performance.now();
  await assert.rejects(client(api).artists("u1"), (error) => {
    assert.ok(error instanceof RateLimited);
    assert.equal(error.retryAfterMs, 120_000);
    return true;
  });
  assert.equal(api.received.length, 1);
  assert.ok(performance.now() - started < 500);
});

test("the backoff is exponential with full jitter, capped", () => {
  const policy = new RetryPolicy({ baseDelayMs: 100, maxDelayMs: 1000 });
  const top = () => 1;
  assert.deepEqual([1, 2, 3, 4, 5, 6].map((n) => policy.backoff(n, top)), [100, 200, 400, 800, 1000, 1000]);
  assert.equal(policy.backoff(3, () => 0), 0);
  assert.equal(policy.backoff(3, () => 0.5), 200);
  for (let i = 0; i < 200; i += 1) {
    const wait = policy.backoff(4);
    assert.ok(wait >= 0 && wait <= 800);
  }
  assert.equal(policy.delay(1, 5000), 5000);
  assert.equal(policy.delay(1, 31_000), undefined);
  assert.throws(() => new RetryPolicy({ maxAttempts: 0 }), RangeError);
  assert.throws(() => new RetryPolicy({ baseDelayMs: -1 }), RangeError);
});

test("the client waits the jittered backoff between attempts", async (t) => {
  const api = await fakeApi(t);
  api.reply(reply(503, {}), reply(503, {}), reply(503, {}));
  const retry = { maxAttempts: 4, baseDelayMs: 80, maxDelayMs: 1000 };
  const random = () => 0.999; // the top of each jitter window: 80, 160, 320 ms
  await new MusicRec(api.url, null, { retry, random }).artists("u1");
  const at = api.received.map((r) => r.at);
  const gaps = at.slice(1).map((time, i) => time - at[i]);
  assert.equal(gaps.length, 3);
  [80, 160, 320].forEach((expected, i) => {
    assert.ok(gaps[i] >= expected - 5 && gaps[i] < expected + 150, `gap ${i}: ${gaps[i]} ms`);
  });
  api.received.length = 0;
  api.reply(reply(503, {}), reply(503, {}));
  await new MusicRec(api.url, null, { retry, random: () => 0 }).artists("u1");
  const quick = api.received[2].at - api.received[0].at;
  assert.ok(quick < 60, `no wait at the bottom of the window: ${quick} ms`);
});

test("a dropped connection is retried, then thrown as a TransportError", async (t) => {
  const api = (await fakeApi(t)).reply(DROP);
  assert.equal((await client(api).artists("u1")).variant, "v");
  assert.equal(api.received.length, 2);
  api.received.length = 0;
  api.default = DROP;
  await assert.rejects(client(api).artists("u1"), (error) => {
    assert.ok(error instanceof TransportError && !(error instanceof TimeoutError));
    assert.match(error.message, /^GET \/v1\/users\/u1\/artists: /);
    return true;
  });
  assert.equal(api.received.length, 3);
});

test("a refused connection is a TransportError after the retries", async () => {
  const port = await closedPort();
  const api = new MusicRec(`http://127.0.0.1:${port}`, null, { retry: FAST });
  const started = performance.now();
  await assert.rejects(api.home("u1"), TransportError);
  assert.ok(performance.now() - started < 2000);
});

test("no retries on transport errors when the policy says so", async (t) => {
  const api = (await fakeApi(t)).reply(DROP);
  const once = new MusicRec(api.url, null, { retry: { ...FAST, onTransportErrors: false } });
  await assert.rejects(once.artists("u1"), TransportError);
  assert.equal(api.received.length, 1);
});

test("the timeout is per attempt: a slow answer times out, the retry answers", async (t) => {
  const api = (await fakeApi(t)).reply(reply(200, OK, { delayMs: 600 }));
  const started = performance.now();
  const answer = await client(api, { timeoutMs: 150 }).artists("u1");
  assert.equal(answer.model_version, "m");
  assert.equal(api.received.length, 2);
  assert.ok(performance.now() - started < 550, "the first attempt was abandoned at its timeout");
});

test("a timeout on every attempt is a TimeoutError", async (t) => {
  const api = await fakeApi(t);
  api.default = reply(200, OK, { delayMs: 400 });
  const started = performance.now();
  await assert.rejects(client(api, { timeoutMs: 100 }).artists("u1"), (error) => {
    assert.ok(error instanceof TimeoutError);
    assert.ok(error instanceof TransportError);
    assert.match(error.message, /no answer within 100 ms/);
    return true;
  });
  assert.equal(api.received.length, 3);
  assert.ok(performance.now() - started < 1000);
});

test("the timeout covers a body that is slow to come", async (t) => {
  const api = await fakeApi(t);
  api.default = reply(200, OK, { bodyDelayMs: 500 });
  const once = client(api, { timeoutMs: 120, retry: { maxAttempts: 1 } });
  await assert.rejects(once.artists("u1"), TimeoutError);
});

test("withOptions gives another timeout and retry policy, the same credentials", async (t) => {
  const api = await fakeApi(t);
  api.default = reply(200, OK, { delayMs: 200 });
  const base = client(api, { timeoutMs: 5000 });
  const hurried = base.withOptions({ timeoutMs: 50, retry: { maxAttempts: 1 } });
  await assert.rejects(hurried.artists("u1"), TimeoutError);
  assert.equal(api.received.length, 1);
  assert.equal(api.received[0].headers["x-api-key"], "key");
  assert.equal(hurried.events, base.events);
  await base.artists("u1");
});

test("the caller's abort signal stops the call and its retries", async (t) => {
  const api = await fakeApi(t);
  api.default = reply(503, {});
  const controller = new AbortController();
  const slow = client(api, {
    signal: controller.signal,
    retry: { maxAttempts: 5, baseDelayMs: 1000, maxDelayMs: 1000 },
    random: () => 1,
  });
  setTimeout(() => controller.abort(), 100);
  const started = performance.now();
  await assert.rejects(slow.artists("u1"), (error) => error.name === "AbortError");
  assert.ok(performance.now() - started < 600);
  assert.equal(api.received.length, 1);
});

test("credentials are applied again on each attempt (a token function is called each time)", async (t) => {
  const api = (await fakeApi(t)).reply(reply(503, {}), reply(503, {}));
  let calls = 0;
  const auth = new ListenerAuth("key", async () => `token-${(calls += 1)}`);
  await new MusicRec(api.url, auth, { retry: FAST }).artists("u1");
  assert.deepEqual(api.received.map((r) => r.headers.authorization), ["token-1", "token-2", "token-3"]);
});

test("a request body is sent again, whole, on each attempt", async (t) => {
  const api = (await fakeApi(t)).reply(reply(503, {}), DROP);
  await client(api).onboard({ user_id: "u1", age: 30, selected_genres: ["Rock"] });
  assert.equal(api.received.length, 3);
  for (const body of api.bodies()) {
    assert.deepEqual(body, { user_id: "u1", age: 30, selected_genres: ["Rock"] });
  }
});

test("a 400 is thrown at once, not retried", async (t) => {
  const api = (await fakeApi(t)).reply(
    reply(400, { code: "invalid_request", message: "limit: too big", field: "limit" }),
  );
  await assert.rejects(client(api).artists("u1", { limit: 1000 }), ValidationError);
  assert.equal(api.received.length, 1);
});

async function closedPort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}
