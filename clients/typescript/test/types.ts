// Compile-time tests of the client's types (type-checked by `npm run build`, never run): the
// answers' types follow the arguments, and the requests' types are the document's.
import {
  MusicRec,
  ListenerAuth,
  OperatorTokenAuth,
  type ListenerPreview,
  type Models,
  type Traffic,
  type Artist,
  type ArtistList,
  type Carousel,
  type Event,
  type OnboardingRequest,
  type Song,
  type SongList,
  type Station,
} from "../src/index.js";

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function expectType<T extends true>(): T | undefined {
  return undefined;
}

export async function types(api: MusicRec): Promise<void> {
  const songs = await api.recommendations("u1", { limit: 5 });
  expectType<Equal<typeof songs, SongList>>();
  const artists = await api.recommendations("u1", { kind: "artists" });
  expectType<Equal<typeof artists, ArtistList>>();
  expectType<Equal<(typeof artists.items)[number], Artist>>();

  const home = await api.home("u1", { carousels: 3 });
  const carousel: Carousel = home.carousels[0]!;
  if (carousel.kind === "fans_also_like") expectType<Equal<(typeof carousel.items)[number], Artist>>();
  if (carousel.kind === "region_chart") expectType<Equal<(typeof carousel.items)[number], Song>>();
  if (carousel.kind === "genre_station") expectType<Equal<(typeof carousel.items)[number], Station>>();

  // @ts-expect-error: not a query parameter of the route (the document's)
  await api.artists("u1", { max_per_album: 1 });
  // @ts-expect-error: kind is songs or artists
  await api.recommendations("u1", { kind: "albums" });
  // @ts-expect-error: gender is f, m or x
  const wrong: OnboardingRequest = { gender: "q" };
  void wrong;
  // @ts-expect-error: not an event type
  api.events.track("u1", "listen", { item_id: "s1" });
  const event: Event = api.events.track("u1", "play", { item_id: "s1" });
  expectType<Equal<typeof event.event_id, string>>();
  // @ts-expect-error: the token is a string or a function returning one
  new ListenerAuth("key", 42);

  // the console's admin routes
  const traffic = await api.traffic({ hours: 6, period: 300 });
  expectType<Equal<typeof traffic, Traffic>>();
  // @ts-expect-error: period is 60, 300 or 3600
  await api.traffic({ period: 120 });
  // @ts-expect-error: the experiments' period is 300, 3600 or 86400
  await api.experiments({ period: 60 });
  const models: Models = await api.models();
  expectType<Equal<typeof models.batch.active, string | null>>();
  const preview: ListenerPreview = await api.previewListener("u1", { limit: 5 });
  expectType<Equal<(typeof preview.artists.items)[number], Artist>>();
  const previewed = await api.previewOnboarding({ age: 30 }, { variant: "rules" });
  // @ts-expect-error: a preview is not recorded: it has no recommendation_id
  void previewed.recommendation_id;
  // @ts-expect-error: the expected active version is a string
  await api.rollbackBatch(3);
  // @ts-expect-error: the token is a string or a function returning one
  new OperatorTokenAuth(42);
}
