#!/usr/bin/env node
// `npm run build` (and `prepare`, so `npm ci` builds): compile src/ to dist/ with tsc, copy the
// generated src/schema.d.ts next to the declarations that import it (tsc does not copy .d.ts
// files), then type-check test/types.ts, the compile-time tests of the client's types.
import { spawnSync } from "node:child_process";
import { copyFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const PACKAGE = join(dirname(fileURLToPath(import.meta.url)), "..");
const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");

function run(...args) {
  const done = spawnSync(process.execPath, [tsc, ...args], { cwd: PACKAGE, stdio: "inherit" });
  if (done.status !== 0) process.exit(done.status ?? 1);
}

rmSync(join(PACKAGE, "dist"), { recursive: true, force: true });
run("-p", "tsconfig.json");
copyFileSync(join(PACKAGE, "src", "schema.d.ts"), join(PACKAGE, "dist", "schema.d.ts"));
run("-p", join("test", "tsconfig.json"));
