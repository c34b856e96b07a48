// A tiny real HTTP server for the client's unit tests (node:http): it answers each request with
// the next scripted reply (status, headers, JSON body, delays, or a dropped connection) and
// records what it received.
import { createServer } from "node:http";

/**
 * A scripted reply: `body` an object (sent as JSON), a string or Buffer (sent as is) or null
 * (no body); `delayMs` before the headers; `bodyDelayMs` between the headers and the body;
 * `drop`: destroy the connection without answering.
 */
export function reply(status = 200, body = {}, options = {}) {
  return { status, body, headers: options.headers ?? {}, delayMs: options.delayMs ?? 0,
    bodyDelayMs: options.bodyDelayMs ?? 0, drop: options.drop ?? false };
}

export const DROP = { drop: true };

/** The answer every route of the client expects (an envelope and the fields a test reads). */
export const OK = { recommendation_id: "r1", variant: "v", model_version: "m", items: [] };

export class FakeApi {
  constructor() {
    this.script = [];
    this.default = reply(200, OK);
    this.respond = null; // (received) => the reply once the script is used up, instead of default
    this.received = [];
    this.url = "";
    this.sockets = new Set();
    this.server = createServer((request, response) => this.#answer(request, response));
    this.server.on("connection", (socket) => {
      this.sockets.add(socket);
      socket.on("close", () => this.sockets.delete(socket));
    });
  }

  /** Append replies to the script (then `default` answers). */
  reply(...replies) {
    this.script.push(...replies);
    return this;
  }

  async start() {
    await new Promise((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${this.server.address().port}`;
    return this;
  }

  async stop() {
    for (const socket of this.sockets) socket.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }

  /** The JSON bodies received. */
  bodies() {
    return this.received.map((r) => JSON.parse(r.body.toString("utf8")));
  }

  async #answer(request, response) {
    const chunks = [];
    for await (const chunk of request) chunks.push(chunk);
    const received = { method: request.method, target: request.url, headers: request.headers,
      body: Buffer.concat(chunks), at: performance.now() };
    this.received.push(received);
    const next = this.script.length
      ? this.script.shift()
      : (this.respond?.(received) ?? this.default);
    const scripted = { ...reply(), ...next };
    if (scripted.delayMs) await wait(scripted.delayMs);
    if (scripted.drop) {
      request.socket.destroy();
      return;
    }
    let payload = scripted.body;
    const headers = { ...scripted.headers };
    if (payload !== null && typeof payload === "object" && !Buffer.isBuffer(payload)) {
      payload = JSON.stringify(payload);
      headers["content-type"] ??= "application/json";
    }
    response.writeHead(scripted.status, headers);
    if (scripted.bodyDelayMs) {
      response.flushHeaders();
      await wait(scripted.bodyDelayMs);
      if (response.destroyed) return;
    }
    response.end(payload ?? undefined);
  }
}

export function wait(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A started FakeApi, stopped after the test (`t`: node:test's test context). */
export async function fakeApi(t) {
  const api = await new FakeApi().start();
  t.after(() => api.stop());
  return api;
}
