#!/usr/bin/env node
// `npm test`: every test/*.test.js with Node's test runner (`--unit`: all but the local stack's).
// Extra arguments go to `node --test` (e.g. --test-name-pattern=retry).
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const PACKAGE = join(dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const unit = args.includes("--unit");
const files = readdirSync(join(PACKAGE, "test"))
  .filter((name) => name.endsWith(".test.js") && !(unit && name === "stack.test.js"))
  .sort()
  .map((name) => join("test", name));
const options = args.filter((arg) => arg !== "--unit");
const done = spawnSync(process.execPath, ["--test", ...options, ...files], {
  cwd: PACKAGE,
  stdio: "inherit",
});
process.exit(done.status ?? 1);
