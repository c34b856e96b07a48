// Credentials: the headers each kind sends (docs/security.md), and SigV4 signatures checked
// against an independent implementation of AWS's algorithm (node:crypto).
import assert from "node:assert/strict";
import { createHash, createHmac } from "node:crypto";
import { test } from "node:test";

import {
  AdminKeyAuth,
  API_VERSION,
  ListenerAuth,
  MusicRec,
  OperatorAuth,
  ServerAuth,
} from "../dist/index.js";
import { environmentCredentials, sigv4 } from "../dist/sigv4.js";
import { fakeApi } from "./support/fake-api.js";

const KEYS = { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" };
const WHEN = new Date("2026-12-06T12:34:56Z");

test("a listener's app: the API key and the raw ID token", async (t) => {
  const api = await fakeApi(t);
  await new MusicRec(api.url, new ListenerAuth("app-key", "eyJ.token.sig")).artists("u1", { limit: 3 });
  const [sent] = api.received;
  assert.equal(sent.headers["x-api-key"], "app-key");
  assert.equal(sent.headers.authorization, "eyJ.token.sig");
  assert.equal(sent.headers.accept, "application/json");
  assert.equal(sent.headers["user-agent"], `musicrec-client/${API_VERSION} node/${process.versions.node}`);
  assert.equal(sent.headers["x-admin-key"], undefined);
  assert.equal(sent.target, "/v1/users/u1/artists?limit=3");
});

test("an operator locally: the admin key only", async (t) => {
  const api = await fakeApi(t);
  await new MusicRec(api.url, new AdminKeyAuth("local-admin-key")).setAvailability("s1", false);
  const [sent] = api.received;
  assert.equal(sent.method, "PUT");
  assert.equal(sent.target, "/v1/catalog/items/s1/availability");
  assert.deepEqual(JSON.parse(sent.body), { available: false });
  assert.equal(sent.headers["x-admin-key"], "local-admin-key");
  assert.equal(sent.headers["x-api-key"], undefined);
  assert.equal(sent.headers.authorization, undefined);
});

test("no credentials: no credential headers", async (t) => {
  const api = await fakeApi(t);
  await new MusicRec(`${api.url}/`, null).home("u1");
  const [sent] = api.received;
  assert.equal(sent.target, "/v1/users/u1/home");
  for (const name of ["x-api-key", "authorization", "x-admin-key"]) assert.equal(sent.headers[name], undefined);
});

test("ids are percent-encoded in the path, queries in the query string", async (t) => {
  const api = await fakeApi(t);
  const rec = new MusicRec(`${api.url}/prod`, null);
  await rec.similarItems("s/1#2", { user_id: "u@x", limit: 5, max_per_artist: 1 });
  await rec.recommendations("u:1", { kind: "artists", region: "us-tx" });
  await rec.similarArtists("a 1");
  assert.deepEqual(api.received.map((r) => r.target), [
    "/prod/v1/items/s%2F1%232/similar?user_id=u%40x&limit=5&max_per_artist=1",
    "/prod/v1/users/u%3A1/recommendations?kind=artists&region=us-tx",
    "/prod/v1/artists/a%201/similar",
  ]);
});

test("a backend: the API key and a SigV4 signature over it, checked independently", async (t) => {
  const api = await fakeApi(t);
  const sign = sigv4({ region: "eu-west-1", credentials: KEYS, now: () => WHEN });
  const backend = new MusicRec(`${api.url}/prod`, new ServerAuth("app-key", sign));
  await backend.home("u@x", { limit: 2, carousels: 3 });
  await backend.onboard({ user_id: "u@x", age: 30 });
  for (const sent of api.received) {
    assert.equal(sent.headers["x-api-key"], "app-key");
    assert.equal(sent.headers["x-amz-date"], "20261206T123456Z");
    const expected = independentSignature(sent, "eu-west-1", KEYS);
    assert.equal(sent.headers.authorization, expected);
  }
  assert.match(api.received[1].headers.authorization, /SignedHeaders=content-type;host;x-amz-date;x-api-key,/);
  assert.match(api.received[0].headers.authorization, /SignedHeaders=host;x-amz-date;x-api-key,/);
});

test("an operator in AWS: SigV4, no API key; a session token is sent and signed", async (t) => {
  const api = await fakeApi(t);
  const keys = { ...KEYS, sessionToken: "session/token+=" };
  const operator = new MusicRec(api.url, new OperatorAuth(sigv4({ region: "us-east-1", credentials: async () => keys, now: () => WHEN })));
  await operator.setAvailability("s00001", true);
  const [sent] = api.received;
  assert.equal(sent.headers["x-api-key"], undefined);
  assert.equal(sent.headers["x-amz-security-token"], "session/token+=");
  assert.match(sent.headers.authorization, /SignedHeaders=content-type;host;x-amz-date;x-amz-security-token,/);
  assert.equal(sent.headers.authorization, independentSignature(sent, "us-east-1", keys));
});

test("each attempt is signed again (a fresh date), by a pluggable signer", async (t) => {
  const api = (await fakeApi(t)).reply({ status: 503, body: {} });
  const seen = [];
  const signer = (request) => {
    seen.push([request.method, request.url.pathname, request.body && Buffer.from(request.body).toString()]);
    request.headers.set("authorization", `custom ${seen.length}`);
  };
  const rec = new MusicRec(api.url, new ServerAuth("k", signer), { retry: { baseDelayMs: 1 } });
  await rec.onboard({ age: 20 });
  assert.deepEqual(seen, [["POST", "/v1/onboarding/recommendations", '{"age":20}'], ["POST", "/v1/onboarding/recommendations", '{"age":20}']]);
  assert.deepEqual(api.received.map((r) => r.headers.authorization), ["custom 1", "custom 2"]);
});

test("SigV4 credentials and region from the environment", () => {
  assert.deepEqual(environmentCredentials({ AWS_ACCESS_KEY_ID: "a", AWS_SECRET_ACCESS_KEY: "s" }), { accessKeyId: "a", secretAccessKey: "s", sessionToken: undefined });
  assert.throws(() => environmentCredentials({}), /AWS_ACCESS_KEY_ID/);
  const saved = { ...process.env };
  try {
    delete process.env.AWS_REGION;
    delete process.env.AWS_DEFAULT_REGION;
    assert.throws(() => sigv4({ credentials: KEYS }), /region/);
    process.env.AWS_REGION = "eu-central-1";
    assert.equal(typeof sigv4({ credentials: KEYS }), "function");
  } finally {
    process.env = saved;
  }
});

// AWS Signature Version 4, from its specification: the canonical request (the path encoded once
// more, as for every service but S3), the string to sign, the derived key.
function independentSignature(sent, region, keys) {
  const header = sent.headers.authorization;
  const signedHeaders = /SignedHeaders=([^,]+)/.exec(header)[1].split(";");
  const url = new URL(sent.target, "http://placeholder");
  const encode = (text) => encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  const path = url.pathname.split("/").map(encode).join("/");
  const query = [...url.searchParams].map(([k, v]) => `${encode(k)}=${encode(v)}`).sort().join("&");
  const canonicalHeaders = signedHeaders.map((name) => `${name}:${String(sent.headers[name]).trim()}\n`).join("");
  const payload = createHash("sha256").update(sent.body).digest("hex");
  const canonical = [sent.method, path, query, canonicalHeaders, signedHeaders.join(";"), payload].join("\n");
  const date = sent.headers["x-amz-date"];
  const scope = `${date.slice(0, 8)}/${region}/execute-api/aws4_request`;
  const toSign = ["AWS4-HMAC-SHA256", date, scope, createHash("sha256").update(canonical).digest("hex")].join("\n");
  const hmac = (key, text) => createHmac("sha256", key).update(text).digest();
  let key = `AWS4${keys.secretAccessKey}`;
  for (const part of [date.slice(0, 8), region, "execute-api", "aws4_request"]) key = hmac(key, part);
  const signature = createHmac("sha256", key).update(toSign).digest("hex");
  return `AWS4-HMAC-SHA256 Credential=${keys.accessKeyId}/${scope}, SignedHeaders=${signedHeaders.join(";")}, Signature=${signature}`;
}
