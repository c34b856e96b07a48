// The client follows docs/openapi.json: src/schema.d.ts is what `npm run generate` writes from
// it today (byte for byte), the package's version is the API's, every route has a method, and
// the event rules the client checks before sending are the document's.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

import { API_VERSION, EVENT_TYPES, MAX_PER_REQUEST, MusicRec, ROUTES } from "../dist/index.js";
import { ID_MAX_LENGTH, ID_PATTERN, NEEDS, TS_MAX } from "../dist/events.js";

const PACKAGE = fileURLToPath(new URL("..", import.meta.url));
const DOCUMENT_PATH = join(PACKAGE, "..", "..", "docs", "openapi.json");
const DOCUMENT = JSON.parse(readFileSync(DOCUMENT_PATH, "utf8"));
const SCHEMAS = DOCUMENT.components.schemas;

test("src/schema.d.ts is what `npm run generate` writes from docs/openapi.json", (t) => {
  const dir = mkdtempSync(join(tmpdir(), "musicrec-schema-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const out = join(dir, "schema.d.ts");
  const done = spawnSync(process.execPath, ["scripts/generate.js", "--out", out], { cwd: PACKAGE, encoding: "utf8" });
  assert.equal(done.status, 0, `scripts/generate.js failed:\n${done.stdout}${done.stderr}`);
  const fresh = readFileSync(out);
  const committed = readFileSync(join(PACKAGE, "src", "schema.d.ts"));
  assert.ok(
    fresh.equals(committed),
    "docs/openapi.json changed and the client was not regenerated: run `npm run generate` in " +
      "clients/typescript (then `npm run build` and these tests)",
  );
  assert.ok(readFileSync(join(PACKAGE, "dist", "schema.d.ts")).equals(committed), "dist/ is stale: npm run build");
});

test("the package's version is the API's", () => {
  const pkg = JSON.parse(readFileSync(join(PACKAGE, "package.json"), "utf8"));
  const lock = JSON.parse(readFileSync(join(PACKAGE, "package-lock.json"), "utf8"));
  assert.equal(pkg.name, "@musicrec/client");
  assert.equal(pkg.version, DOCUMENT.info.version, "package.json's version: docs/openapi.json info.version");
  assert.equal(API_VERSION, DOCUMENT.info.version, "src/version.ts: docs/openapi.json info.version");
  assert.equal(lock.version, pkg.version, "package-lock.json: run npm install");
  assert.equal(lock.packages[""].version, pkg.version, "package-lock.json: run npm install");
});

test("every dependency is pinned to an exact version", () => {
  const pkg = JSON.parse(readFileSync(join(PACKAGE, "package.json"), "utf8"));
  for (const kind of ["dependencies", "devDependencies"]) {
    for (const [name, version] of Object.entries(pkg[kind] ?? {})) {
      assert.match(version, /^\d+\.\d+\.\d+$/, `${kind}: ${name}@${version}`);
    }
  }
});

test("every route of the document has exactly one client method", () => {
  const routes = Object.entries(DOCUMENT.paths).flatMap(([path, item]) =>
    Object.keys(item).filter((m) => ["get", "put", "post", "delete", "patch"].includes(m)).map((m) => `${m.toUpperCase()} ${path}`),
  );
  assert.deepEqual(Object.values(ROUTES).sort(), routes.sort(), "ROUTES in src/client.ts");
  for (const method of Object.keys(ROUTES)) {
    assert.equal(typeof MusicRec.prototype[method], "function", `MusicRec.${method}`);
  }
});

test("the event rules checked before sending are the document's", () => {
  const event = SCHEMAS.Event;
  assert.deepEqual([...EVENT_TYPES].sort(), [...event.properties.type.enum].sort());
  const needs = {};
  for (const rule of event.allOf) {
    const [field] = rule.then.required;
    for (const type of rule.if.properties.type.enum) needs[type] = field;
  }
  assert.deepEqual(needs, NEEDS);
  assert.deepEqual(event.required.sort(), ["event_id", "type", "user_id"]);
  for (const [name, schema] of Object.entries(event.properties)) {
    if (name === "type" || name === "ts") continue;
    const string = schema.anyOf ? schema.anyOf.find((s) => s.type === "string") : schema;
    assert.equal(string.pattern, ID_PATTERN.source, name);
    assert.equal(string.maxLength, ID_MAX_LENGTH, name);
    assert.equal(string.minLength, 1, name);
  }
  const ts = event.properties.ts.anyOf.find((s) => s.type === "integer");
  assert.deepEqual([ts.minimum, ts.maximum], [0, TS_MAX]);
  assert.equal(SCHEMAS.EventBatch.properties.events.maxItems, MAX_PER_REQUEST);
  assert.equal(event.additionalProperties, false);
});
