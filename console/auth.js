// The operator's session: Cognito's InitiateAuth (USER_PASSWORD_AUTH) and the
// NEW_PASSWORD_REQUIRED challenge against the pool named in config.json, or an ID token handed
// in the URL (`#id_token=...`); the tokens kept in sessionStorage (this tab only), the ID token
// renewed with the refresh token (REFRESH_TOKEN_AUTH) when it expires.

const STORAGE_KEY = "musicrec.console.session";
const TIMEOUT_MS = 10_000;
const TARGET = "AWSCognitoIdentityProviderService";
const EXPIRY_MARGIN_S = 30; // a token this close to its expiry counts as expired

/** A refusal or failure of Cognito: its exception name (`code`) and message. */
export class AuthError extends Error {
  constructor(code, message) {
    super(message);
    this.name = "AuthError";
    this.code = code;
  }
}

/** The claims of a JWT, unverified (the API's authoriser verifies it); null when malformed. */
export function claimsOf(token) {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const padded = part + "=".repeat((4 - (part.length % 4)) % 4);
    const claims = JSON.parse(atob(padded));
    return claims && typeof claims === "object" ? claims : null;
  } catch {
    return null;
  }
}

/** Whether the token is missing, malformed or (about to be) expired. */
export function expired(token, nowS = Date.now() / 1000) {
  const claims = token ? claimsOf(token) : null;
  return !claims || typeof claims.exp !== "number" || claims.exp - EXPIRY_MARGIN_S < nowS;
}

/** Who the token names: the user name, else the e-mail, else the subject. */
export function operatorName(token) {
  const claims = claimsOf(token) || {};
  return claims["cognito:username"] || claims.email || claims.sub || "operator";
}

/** The session in this tab, or null. */
export function stored() {
  try {
    const session = JSON.parse(sessionStorage.getItem(STORAGE_KEY) || "null");
    return session && typeof session.idToken === "string" ? session : null;
  } catch {
    return null;
  }
}

export function store(session) {
  sessionStorage.setItem(STORAGE_KEY, JSON.stringify(session));
}

export function forget() {
  sessionStorage.removeItem(STORAGE_KEY);
}

/**
 * An ID token handed in the URL's fragment (`#id_token=...`, as `make local` prints it): taken
 * into the session and removed from the address bar (so it is not bookmarked or shared).
 */
export function takeTokenFromUrl(location = window.location, history = window.history) {
  const fragment = location.hash.startsWith("#") ? location.hash.slice(1) : "";
  const token = new URLSearchParams(fragment).get("id_token");
  if (!token) return null;
  history.replaceState(null, "", location.pathname + location.search);
  store({ idToken: token });
  return token;
}

async function cognito(config, action, payload) {
  let response;
  try {
    response = await fetch(config.cognito.endpoint, {
      method: "POST",
      headers: {
        "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": `${TARGET}.${action}`,
      },
      body: JSON.stringify(payload),
      signal: AbortSignal.timeout(TIMEOUT_MS),
      credentials: "omit",
      cache: "no-store",
    });
  } catch (exc) {
    const code = exc && exc.name === "TimeoutError" ? "timeout" : "network_error";
    throw new AuthError(code, `Cognito at ${config.cognito.endpoint} did not answer ${action}`);
  }
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  if (!response.ok) {
    const type = String((body && (body.__type || body.code)) || `HTTP ${response.status}`);
    const code = type.includes("#") ? type.split("#").pop() : type;
    throw new AuthError(code, (body && (body.message || body.Message)) || response.statusText);
  }
  return body || {};
}

/** The session of Cognito's AuthenticationResult; a renewal's answer has no refresh token, so
 * the session keeps `previous`'s. */
function signedIn(result, previous = null) {
  if (!result || typeof result.IdToken !== "string") {
    throw new AuthError("bad_answer", "Cognito's answer has no ID token");
  }
  return {
    idToken: result.IdToken,
    accessToken: result.AccessToken || null,
    refreshToken: result.RefreshToken || (previous && previous.refreshToken) || null,
  };
}

// The challenges the page answers: a first sign-in's new password, an authenticator app's code
// for an operator who turned on TOTP (the operators' pool allows it, optionally), and pairing an
// app at sign-in where a pool requires MFA of operators who have none yet.
export const CHALLENGES = ["NEW_PASSWORD_REQUIRED", "SOFTWARE_TOKEN_MFA", "MFA_SETUP"];

function outcome(answer, username) {
  if (answer.AuthenticationResult) return signedIn(answer.AuthenticationResult);
  if (CHALLENGES.includes(answer.ChallengeName)) {
    const params = answer.ChallengeParameters || {};
    return { challenge: answer.ChallengeName, session: answer.Session,
      username: params.USER_ID_FOR_SRP || params.USERNAME || username };
  }
  throw new AuthError(String(answer.ChallengeName || "bad_answer"),
    `Cognito asked for ${answer.ChallengeName || "nothing known"}, which the console does not handle`);
}

/**
 * Sign in with a user name and password: `{idToken, accessToken, refreshToken}`, or `{challenge, session,
 * username}` when Cognito asks for one of CHALLENGES first (NEW_PASSWORD_REQUIRED for an account
 * made with AdminCreateUser); other challenges are AuthErrors.
 */
export async function signIn(config, username, password) {
  const answer = await cognito(config, "InitiateAuth", {
    AuthFlow: "USER_PASSWORD_AUTH",
    ClientId: config.cognito.clientId,
    AuthParameters: { USERNAME: username, PASSWORD: password },
  });
  return outcome(answer, username);
}

/**
 * Answer a challenge with `responses` (`{NEW_PASSWORD}` or `{SOFTWARE_TOKEN_MFA_CODE}`): the
 * tokens, or the next challenge.
 */
export async function answerChallenge(config, challenge, responses) {
  const answer = await cognito(config, "RespondToAuthChallenge", {
    ChallengeName: challenge.challenge,
    ClientId: config.cognito.clientId,
    Session: challenge.session,
    ChallengeResponses: { USERNAME: challenge.username, ...responses },
  });
  return outcome(answer, challenge.username);
}

/**
 * Renew the session's ID and access tokens with its refresh token (`REFRESH_TOKEN_AUTH`; valid
 * for 8 hours, infra/operators.py): the new session, or an AuthError when there is no refresh
 * token or Cognito refuses it (expired, revoked by a sign-out, the operator disabled).
 */
export async function refresh(config, session) {
  if (!session || !session.refreshToken) {
    throw new AuthError("no_refresh_token", "This session cannot be renewed; sign in again.");
  }
  const answer = await cognito(config, "InitiateAuth", {
    AuthFlow: "REFRESH_TOKEN_AUTH",
    ClientId: config.cognito.clientId,
    AuthParameters: { REFRESH_TOKEN: session.refreshToken },
  });
  return signedIn(answer.AuthenticationResult, session);
}

/**
 * Pairing an authenticator app (TOTP), step 1 (`AssociateSoftwareToken`): the secret key to
 * enter in the app. `who` is a signed-in session (`{accessToken}`) or an MFA_SETUP challenge
 * (`{challenge, session}`); for a challenge the answer carries its next Cognito session, so the
 * result is `{secret, challenge}` with the challenge renewed.
 */
export async function associateApp(config, who) {
  const byChallenge = Boolean(who.challenge);
  const answer = await cognito(config, "AssociateSoftwareToken",
    byChallenge ? { Session: who.session } : { AccessToken: who.accessToken });
  if (typeof answer.SecretCode !== "string" || !answer.SecretCode) {
    throw new AuthError("bad_answer", "Cognito's answer has no secret key");
  }
  const challenge = byChallenge ? { ...who, session: answer.Session || who.session } : null;
  return { secret: answer.SecretCode, challenge };
}

/**
 * Pairing, step 2 (`VerifySoftwareToken`): Cognito checks a code the app shows. Signed in, the
 * app then becomes the operator's preferred second factor (`SetUserMFAPreference`), and the
 * result is null; in an MFA_SETUP challenge the challenge is answered (`RespondToAuthChallenge`)
 * and the result is the sign-in's outcome (tokens, or a further challenge).
 */
export async function verifyApp(config, who, code, deviceName = "") {
  const byChallenge = Boolean(who.challenge);
  const verified = await cognito(config, "VerifySoftwareToken", {
    ...(byChallenge ? { Session: who.session } : { AccessToken: who.accessToken }),
    UserCode: code,
    ...(deviceName ? { FriendlyDeviceName: deviceName } : {}),
  });
  if (verified.Status !== "SUCCESS") {
    throw new AuthError("code_mismatch", "Cognito did not accept the code: check the app's time and try the code it shows now.");
  }
  if (byChallenge) {
    return answerChallenge(config, { ...who, session: verified.Session || who.session }, {});
  }
  await cognito(config, "SetUserMFAPreference", {
    AccessToken: who.accessToken,
    SoftwareTokenMfaSettings: { Enabled: true, PreferredMfa: true },
  });
  return null;
}

/** Revoke the session's tokens at Cognito (best effort: signing out locally never waits on it). */
export async function revoke(config, session) {
  if (!session || !session.accessToken) return;
  try {
    await cognito(config, "GlobalSignOut", { AccessToken: session.accessToken });
  } catch {
    // The tokens are dropped from this tab either way; they expire within the hour.
  }
}
