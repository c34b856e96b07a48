// Compile-time tests of the client's types (type-checked by `npm run build`, never run): the
// answers' types follow the arguments, and the requests' types are the document's.
import {
  MusicRec,
  ListenerAuth,
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
}
