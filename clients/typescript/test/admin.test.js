// The console's admin routes through the client, against a scripted local server: the operator's
// ID token (no API key), each route's URL, query and body, the answers, the errors, and what is
// retried: a rollback too, because its expected_active makes a repeat a 409, not a second switch.
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  ADMIN_TIMEOUT_MS,
  AuthError,
  ClientError,
  MusicRec,
  NO_RETRIES,
  OperatorTokenAuth,
  ServerError,
  TimeoutError,
  ValidationError,
} from "../dist/index.js";
import { fakeApi, reply } from "./support/fake-api.js";

const FAST = { maxAttempts: 3, baseDelayMs: 5, maxDelayMs: 20 };
const NOW = "2026-12-14T09:00:00Z";
const series = (...values) => ({ timestamps: values.map((_, i) => `2026-12-14T08:0${i}:00Z`), values });
const ROLLED_BACK = { active: "b1", previous: "b2", rolled_back_from: "b2", switched_at: NOW };
const CONFLICT = { code: "conflict", field: "expected_active", message: "expected_active: the active version is b1; reload and retry" };

function console(api, options = {}) {
  return new MusicRec(api.url, new OperatorTokenAuth("operator-token"), { retry: FAST, ...options });
}

test("the operator's token goes raw in Authorization, without an API key, afresh per attempt", async (t) => {
  const api = (await fakeApi(t)).reply(reply(503, { code: "upstream_unavailable", message: "CloudWatch" }));
  api.default = reply(200, { generated_at: NOW, days: 7 });
  let n = 0;
  const tokens = new MusicRec(api.url, new OperatorTokenAuth(async () => `token-${++n}`), { retry: FAST });
  await tokens.kpis();
  assert.deepEqual(api.received.map((r) => r.headers.authorization), ["token-1", "token-2"]);
  for (const sent of api.received) {
    assert.equal(sent.headers["x-api-key"], undefined);
    assert.equal(sent.headers["x-admin-key"], undefined);
  }
});

test("each admin route's method, path and query", async (t) => {
  const api = await fakeApi(t);
  api.default = reply(200, { generated_at: NOW });
  const ops = console(api);
  await ops.traffic({ hours: 6, period: 300 });
  await ops.traffic();
  await ops.experiments({ days: 3, period: 86400, hours: 12 });
  await ops.kpis({ days: 2 });
  await ops.models();
  await ops.previewListener("u/1", { limit: 5, region: "us-tx" });
  assert.deepEqual(api.received.map((r) => `${r.method} ${r.target}`), [
    "GET /v1/admin/traffic?hours=6&period=300",
    "GET /v1/admin/traffic",
    "GET /v1/admin/experiments?days=3&period=86400&hours=12",
    "GET /v1/admin/kpis?days=2",
    "GET /v1/admin/models",
    "GET /v1/admin/listeners/u%2F1/preview?limit=5&region=us-tx",
  ]);
});

test("answers come back as the API's JSON", async (t) => {
  const api = await fakeApi(t);
  const traffic = {
    generated_at: NOW, start: NOW, end: NOW, period_s: 60,
    routes: [{ method: "GET", path: "/v1/users/{userId}/home", count: series(3, null), errors_4xx: series(1, null),
      errors_5xx: series(0, null), p50_ms: series(12.5, null), p99_ms: series(80.1, null),
      totals: { count: 3, errors_4xx: 1, errors_5xx: 0 } }],
    fallback_rate: { onboarding: series(null, 25) },
  };
  api.default = reply(200, traffic);
  const answer = await console(api).traffic();
  assert.deepEqual(answer, traffic);
  assert.deepEqual(answer.routes[0].p99_ms.values, [80.1, null]);
});

test("the onboarding preview sends the answers as its body and the variant in its query", async (t) => {
  const api = await fakeApi(t);
  api.default = reply(200, { generated_at: NOW, variant: "rules", assignment: { by: "variant", unit: null } });
  const ops = console(api);
  const answer = await ops.previewOnboarding({ age: 30, gender: "f", selected_genres: ["rock"] }, { variant: "rules" });
  await ops.previewOnboarding();
  const [first, second] = api.received;
  assert.deepEqual([first.method, first.target], ["POST", "/v1/admin/preview/onboarding?variant=rules"]);
  assert.deepEqual(JSON.parse(first.body), { age: 30, gender: "f", selected_genres: ["rock"] });
  assert.equal(first.headers["content-type"], "application/json");
  assert.deepEqual([second.target, JSON.parse(second.body)], ["/v1/admin/preview/onboarding", {}]);
  assert.equal(answer.assignment.by, "variant");
});

test("a rollback sends the expected active version", async (t) => {
  const api = await fakeApi(t);
  api.default = reply(200, ROLLED_BACK);
  const answer = await console(api).rollbackBatch("b2");
  const [sent] = api.received;
  assert.deepEqual([sent.method, sent.target], ["POST", "/v1/admin/batch/rollback"]);
  assert.deepEqual(JSON.parse(sent.body), { expected_active: "b2" });
  assert.deepEqual([answer.active, answer.rolled_back_from], ["b1", "b2"]);
  await assert.rejects(console(api).rollbackBatch(""), TypeError);
  assert.equal(api.received.length, 1);
});

test("a stale rollback is a 409 conflict naming the field, not retried", async (t) => {
  const api = await fakeApi(t);
  api.default = reply(409, CONFLICT);
  await assert.rejects(console(api).rollbackBatch("b2"), (error) => {
    assert.ok(error instanceof ClientError);
    assert.deepEqual([error.status, error.code, error.field], [409, "conflict", "expected_active"]);
    return true;
  });
  assert.equal(api.received.length, 1);
});

test("a rollback whose answer was lost is retried with the same expected version: a 409 then", async (t) => {
  // the first attempt's answer comes too late: it may have rolled back, and the retry's
  // expected_active makes it a 409 rather than a second switch
  const api = (await fakeApi(t)).reply(reply(200, ROLLED_BACK, { delayMs: 500 }), reply(409, CONFLICT));
  await assert.rejects(console(api, { timeoutMs: 100 }).rollbackBatch("b2"), (error) => error.code === "conflict");
  assert.deepEqual(api.bodies(), [{ expected_active: "b2" }, { expected_active: "b2" }]);
});

test("a rollback is retried on 503 like every call; a caller may refuse retries", async (t) => {
  const api = (await fakeApi(t)).reply(reply(503, { code: "upstream_unavailable", message: "DynamoDB" }));
  api.default = reply(200, ROLLED_BACK);
  assert.equal((await console(api).rollbackBatch("b2")).active, "b1");
  assert.equal(api.received.length, 2);
  api.reply(reply(200, ROLLED_BACK, { delayMs: 500 }));
  const once = console(api).withOptions({ timeoutMs: 100, retry: NO_RETRIES });
  await assert.rejects(once.rollbackBatch("b1"), TimeoutError);
  assert.equal(api.received.length, 3);
});

test("the admin routes wait 30 s by default; a timeout given applies to them too", async (t) => {
  assert.equal(ADMIN_TIMEOUT_MS, 30_000);
  const api = await fakeApi(t);
  api.default = reply(200, { generated_at: NOW }, { delayMs: 300 });
  await assert.rejects(console(api, { timeoutMs: 100, retry: NO_RETRIES }).models(), TimeoutError);
  assert.equal((await console(api, { retry: NO_RETRIES }).models()).generated_at, NOW);
});

test("errors carry the API's code, message and field", async (t) => {
  const api = await fakeApi(t);
  const cases = [
    [reply(400, { code: "invalid_request", message: "period: more than 1440 points", field: "period" }), ValidationError],
    [reply(403, { code: "forbidden", message: "an operator's token", field: "Authorization" }), AuthError],
    [reply(401, { message: "Unauthorized" }, { headers: { "x-amzn-errortype": "UnauthorizedException" } }), AuthError],
    [reply(503, { code: "upstream_unavailable", message: "CloudWatch GetMetricData failed" }), ServerError],
  ];
  for (const [scripted, kind] of cases) {
    api.received.length = 0;
    api.default = scripted;
    await assert.rejects(console(api, { retry: NO_RETRIES }).traffic({ hours: 72 }), (error) => {
      assert.ok(error instanceof kind, `${scripted.status}`);
      assert.equal(error.status, scripted.status);
      assert.equal(error.code, scripted.body.code ?? "UnauthorizedException");
      assert.equal(error.message, scripted.body.message);
      assert.equal(error.field, scripted.body.field);
      return true;
    });
  }
});
