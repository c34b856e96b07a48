// Pairing an authenticator app (TOTP) with an operator's account: the secret key as the page
// shows it, and the six-digit code the app answers with. Cognito's calls are in auth.js.

import { h, fill } from "./dom.js";

/** Whether `code` is what an authenticator app shows: six digits. */
export function isCode(code) {
  return /^[0-9]{6}$/.test(code);
}

/** The secret key in groups of four, as apps that take a typed key expect to read it. */
export function grouped(secret) {
  return (secret.match(/.{1,4}/g) || []).join(" ");
}

/** The `otpauth://totp/...` address of a key, which authenticator apps open (as a link on the
 * phone that has the app, or as a QR code). */
export function otpauthUri(secret, account, issuer) {
  const label = encodeURIComponent(`${issuer}:${account}`);
  const query = new URLSearchParams({ secret, issuer, algorithm: "SHA1", digits: "6", period: "30" });
  return `otpauth://totp/${label}?${query}`;
}

/** Show `secret` in `box`: typed into the app, or opened as an otpauth:// link on its phone. */
export function showKey(box, secret, account, issuer) {
  fill(box,
    h("p", {}, "In your authenticator app, add a time-based account with this key:"),
    h("p", {}, h("code", { class: "secret" }, grouped(secret))),
    h("p", {}, "Or, on the phone that has the app, ",
      h("a", { class: "otpauth", href: otpauthUri(secret, account, issuer) }, "open this link"),
      ". Then enter the code the app shows."));
}
