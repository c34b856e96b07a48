// The client against the running local stack (`make local`, or the stack of `make test`): every
// route, errors with the API's code, message and field, a listener's token refused for another
// listener, event batching and deduplication, the catalogue's operator route, SigV4 (the server
// access mode), and the console's admin routes. Skipped unless the stack's address and
// credentials are in the environment:
//
//   MUSICREC_URL          the gateway, e.g. http://127.0.0.1:3000
//   MUSICREC_API_KEY      the app's API key (local-api-key)
//   MUSICREC_USER         a listener with batch lists (e.g. u00001 of the local world)
//   MUSICREC_TOKEN        that listener's ID token (python -m local.token --user $MUSICREC_USER)
//   MUSICREC_OTHER_USER   another listener, for onboarding and as the intruder (e.g. sdk-ts-1)
//   MUSICREC_OTHER_TOKEN  their ID token
//   MUSICREC_ADMIN_KEY    the local operators' key (local-admin-key): the catalogue's route
//   MUSICREC_OPERATOR_TOKEN  the local operator's ID token (python -m local.token --operator):
//                         the console's admin routes
//   MUSICREC_SERVER_URL   a gateway of the stack in the server access mode (SigV4; optional),
//                         signed with MUSICREC_AWS_REGION (us-east-1) and the local keys
//                         (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, default test/test)
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { describe, test } from "node:test";

import {
  AdminKeyAuth,
  ARTIST_CAROUSELS,
  AuthError,
  ClientError,
  ListenerAuth,
  MusicRec,
  NotFound,
  OperatorTokenAuth,
  SONG_CAROUSELS,
  STATION_CAROUSELS,
  ServerAuth,
  ValidationError,
} from "../dist/index.js";
import { sigv4 } from "../dist/sigv4.js";

const env = process.env;
const REQUIRED = ["MUSICREC_URL", "MUSICREC_API_KEY", "MUSICREC_USER", "MUSICREC_TOKEN"];
const missing = REQUIRED.filter((name) => !env[name]);
const skipAll = missing.length
  ? `no local stack: ${missing.join(", ")} unset (see the top of test/stack.test.js; make test sets them)`
  : false;
const unless = (...names) => {
  const unset = names.filter((name) => !env[name]);
  return skipAll || (unset.length ? `${unset.join(", ")} unset` : false);
};

const known = env.MUSICREC_USER;
const other = env.MUSICREC_OTHER_USER;
const listener = () => new MusicRec(env.MUSICREC_URL, new ListenerAuth(env.MUSICREC_API_KEY, env.MUSICREC_TOKEN));
const otherListener = () => new MusicRec(env.MUSICREC_URL, new ListenerAuth(env.MUSICREC_API_KEY, env.MUSICREC_OTHER_TOKEN));

async function refusal(promise) {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  assert.fail("no error thrown");
}

describe("the local stack", { skip: skipAll }, () => {
  test("a known listener's lists, home screen and similar songs and artists", async () => {
    const api = listener();
    const songs = await api.recommendations(known, { limit: 10, max_per_artist: 1, max_per_album: 1 });
    assert.deepEqual([songs.kind, songs.source, songs.user_id, songs.items.length], ["songs", "personal", known, 10]);
    assert.equal(new Set(songs.items.map((s) => s.artist_id)).size, 10);
    for (const song of songs.items) {
      assert.equal(typeof song.id, "string");
      assert.equal(typeof song.title, "string");
      assert.equal(typeof song.score, "number");
    }
    for (const field of ["recommendation_id", "variant", "model_version"]) assert.ok(songs[field], field);

    const home = await api.home(known, { limit: 3, carousels: 4 });
    assert.ok(home.carousels.length >= 1 && home.carousels.length <= 4);
    assert.equal(home.user_id, known);
    assert.ok(home.policy.name && home.policy.version);
    home.carousels.forEach((carousel, place) => {
      assert.equal(carousel.position, place);
      assert.ok(carousel.propensity > 0 && carousel.propensity <= 1);
      assert.ok(carousel.recommendation_id && carousel.title);
      const field = SONG_CAROUSELS.includes(carousel.kind) ? "title"
        : ARTIST_CAROUSELS.includes(carousel.kind) || STATION_CAROUSELS.includes(carousel.kind) ? "name" : undefined;
      assert.ok(field, `a known kind: ${carousel.kind}`);
      for (const item of carousel.items) assert.equal(typeof item[field], "string", `${carousel.kind}: ${field}`);
    });

    const similar = await api.similarItems(songs.items[0].id, { user_id: known, limit: 5 });
    assert.equal(similar.item_id, songs.items[0].id);
    assert.ok(similar.items.length > 0 && similar.items.length <= 5);
    const artists = await api.artists(known, { limit: 4 });
    assert.deepEqual([artists.kind, artists.items.length], ["artists", 4]);
    assert.equal(typeof artists.items[0].name, "string");
    const fans = await api.similarArtists(artists.items[0].id, { limit: 5 });
    assert.equal(fans.artist_id, artists.items[0].id);
    assert.ok(fans.items.every((a) => typeof a.name === "string"));
    const byKind = await api.recommendations(known, { kind: "artists", limit: 3 });
    assert.deepEqual([byKind.kind, byKind.items.length], ["artists", 3]);
  });

  test("onboarding, then the new listener's lists", { skip: unless("MUSICREC_OTHER_USER", "MUSICREC_OTHER_TOKEN") }, async () => {
    const api = otherListener();
    const first = await api.onboard({ user_id: other, age: 30, gender: "f", limit: 5 });
    const genres = first.genres.map((g) => g.genre);
    const answer = await api.onboard({
      user_id: other, age: 30, selected_genres: genres.slice(0, 2).map((g) => g.toUpperCase()),
      answers: { occupation: "student" }, limit: 5,
    });
    assert.ok(["model", "rules", "fallback"].includes(answer.source));
    for (const list of ["stations", "songs", "artists"]) assert.ok(answer[list].length > 0, list);
    assert.ok(answer.batch_version);
    const songs = await api.recommendations(other, { limit: 5 });
    assert.deepEqual([songs.kind, songs.source, songs.items.length], ["songs", "onboarding", 5]);
    assert.ok(songs.items.every((s) => s.title));
    assert.equal((await api.artists(other, { limit: 4 })).items.length, 4);
  });

  test("a bad request is an error naming the field", async () => {
    const api = listener();
    const genre = await refusal(api.onboard({ user_id: known, selected_genres: ["No Such Genre"] }));
    assert.ok(genre instanceof ValidationError);
    assert.deepEqual([genre.status, genre.code, genre.field], [400, "invalid_request", "selected_genres.0"]);
    assert.match(genre.message, /^selected_genres\.0:/);
    const limit = await refusal(api.recommendations(known, { limit: 0 }));
    assert.deepEqual([limit.constructor, limit.code, limit.field], [ValidationError, "invalid_request", "limit"]);
    const song = await refusal(api.similarItems("no-such-song"));
    assert.ok(song instanceof NotFound);
    assert.deepEqual([song.status, song.code, song.field], [404, "not_found", "itemId"]);
  });

  test("a listener's token is refused for another listener", { skip: unless("MUSICREC_OTHER_TOKEN") }, async () => {
    const intruder = otherListener();
    const calls = [
      [() => intruder.recommendations(known), "userId"],
      [() => intruder.home(known), "userId"],
      [() => intruder.similarItems("s00001", { user_id: known }), "user_id"],
      [() => intruder.onboard({ user_id: known }), "user_id"],
    ];
    for (const [call, field] of calls) {
      const error = await refusal(call());
      assert.ok(error instanceof AuthError);
      assert.deepEqual([error.status, error.code, error.field], [403, "forbidden", field]);
    }
    intruder.events.track(known, "play", { item_id: "s00001" });
    const refused = await refusal(intruder.events.flush());
    assert.ok(refused instanceof AuthError);
    assert.equal(refused.field, "events.0.user_id");
    assert.equal(intruder.events.rejected.length, 1);
    assert.equal(intruder.events.pending, 0);
  });

  test("no token is API Gateway's 401; an app key alone is nothing", async () => {
    const anonymous = new MusicRec(env.MUSICREC_URL, null);
    const error = await refusal(anonymous.artists(known));
    assert.ok(error instanceof AuthError);
    assert.deepEqual([error.status, error.code, error.message], [401, "UnauthorizedException", "Unauthorized"]);
    const badToken = new MusicRec(env.MUSICREC_URL, new ListenerAuth(env.MUSICREC_API_KEY, "not.a.token"));
    assert.equal((await refusal(badToken.artists(known))).status, 401);
    const badKey = new MusicRec(env.MUSICREC_URL, new ListenerAuth("wrong-key", env.MUSICREC_TOKEN));
    const forbidden = await refusal(badKey.artists(known));
    assert.deepEqual([forbidden.status, forbidden.message], [403, "Forbidden"]);
  });

  test("events are batched by 100, and a batch sent again is acknowledged as duplicates", async () => {
    const api = listener();
    const run = randomUUID().slice(0, 8);
    const tracked = [];
    for (let i = 0; i < 150; i += 1) {
      tracked.push(api.events.track(known, "play", { item_id: `s${String(i).padStart(5, "0")}`, event_id: `ts-${run}-${i}` }));
    }
    await api.events.idle();
    assert.equal(api.events.pending, 50, "the first 100 went as one request");
    assert.equal(api.events.stored, 100);
    const [rest] = await api.close();
    assert.deepEqual([rest.accepted, rest.stored], [50, 50]);
    assert.equal(api.events.pending, 0);
    assert.equal(api.events.stored, 150);
    const again = await listener().postEvents(tracked.slice(0, 100));
    assert.deepEqual([again.accepted, again.stored, again.duplicates], [100, 0, 100]);
  });

  test("impressions and clicks of a carousel count", async () => {
    const api = listener();
    const [carousel] = (await api.home(known, { limit: 3 })).carousels;
    api.events.track(known, "impression", { recommendation_id: carousel.recommendation_id });
    const shown = carousel.items[0];
    const key = ARTIST_CAROUSELS.includes(carousel.kind) ? "artist_id" : "item_id";
    api.events.track(known, "click", { recommendation_id: carousel.recommendation_id, [key]: shown.id });
    const [ack] = await api.events.flush();
    assert.deepEqual([ack.stored, ack.counted], [2, 2], JSON.stringify(ack));
  });

  test("the operators' route", { skip: unless("MUSICREC_ADMIN_KEY") }, async () => {
    const operator = new MusicRec(env.MUSICREC_URL, new AdminKeyAuth(env.MUSICREC_ADMIN_KEY));
    const [song] = (await listener().recommendations(known, { limit: 1 })).items;
    const answer = await operator.setAvailability(song.id, true);
    assert.deepEqual([answer.item_id, answer.available], [song.id, true]);
    const unknown = await refusal(operator.setAvailability("no-such-song", true));
    assert.deepEqual([unknown.constructor, unknown.field], [NotFound, "itemId"]);
    const listenerAsOperator = await refusal(listener().setAvailability(song.id, true));
    assert.ok(listenerAsOperator instanceof AuthError);
    assert.equal(listenerAsOperator.status, 403);
  });

  test("a backend calls for any listener with SigV4", { skip: unless("MUSICREC_SERVER_URL") }, async () => {
    const credentials = {
      accessKeyId: env.AWS_ACCESS_KEY_ID || "test",
      secretAccessKey: env.AWS_SECRET_ACCESS_KEY || "test",
    };
    const sign = sigv4({ region: env.MUSICREC_AWS_REGION || "us-east-1", credentials });
    const backend = new MusicRec(env.MUSICREC_SERVER_URL, new ServerAuth(env.MUSICREC_API_KEY, sign));
    assert.equal((await backend.recommendations(known, { limit: 3 })).source, "personal");
    const someone = `sdk-ts-${randomUUID().slice(0, 8)}`;
    assert.equal((await backend.home(someone, { limit: 2 })).user_id, someone);
    assert.ok((await backend.onboard({ user_id: someone, age: 22 })).region);
    backend.events.track(someone, "play", { item_id: "s00001" });
    backend.events.track(known, "skip", { item_id: "s00002" });
    const [ack] = await backend.close();
    assert.equal(ack.accepted, 2);
    const unsigned = new MusicRec(env.MUSICREC_SERVER_URL, null);
    const error = await refusal(unsigned.artists(known));
    assert.deepEqual([error.status, error.message], [403, "Missing Authentication Token"]);
    const wrongKeys = sigv4({ region: env.MUSICREC_AWS_REGION || "us-east-1", credentials: { ...credentials, secretAccessKey: "wrong" } });
    const forged = new MusicRec(env.MUSICREC_SERVER_URL, new ServerAuth(env.MUSICREC_API_KEY, wrongKeys));
    const invalid = await refusal(forged.artists(known));
    assert.deepEqual([invalid.status, invalid.code], [403, "InvalidSignatureException"]);
  });

  describe("the console's admin routes", { skip: unless("MUSICREC_OPERATOR_TOKEN") }, () => {
    const ops = () => new MusicRec(env.MUSICREC_URL, new OperatorTokenAuth(env.MUSICREC_OPERATOR_TOKEN));
    const calls = [
      (api) => api.traffic(), (api) => api.experiments(), (api) => api.kpis(), (api) => api.models(),
      (api) => api.previewListener(known), (api) => api.previewOnboarding({ age: 30 }),
      (api) => api.rollbackBatch("sdk-ts-not-the-active-version"),
    ];

    test("reads with the operator's token", async () => {
      const api = ops();
      const traffic = await api.traffic({ hours: 1, period: 300 });
      assert.equal(traffic.period_s, 300);
      assert.ok(traffic.routes.some((r) => r.method === "GET" && r.path === "/v1/users/{userId}/home"));
      for (const route of traffic.routes) {
        assert.equal(route.count.timestamps.length, route.count.values.length);
        assert.equal(typeof route.totals.count, "number");
      }
      assert.ok("onboarding" in traffic.fallback_rate);
      const experiments = await api.experiments({ days: 1, period: 3600 });
      assert.ok(experiments.experiments.length > 0);
      for (const experiment of experiments.experiments) {
        assert.ok(experiment.variants.some((v) => v.variant === experiment.control), experiment.name);
      }
      const kpis = await api.kpis({ days: 2 });
      assert.deepEqual([kpis.days, kpis.plays_from_recommendations.by_day.values.length], [2, 2]);
      assert.equal(typeof kpis.follow_through.followers, "number");
      const models = await api.models();
      assert.ok(models.batch.active);
      assert.ok(models.batch.versions.some((v) => v.version === models.batch.active));
      assert.ok(Array.isArray(models.runs));
      const preview = await api.previewListener(known, { limit: 3 });
      assert.deepEqual([preview.user_id, preview.listener.known], [known, true]);
      assert.ok(preview.home.carousels.length > 0);
      assert.ok(preview.songs.items.length > 0);
      assert.ok(preview.artists.items.every((a) => typeof a.name === "string"));
    });

    test("the onboarding preview answers lists and their reasons", async () => {
      const api = ops();
      const preview = await api.previewOnboarding({ age: 30, gender: "f", region: "us-tx", limit: 5 });
      for (const list of ["genres", "stations", "songs", "artists"]) assert.ok(preview[list].length > 0, list);
      assert.deepEqual(Object.keys(preview.reasons).sort(), ["artists", "genres", "songs", "stations"]);
      assert.equal(preview.recommendation_id, undefined);
      const again = await api.previewOnboarding({ age: 30, region: "us-tx" }, { variant: preview.variant });
      assert.deepEqual([again.variant, again.assignment.by], [preview.variant, "variant"]);
      const unknown = await refusal(api.previewOnboarding({ age: 30 }, { variant: "no-such-variant" }));
      assert.deepEqual([unknown.constructor, unknown.field], [ValidationError, "variant"]);
    });

    test("a stale rollback is a 409 and changes nothing", async () => {
      // never the real active version: the session's other tests share this stack
      const api = ops();
      const before = (await api.models()).batch.active;
      const stale = await refusal(api.rollbackBatch("sdk-ts-not-the-active-version"));
      assert.ok(stale instanceof ClientError);
      assert.deepEqual([stale.status, stale.code, stale.field], [409, "conflict", "expected_active"]);
      assert.equal((await api.models()).batch.active, before);
    });

    test("a listener's token and the admin key are refused: 401", { skip: unless("MUSICREC_ADMIN_KEY") }, async () => {
      const adminKey = new MusicRec(env.MUSICREC_URL, new AdminKeyAuth(env.MUSICREC_ADMIN_KEY));
      for (const api of [listener(), adminKey]) {
        for (const call of calls) {
          const error = await refusal(call(api));
          assert.ok(error instanceof AuthError);
          assert.deepEqual([error.status, error.code], [401, "UnauthorizedException"]);
        }
      }
    });
  });
});
