// The event buffer: client-generated ids, validation before buffering, batches of 100 sent as
// soon as they are full, the rest on flush(), failed batches kept (or rejected), one send at a
// time.
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  AuthError,
  BufferFullError,
  EventBuffer,
  InvalidEventError,
  ListenerAuth,
  MusicRec,
  ServerError,
  ValidationError,
} from "../dist/index.js";
import { fakeApi, reply } from "./support/fake-api.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function acknowledge(n) {
  return { recommendation_id: "r", variant: "v", model_version: "m", accepted: n, stored: n, duplicates: 0, counted: 0 };
}

/** A fake API that acknowledges each batch it gets (after what is scripted). */
async function eventsApi(t) {
  const api = await fakeApi(t);
  api.respond = (received) => reply(200, acknowledge(JSON.parse(received.body).events.length));
  return api;
}

function client(api, options = {}) {
  return new MusicRec(api.url, new ListenerAuth("key", "token"), {
    retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 2 },
    ...options,
  });
}

test("track gives each event a random UUID and the time, and returns it", async (t) => {
  const api = await eventsApi(t);
  const rec = client(api);
  const before = Date.now();
  const event = rec.events.track("u1", "play", { item_id: "s00001" });
  assert.match(event.event_id, UUID);
  assert.ok(event.ts >= before && event.ts <= Date.now());
  assert.deepEqual(Object.keys(event).sort(), ["event_id", "item_id", "ts", "type", "user_id"]);
  const other = rec.events.track("u1", "click", { recommendation_id: "r1", item_id: "s1", ts: 5, event_id: "mine" });
  assert.deepEqual([other.event_id, other.ts], ["mine", 5]);
  assert.notEqual(rec.events.track("u1", "skip", { item_id: "s2" }).event_id, event.event_id);
  assert.equal(rec.events.pending, 3);
  assert.equal(api.received.length, 0, "nothing sent before a batch is full or a flush");
  const [ack] = await rec.close();
  assert.equal(ack.accepted, 3);
  assert.deepEqual(api.bodies()[0].events[0], event);
  assert.equal(rec.events.pending, 0);
});

test("an invalid event is refused at once and not buffered", async (t) => {
  const api = await eventsApi(t);
  const { events } = client(api);
  const refused = (call, field) => {
    assert.throws(call, (error) => {
      assert.ok(error instanceof InvalidEventError);
      assert.equal(error.field, field);
      return true;
    });
  };
  refused(() => events.track("u1", "play"), "item_id");
  refused(() => events.track("u1", "like", { artist_id: "a1" }), "item_id");
  refused(() => events.track("u1", "follow", { item_id: "s1" }), "artist_id");
  refused(() => events.track("u1", "click", { item_id: "s1" }), "recommendation_id");
  refused(() => events.track("u1", "impression"), "recommendation_id");
  refused(() => events.track("u1", "listen", { item_id: "s1" }), "type");
  refused(() => events.track("u 1", "play", { item_id: "s1" }), "user_id");
  refused(() => events.track("", "play", { item_id: "s1" }), "user_id");
  refused(() => events.track("u1", "play", { item_id: "s".repeat(129) }), "item_id");
  refused(() => events.track("u1", "play", { item_id: "s1", ts: -1 }), "ts");
  refused(() => events.track("u1", "play", { item_id: "s1", ts: 1.5 }), "ts");
  refused(() => events.add([{ event_id: "e", user_id: "u", type: "play", item_id: "s" }, { user_id: "u", type: "play" }]), "1.event_id");
  assert.equal(events.pending, 0);
  events.track("u1", "follow", { artist_id: "a00001" });
  events.track("u1", "impression", { recommendation_id: "abc123" });
  events.track("u.1@x:y#z/w-v_", "play", { item_id: "s1" });
  assert.equal(events.pending, 3);
});

test("a full batch of 100 goes at once, in the background; the rest on flush", async (t) => {
  const api = await eventsApi(t);
  const rec = client(api);
  for (let i = 0; i < 250; i += 1) rec.events.track("u1", "play", { item_id: `s${i}` });
  await rec.events.idle();
  assert.deepEqual(api.bodies().map((b) => b.events.length), [100, 100]);
  assert.equal(rec.events.pending, 50);
  assert.equal(rec.events.stored, 200);
  const acks = await rec.events.flush();
  assert.deepEqual(acks.map((a) => a.accepted), [50]);
  assert.equal(rec.events.pending, 0);
  assert.equal(rec.events.stored, 250);
  const ids = api.bodies().flatMap((b) => b.events.map((e) => e.item_id));
  assert.deepEqual(ids, Array.from({ length: 250 }, (_, i) => `s${i}`), "in order, each once");
  assert.deepEqual(await rec.events.flush(), [], "nothing left: no request");
  assert.equal(api.received.length, 3);
});

test("a smaller batch size", async (t) => {
  const api = await eventsApi(t);
  const rec = client(api, { eventBatchSize: 10 });
  for (let i = 0; i < 25; i += 1) rec.events.track("u1", "play", { item_id: `s${i}` });
  await rec.close();
  assert.deepEqual(api.bodies().map((b) => b.events.length), [10, 10, 5]);
  assert.throws(() => client(api, { eventBatchSize: 101 }), RangeError);
  assert.throws(() => client(api, { eventBatchSize: 0 }), RangeError);
});

test("a batch that failed (503, no answer) stays buffered and is sent again with the same ids", async (t) => {
  const api = await eventsApi(t);
  api.reply(reply(503, { code: "unavailable", message: "busy" }), reply(503, { code: "unavailable", message: "busy" }));
  const errors = [];
  const rec = client(api, { eventBatchSize: 2, onEventError: (error) => errors.push(error) });
  rec.events.track("u1", "play", { item_id: "s1" });
  rec.events.track("u1", "play", { item_id: "s2" }); // full: sent in the background, fails twice
  await rec.events.idle();
  assert.equal(errors.length, 1);
  assert.ok(errors[0] instanceof ServerError);
  assert.equal(rec.events.pending, 2);
  const [ack] = await rec.events.flush();
  assert.equal(ack.accepted, 2);
  const [first, , third] = api.bodies();
  assert.deepEqual(third.events, first.events, "the same events, the same ids");
  assert.equal(rec.events.pending, 0);
  assert.equal(rec.events.rejected.length, 0);
});

test("flush rejects when a batch fails, and keeps it", async (t) => {
  const api = await eventsApi(t);
  api.reply(reply(429, { code: "throttled", message: "later" }), reply(429, { code: "throttled", message: "later" }));
  const rec = client(api);
  rec.events.track("u1", "play", { item_id: "s1" });
  await assert.rejects(rec.events.flush(), (error) => error.status === 429);
  assert.equal(rec.events.pending, 1);
  assert.equal(rec.events.rejected.length, 0);
  await rec.events.flush();
  assert.equal(rec.events.pending, 0);
});

test("a batch the API refused (a 4xx) is dropped into rejected", async (t) => {
  const api = await eventsApi(t);
  api.reply(reply(403, { code: "forbidden", message: "events.0.user_id: not yours", field: "events.0.user_id" }));
  const rec = client(api);
  const event = rec.events.track("u2", "play", { item_id: "s1" });
  await assert.rejects(rec.events.flush(), (error) => {
    assert.ok(error instanceof AuthError);
    assert.equal(error.field, "events.0.user_id");
    return true;
  });
  assert.equal(rec.events.pending, 0);
  assert.deepEqual(rec.events.rejected, [event]);
  api.reply(reply(400, { code: "invalid_request", message: "events.0.ts: too old", field: "events.0.ts" }));
  rec.events.track("u1", "play", { item_id: "s1", ts: 1 });
  await assert.rejects(rec.events.flush(), ValidationError);
  assert.equal(rec.events.rejected.length, 2);
});

test("events tracked while a batch is being sent are kept, in order", async (t) => {
  const api = await eventsApi(t);
  api.reply(reply(200, acknowledge(2), { delayMs: 100 }));
  const rec = client(api, { eventBatchSize: 2 });
  rec.events.track("u1", "play", { item_id: "s1" });
  rec.events.track("u1", "play", { item_id: "s2" });
  rec.events.track("u1", "play", { item_id: "s3" }); // while the first batch is on its way
  rec.events.track("u1", "play", { item_id: "s4" });
  rec.events.track("u1", "play", { item_id: "s5" });
  const flushed = rec.events.flush(); // queued after the background send
  assert.equal(rec.events.pending, 5);
  await flushed;
  const sent = api.bodies().map((b) => b.events.map((e) => e.item_id));
  assert.deepEqual(sent, [["s1", "s2"], ["s3", "s4"], ["s5"]]);
  assert.equal(rec.events.stored, 5);
});

test("at most maxPending events wait", async (t) => {
  const api = await eventsApi(t);
  api.respond = null;
  api.default = reply(503, {});
  const rec = client(api, { maxPendingEvents: 3, retry: { maxAttempts: 1 } });
  rec.events.track("u1", "play", { item_id: "s1" });
  rec.events.track("u1", "play", { item_id: "s2" });
  rec.events.track("u1", "play", { item_id: "s3" });
  assert.throws(() => rec.events.track("u1", "play", { item_id: "s4" }), BufferFullError);
  assert.equal(rec.events.pending, 3);
});

test("ids from the client's newEventId (where crypto.randomUUID is missing)", async (t) => {
  const api = await eventsApi(t);
  let n = 0;
  const rec = client(api, { newEventId: () => `app-${(n += 1)}` });
  assert.equal(rec.events.track("u1", "play", { item_id: "s1" }).event_id, "app-1");
  const buffer = new EventBuffer(async () => acknowledge(1), { newEventId: () => "x-1", now: () => 42 });
  assert.deepEqual(buffer.track("u", "like", { item_id: "s" }), { event_id: "x-1", user_id: "u", type: "like", ts: 42, item_id: "s" });
});

test("postEvents: one request, events as given", async (t) => {
  const api = await eventsApi(t);
  const rec = client(api);
  const events = [{ event_id: "e1", user_id: "u1", type: "play", item_id: "s1" }];
  const ack = await rec.postEvents(events);
  assert.equal(ack.accepted, 1);
  assert.deepEqual(api.bodies(), [{ events }]);
  assert.equal(api.received[0].method, "POST");
  assert.equal(api.received[0].target, "/v1/events");
  assert.equal(api.received[0].headers["content-type"], "application/json");
  await assert.rejects(rec.postEvents([{ event_id: "e1", user_id: "u1", type: "play" }]), (error) => error.field === "events.0.item_id");
});
