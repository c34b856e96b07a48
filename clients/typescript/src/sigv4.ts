/**
 * `@musicrec/client/sigv4`: a SigV4 `Signer` (service `execute-api`) for `ServerAuth` and
 * `OperatorAuth`, with `@smithy/signature-v4` (the AWS SDK's signer)
 * and `@aws-crypto/sha256-js`, both optional peer dependencies of this package: a backend
 * installs them, an app in a browser or on a phone never needs them (AWS credentials do not
 * belong in an app).
 *
 * ```ts
 * import { MusicRec, ServerAuth } from "@musicrec/client";
 * import { sigv4 } from "@musicrec/client/sigv4";
 * const api = new MusicRec(url, new ServerAuth(apiKey, sigv4({ region: "eu-west-1" })));
 * ```
 *
 * It signs the host, the date, the content type and the API key, as the Python client does (a
 * listener's token is never signed: it goes raw in `Authorization`).
 */
import { Sha256 } from "@aws-crypto/sha256-js";
import { SignatureV4 } from "@smithy/signature-v4";

import { API_KEY_HEADER, type Signer } from "./auth.js";

export const SERVICE = "execute-api";
/** What a signature covers besides the host and the date: headers a proxy leaves alone. */
export const SIGNED_HEADERS: readonly string[] = ["content-type", API_KEY_HEADER];
const ADDED_HEADERS = ["authorization", "x-amz-date", "x-amz-security-token"];

/** AWS credentials (the AWS SDK's `AwsCredentialIdentity` fits). */
export interface Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string | undefined;
  readonly expiration?: Date | undefined;
}

export interface SigV4Options {
  /** The API's region; default `AWS_REGION` (or `AWS_DEFAULT_REGION`) of the environment. */
  region?: string;
  /**
   * Credentials, or a function returning them, called for each signature: let it cache and
   * refresh (e.g. the AWS SDK's `fromNodeProviderChain()`). Default: `AWS_ACCESS_KEY_ID`,
   * `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN` of the environment.
   */
  credentials?: Credentials | (() => Promise<Credentials>);
  /** The signing service; default `execute-api` (API Gateway). */
  service?: string;
  /** The signing time (tests); default now. */
  now?: () => Date;
}

type Environment = Record<string, string | undefined>;

function environment(): Environment {
  const found = (globalThis as { process?: { env?: Environment } }).process?.env;
  return found ?? {};
}

/** Credentials from the environment's `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, ... */
export function environmentCredentials(env: Environment = environment()): Credentials {
  const accessKeyId = env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
  if (!accessKeyId || !secretAccessKey) {
    throw new Error(
      "SigV4: no credentials given and none in the environment " +
        "(AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)",
    );
  }
  return { accessKeyId, secretAccessKey, sessionToken: env.AWS_SESSION_TOKEN || undefined };
}

/** A signer of requests to an API Gateway stage with SigV4. */
export function sigv4(options: SigV4Options = {}): Signer {
  const env = environment();
  const region = options.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  if (!region) throw new Error("SigV4: region: none given and none configured (AWS_REGION)");
  const given = options.credentials;
  const credentials = async (): Promise<Credentials> =>
    typeof given === "function" ? await given() : (given ?? environmentCredentials(env));
  const signer = new SignatureV4({
    service: options.service ?? SERVICE,
    region,
    credentials,
    sha256: Sha256,
    uriEscapePath: true, // every service but S3: the path is encoded again
    applyChecksum: false, // API Gateway does not take X-Amz-Content-SHA256 (botocore omits it)
  });
  return async (request) => {
    const { url } = request;
    const headers: Record<string, string> = { host: url.host };
    for (const name of SIGNED_HEADERS) {
      const value = request.headers.get(name);
      if (value !== null) headers[name] = value;
    }
    const query: Record<string, string | string[]> = {};
    for (const [name, value] of url.searchParams) {
      const before = query[name];
      query[name] = before === undefined ? value : [...[before].flat(), value];
    }
    const signed = await signer.sign(
      {
        method: request.method,
        protocol: url.protocol,
        hostname: url.hostname,
        port: url.port ? Number(url.port) : undefined,
        path: url.pathname, // as sent (percent-encoded)
        query,
        headers,
        body: request.body,
      },
      { signingDate: options.now?.() ?? new Date() },
    );
    for (const [name, value] of Object.entries(signed.headers)) {
      if (ADDED_HEADERS.includes(name.toLowerCase())) request.headers.set(name, value);
    }
  };
}
