// The console's entry point: reads config.json, signs the operator in (or takes the ID token
// handed in the URL), then loads every panel from the admin API. An expired ID token is renewed
// with the session's refresh token before a call, and a 401 is retried once with a renewed one;
// when that fails too the session ends and the sign-in form shows why.

import * as auth from "./auth.js";
import { ApiError, call } from "./api.js";
import { h, fill } from "./dom.js";
import { errorBox, load } from "./view.js";
import * as pairing from "./pairing.js";
import * as traffic from "./panels/traffic.js";
import * as experiments from "./panels/experiments.js";
import * as kpis from "./panels/kpis.js";
import * as models from "./panels/models.js";
import * as tryit from "./panels/tryit.js";

const CONFIG_URL = new URL("config.json", import.meta.url);
const CONFIG_TIMEOUT_MS = 10_000;
const $ = (selector) => document.querySelector(selector);

const state = { config: null, configError: null, session: null, challenge: null, traffic: { selected: null } };

async function readConfig() {
  try {
    const response = await fetch(CONFIG_URL, { signal: AbortSignal.timeout(CONFIG_TIMEOUT_MS), cache: "no-store" });
    if (!response.ok) throw new Error(`${CONFIG_URL.pathname}: HTTP ${response.status}`);
    const config = await response.json();
    if (!config.cognito || !config.cognito.endpoint || !config.cognito.clientId) {
      throw new Error(`${CONFIG_URL.pathname} names no Cognito endpoint and app client`);
    }
    return config;
  } catch (err) {
    state.configError = err;
    return null;
  }
}

let renewing = null; // the renewal under way: the panels loading at once share one

/** The session with a new ID token from its refresh token (one renewal at a time); a refusal
 * is an ApiError 401, so that callers end the session as for the API's own 401. */
function renew() {
  if (!renewing) {
    const from = state.session;
    renewing = auth.refresh(state.config, from)
      .then((next) => {
        if (state.session === from) {
          state.session = next;
          auth.store(next);
          fill($("#operator"), auth.operatorName(next.idToken));
        }
        // signed out (or in again) meanwhile: the current session, if any
        if (!state.session) throw new auth.AuthError("signed_out", "Signed out.");
        return state.session;
      })
      .catch((err) => {
        throw new ApiError(401, err.code || "unauthorized", `The session could not be renewed: ${err.message}`);
      })
      .finally(() => {
        renewing = null;
      });
  }
  return renewing;
}

function renewable(session) {
  return Boolean(state.config && session && session.refreshToken);
}

/** The session, renewed first when its tokens have expired and it can be. */
async function freshSession() {
  const session = state.session;
  return session && auth.expired(session.idToken) && renewable(session) ? renew() : session;
}

/** An admin API call with the session's token: renewed first when it has expired, and once
 * more when the API refuses it (401) while the session can be renewed. */
async function api(path, options = {}) {
  let session = await freshSession();
  try {
    return await call(path, { ...options, token: session && session.idToken });
  } catch (err) {
    if (!(err && err.status === 401 && renewable(session))) throw err;
    session = await renew();
    return call(path, { ...options, token: session.idToken });
  }
}

function unauthorized(err) {
  auth.forget();
  state.session = null;
  showSignIn(h("div", {},
    h("p", {}, "The API refused this session; sign in again."),
    errorBox(err)));
}

function showSignIn(notice = null) {
  $("#console").hidden = true;
  $("#nav").hidden = true;
  $("#who").hidden = true;
  $("#sign-in").hidden = false;
  $("#sign-in-form").hidden = false;
  for (const form of Object.values(CHALLENGE_FORMS)) $(form).hidden = true;
  const notes = [];
  if (state.configError) {
    notes.push(errorBox({ code: "config_unavailable", message: `The console's settings could not be read: ${state.configError.message}` }));
  }
  if (notice) notes.push(notice);
  fill($("#sign-in-notice"), ...notes);
  document.body.dataset.view = "sign-in";
  $("#username").focus();
}

function showConsole() {
  $("#sign-in").hidden = true;
  $("#mfa-enrol").hidden = true;
  $("#console").hidden = false;
  $("#nav").hidden = false;
  $("#who").hidden = false;
  fill($("#operator"), auth.operatorName(state.session.idToken));
  document.body.dataset.view = "console";
  loadAll();
}

const PANELS = {
  traffic: { path: "/v1/admin/traffic", query: traffic.query, render: (body, a) => traffic.render(body, a, state.traffic) },
  experiments: { path: "/v1/admin/experiments", query: experiments.query, render: experiments.render },
  kpis: { path: "/v1/admin/kpis", query: kpis.query, render: kpis.render },
  models: {
    path: "/v1/admin/models", query: null,
    render: (body, a) => models.render(body, a, { call: api, reload: () => loadPanel("models"), onUnauthorized: unauthorized }),
  },
};

function loadPanel(id) {
  const section = document.getElementById(id);
  const panel = PANELS[id];
  const form = section.querySelector("form.controls");
  const query = panel.query ? `?${panel.query(form)}` : "";
  return load(section, () => api(`${panel.path}${query}`), panel.render, unauthorized);
}

function loadAll() {
  return Promise.all(Object.keys(PANELS).map(loadPanel));
}

async function preview(box, output, request, render) {
  box.dataset.state = "loading";
  fill(output, h("p", { class: "note" }, "Asking…"));
  try {
    render(output, await request());
    box.dataset.state = "ready";
  } catch (err) {
    if (err && err.status === 401) return unauthorized(err);
    fill(output, errorBox(err));
    box.dataset.state = "error";
    if (!(err && err.name === "ApiError")) console.error(err);
  }
}

function wire() {
  for (const id of Object.keys(PANELS)) {
    document.getElementById(id).querySelector("form.controls").addEventListener("submit", (event) => {
      event.preventDefault();
      loadPanel(id);
    });
  }
  $("#onboarding-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const body = tryit.onboardingRequest(event.target);
    preview($("#try-onboarding"), $("#onboarding-output"),
      () => api("/v1/admin/preview/onboarding", { method: "POST", body }), tryit.renderOnboarding);
  });
  $("#listener-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const data = new FormData(event.target);
    const userId = String(data.get("user_id") || "").trim();
    const limit = String(data.get("limit") || "").trim();
    const query = limit ? `?${new URLSearchParams({ limit })}` : "";
    if (!userId) {
      fill($("#listener-output"), errorBox({ code: "invalid_request", message: "Enter a listener id.", field: "userId" }));
      return;
    }
    preview($("#try-listener"), $("#listener-output"),
      () => api(`/v1/admin/listeners/${encodeURIComponent(userId)}/preview${query}`), tryit.renderListener);
  });
  $("#sign-in-form").addEventListener("submit", onSignIn);
  $("#new-password-form").addEventListener("submit", onNewPassword);
  $("#mfa-form").addEventListener("submit", onCode);
  $("#mfa-setup-form").addEventListener("submit", onSetupCode);
  $("#mfa-enrol-form").addEventListener("submit", onEnrolCode);
  $("#mfa-enrol-open").addEventListener("click", openEnrol);
  $("#mfa-enrol-close").addEventListener("click", () => {
    $("#mfa-enrol").hidden = true;
    fill($("#mfa-enrol-form .pairing-key")); // the key is not left on the page
  });
  $("#sign-out").addEventListener("click", async () => {
    const session = state.session;
    auth.forget();
    state.session = null;
    showSignIn(h("p", { class: "ok" }, "Signed out."));
    if (state.config) await auth.revoke(state.config, session);
  });
}

function begin(session) {
  state.session = session;
  auth.store(session);
  showConsole();
}

const CHALLENGE_FORMS = {
  NEW_PASSWORD_REQUIRED: "#new-password-form", SOFTWARE_TOKEN_MFA: "#mfa-form", MFA_SETUP: "#mfa-setup-form",
};

/** The issuer authenticator apps list the account under: the console and its stage. */
function issuer() {
  return state.config && state.config.stage ? `musicrec console (${state.config.stage})` : "musicrec console";
}

/** Signed in, or on to the form of the challenge Cognito asked for. */
function proceed(result) {
  for (const form of ["#sign-in-form", ...Object.values(CHALLENGE_FORMS)]) $(form).hidden = true;
  if (!result.challenge) {
    state.challenge = null;
    begin(result);
    return;
  }
  state.challenge = result;
  const form = $(CHALLENGE_FORMS[result.challenge]);
  form.reset();
  $("#challenge-username").value = result.username;
  fill($("#sign-in-notice"));
  if (result.challenge === "MFA_SETUP") return pairAtSignIn(form);
  form.hidden = false;
  form.querySelector("input:not([hidden])").focus();
}

/** MFA_SETUP: the pool requires an app this account has not paired yet; show a key for it. */
async function pairAtSignIn(form) {
  fill($("#sign-in-notice"), h("p", { class: "note" }, "Asking Cognito for a key…"));
  try {
    const { secret, challenge } = await auth.associateApp(state.config, state.challenge);
    state.challenge = challenge;
    pairing.showKey(form.querySelector(".pairing-key"), secret, challenge.username, issuer());
    fill($("#sign-in-notice"));
    form.hidden = false;
    form.querySelector("input").focus();
  } catch (err) {
    $("#sign-in-form").hidden = false;
    fill($("#sign-in-notice"), errorBox(err));
  }
}

async function attempt(step) {
  try {
    proceed(await step());
  } catch (err) {
    fill($("#sign-in-notice"), errorBox(err));
  }
}

function onSignIn(event) {
  event.preventDefault();
  const data = new FormData(event.target);
  const username = String(data.get("username") || "").trim();
  const password = String(data.get("password") || "");
  if (!username || !password) {
    fill($("#sign-in-notice"), errorBox({ code: "invalid_request", message: "Enter the user name and the password.", field: username ? "password" : "username" }));
    return;
  }
  if (!state.config) return showSignIn();
  fill($("#sign-in-notice"), h("p", { class: "note" }, "Signing in…"));
  return attempt(async () => {
    const result = await auth.signIn(state.config, username, password);
    event.target.reset();
    return result;
  });
}

function onNewPassword(event) {
  event.preventDefault();
  const data = new FormData(event.target);
  const password = String(data.get("new_password") || "");
  if (!password || password !== data.get("new_password_again")) {
    fill($("#sign-in-notice"), errorBox({ code: "invalid_request", message: "The two new passwords differ.", field: "new_password_again" }));
    return;
  }
  return attempt(() => auth.answerChallenge(state.config, state.challenge, { NEW_PASSWORD: password }));
}

const NOT_A_CODE = { code: "invalid_request", message: "The code is the six digits your authenticator app shows.", field: "code" };

/** The code of a form, or null after showing why it is not one in `notice`. */
function codeOf(form, notice) {
  const code = String(new FormData(form).get("code") || "").trim();
  if (pairing.isCode(code)) return code;
  fill(notice, errorBox(NOT_A_CODE));
  return null;
}

function onCode(event) {
  event.preventDefault();
  const code = codeOf(event.target, $("#sign-in-notice"));
  if (code) return attempt(() => auth.answerChallenge(state.config, state.challenge, { SOFTWARE_TOKEN_MFA_CODE: code }));
}

function onSetupCode(event) {
  event.preventDefault();
  const code = codeOf(event.target, $("#sign-in-notice"));
  if (code) return attempt(() => auth.verifyApp(state.config, state.challenge, code));
}

/** Signed in: pair an authenticator app with the account (from the header's button). */
async function openEnrol() {
  const section = $("#mfa-enrol");
  const form = $("#mfa-enrol-form");
  const notice = $("#mfa-enrol-notice");
  section.hidden = false;
  section.dataset.state = "loading";
  form.hidden = true;
  fill(notice, h("p", { class: "note" }, "Asking Cognito for a key…"));
  section.scrollIntoView();
  try {
    const session = await freshSession();
    if (!session || !session.accessToken) {
      throw new auth.AuthError("no_access_token", "A session opened with a link has no access token: sign in with the user name and password to pair an app.");
    }
    const { secret } = await auth.associateApp(state.config, session);
    form.reset();
    pairing.showKey(form.querySelector(".pairing-key"), secret, auth.operatorName(session.idToken), issuer());
    fill(notice);
    form.hidden = false;
    section.dataset.state = "ready";
    $("#mfa-enrol-code").focus();
  } catch (err) {
    if (err && err.status === 401) return unauthorized(err);
    fill(notice, errorBox(err));
    section.dataset.state = "error";
  }
}

async function onEnrolCode(event) {
  event.preventDefault();
  const notice = $("#mfa-enrol-notice");
  const code = codeOf(event.target, notice);
  if (!code) return;
  const device = String(new FormData(event.target).get("device") || "").trim();
  try {
    await auth.verifyApp(state.config, await freshSession(), code, device);
    event.target.hidden = true;
    fill(event.target.querySelector(".pairing-key"));
    fill(notice, h("p", { class: "ok" }, "The authenticator app is paired: from the next sign-in the console asks for its code."));
    $("#mfa-enrol").dataset.state = "done";
  } catch (err) {
    if (err && err.status === 401) return unauthorized(err);
    fill(notice, errorBox(err));
  }
}

async function main() {
  wire();
  const handed = auth.takeTokenFromUrl();
  state.config = await readConfig();
  if (state.config && state.config.stage) {
    fill($("#stage"), state.config.stage);
    $("#stage").hidden = false;
  }
  const session = handed ? { idToken: handed } : auth.stored();
  state.session = session;
  try {
    await freshSession();
  } catch {
    // the refresh token has expired or was revoked: sign in again, below
  }
  if (state.session && !auth.expired(state.session.idToken)) {
    showConsole();
  } else {
    state.session = null;
    if (session) auth.forget();
    showSignIn(session ? h("p", {}, "The session has expired; sign in again.") : null);
  }
}

main();
