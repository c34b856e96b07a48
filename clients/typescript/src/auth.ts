/**
 * The credentials a call carries (docs/security.md), applied to each attempt of a request:
 *
 * - {@link ListenerAuth}: a listener's app: the app's API key (`x-api-key`) and the listener's
 *   Cognito ID token, raw in `Authorization`; it acts only for that listener.
 * - {@link ServerAuth}: a backend (`api_access=server`): the API key and a SigV4 signature
 *   (service `execute-api`) by AWS credentials allowed `execute-api:Invoke`; any listener.
 * - {@link OperatorTokenAuth}: the console's admin routes (`/v1/admin/...`): an ID token of the
 *   operators' Cognito user pool, raw in `Authorization`, no API key (AWS and local alike).
 * - {@link OperatorAuth}: the catalogue's operator route in AWS: a SigV4 signature, no API key.
 * - {@link AdminKeyAuth}: the catalogue's operator route of the local gateway (`make local`),
 *   which takes an `x-admin-key` header instead of IAM.
 *
 * SigV4 is a {@link Signer}: `sigv4()` from `@musicrec/client/sigv4` (which needs
 * `@smithy/signature-v4` and `@aws-crypto/sha256-js`), or your own.
 */

export const API_KEY_HEADER = "x-api-key";
export const ADMIN_KEY_HEADER = "x-admin-key";
export const TOKEN_HEADER = "authorization";

/** One attempt of a request, as it will be sent: credentials set its headers. */
export interface SignableRequest {
  readonly method: string;
  readonly url: URL;
  readonly headers: Headers;
  /** The exact bytes of the body, if any. */
  readonly body: Uint8Array | undefined;
}

/** Credentials: set the headers of one attempt of a request (a signature is per attempt). */
export interface Auth {
  apply(request: SignableRequest): void | Promise<void>;
}

/** Adds a signature (`Authorization`, `X-Amz-Date`, ...) for exactly this URL, body and headers. */
export type Signer = (request: SignableRequest) => void | Promise<void>;

/** A value, or a function returning it (called for each attempt: let it cache and refresh). */
export type Provider<T> = T | (() => T | Promise<T>);

async function resolve<T>(value: Provider<T>): Promise<T> {
  return typeof value === "function" ? await (value as () => T | Promise<T>)() : value;
}

/** The app's API key and a listener's ID token; the token may be a function returning it. */
export class ListenerAuth implements Auth {
  readonly apiKey: string;
  readonly #idToken: Provider<string>;

  constructor(apiKey: string, idToken: Provider<string>) {
    this.apiKey = apiKey;
    this.#idToken = idToken;
  }

  async apply(request: SignableRequest): Promise<void> {
    request.headers.set(API_KEY_HEADER, this.apiKey);
    request.headers.set(TOKEN_HEADER, await resolve(this.#idToken));
  }
}

/**
 * An operator's ID token (of the operators' user pool, not the listeners') for the console's
 * admin routes; it may be a function returning it (called for each attempt: let it cache and
 * refresh). No API key: these routes take none.
 */
export class OperatorTokenAuth implements Auth {
  readonly #idToken: Provider<string>;

  constructor(idToken: Provider<string>) {
    this.#idToken = idToken;
  }

  async apply(request: SignableRequest): Promise<void> {
    request.headers.set(TOKEN_HEADER, await resolve(this.#idToken));
  }
}

/** The local gateway's operator key (`make local`: `local-admin-key`), for the catalogue's route. */
export class AdminKeyAuth implements Auth {
  readonly #adminKey: string;

  constructor(adminKey: string) {
    this.#adminKey = adminKey;
  }

  apply(request: SignableRequest): void {
    request.headers.set(ADMIN_KEY_HEADER, this.#adminKey);
  }
}

/** A backend's calls (`api_access=server`): the API key, then a SigV4 signature by `sign`. */
export class ServerAuth implements Auth {
  readonly apiKey: string;
  readonly sign: Signer;

  constructor(apiKey: string, sign: Signer) {
    this.apiKey = apiKey;
    this.sign = sign;
  }

  async apply(request: SignableRequest): Promise<void> {
    request.headers.set(API_KEY_HEADER, this.apiKey); // set first: the signature covers it
    await this.sign(request);
  }
}

/** An operator's calls to the catalogue's route in AWS: a SigV4 signature (IAM), no API key. */
export class OperatorAuth implements Auth {
  readonly sign: Signer;

  constructor(sign: Signer) {
    this.sign = sign;
  }

  async apply(request: SignableRequest): Promise<void> {
    await this.sign(request);
  }
}
