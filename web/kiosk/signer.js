// Request signing for door terminals (docs/terminals.md, "Signing"), with WebCrypto.
//
// Authorization: Steward-HMAC-SHA256 Credential=<tenant_id>/<terminal_id>, Timestamp=<unix s>,
//                Nonce=<nonce>, Signature=<hex>
//
// Signature = lowercase hex HMAC-SHA256, keyed with the UTF-8 bytes of the secret text as given,
// of these lines joined by "\n" (no trailing newline):
//   STEWARD-HMAC-SHA256
//   <tenant_id>/<terminal_id>
//   <METHOD>        upper case
//   <path>          as sent, with "?query" when there is one
//   <timestamp>     the same unix seconds as in the header
//   <nonce>         16 to 64 characters of [A-Za-z0-9_-], fresh per request
//   <hex SHA-256 of the body bytes> (of the empty string when there is none)

export const SCHEME = "Steward-HMAC-SHA256";
const STRING_TO_SIGN_TAG = "STEWARD-HMAC-SHA256";
const NONCE_PATTERN = /^[A-Za-z0-9_-]{16,64}$/;
const encoder = new TextEncoder();

/** How long a request may take before it counts as a network failure. */
export const REQUEST_TIMEOUT_MS = 10_000;

/** The API base: `?api=<url>` when the page was opened with one, else the page's own origin. */
export function apiBase() {
  const given = new URLSearchParams(location.search).get("api");
  const base = given && given.trim() !== "" ? given.trim() : location.origin;
  return base.replace(/\/+$/, "");
}

/** 24 characters of base64url from 18 random bytes. */
export function newNonce() {
  const bytes = crypto.getRandomValues(new Uint8Array(18));
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function hex(buffer) {
  return Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, "0")).join("");
}

function toBytes(body) {
  if (body === undefined || body === null) return new Uint8Array(0);
  if (typeof body === "string") return encoder.encode(body);
  if (body instanceof Uint8Array) return body;
  if (body instanceof ArrayBuffer) return new Uint8Array(body);
  throw new TypeError("body must be a string, Uint8Array, ArrayBuffer or undefined");
}

/** Lowercase hex SHA-256 of the body bytes (of the empty string when there is no body). */
export async function bodyHash(body) {
  return hex(await crypto.subtle.digest("SHA-256", toBytes(body)));
}

/** The text that is signed, exactly as docs/terminals.md gives it. */
export async function stringToSign({ tenantId, terminalId, method, path, body, timestamp, nonce }) {
  return [
    STRING_TO_SIGN_TAG,
    `${tenantId}/${terminalId}`,
    String(method).toUpperCase(),
    path,
    String(timestamp),
    nonce,
    await bodyHash(body),
  ].join("\n");
}

/**
 * The `Authorization` header value for one request.
 * `body` is the exact text (or bytes) sent, or undefined for none; `timestamp` defaults to now
 * (unix seconds) and `nonce` to a fresh one.
 */
export async function sign({ tenantId, terminalId, secret, method, path, body, timestamp, nonce }) {
  const ts = timestamp ?? Math.floor(Date.now() / 1000);
  const n = nonce ?? newNonce();
  if (!NONCE_PATTERN.test(n)) throw new Error("nonce must be 16 to 64 characters of [A-Za-z0-9_-]");
  if (!/^\d+$/.test(String(ts))) throw new Error("timestamp must be unix seconds");
  const key = await crypto.subtle.importKey(
    "raw",
    encoder.encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const text = await stringToSign({ tenantId, terminalId, method, path, body, timestamp: ts, nonce: n });
  const signature = hex(await crypto.subtle.sign("HMAC", key, encoder.encode(text)));
  return `${SCHEME} Credential=${tenantId}/${terminalId}, Timestamp=${ts}, Nonce=${n}, Signature=${signature}`;
}

/**
 * A signed request to the API. `creds` is the pairing answer as stored
 * (`{tenant_id, terminal_id, secret}`); `path` is relative to the API base (`/v1/...`, with any
 * query); `body` is an object sent as `JSON.stringify(body)`, or undefined for none.
 * Resolves to the `Response` (whatever its status); rejects when the request fails at the network
 * level or takes longer than REQUEST_TIMEOUT_MS.
 */
export async function signedFetch(creds, method, path, body, { base = apiBase(), timeoutMs = REQUEST_TIMEOUT_MS } = {}) {
  const url = new URL(base + path);
  // The path as the server receives it: the base's own path prefix, if any, and the query.
  const sentPath = url.pathname + url.search;
  const bytes = body === undefined ? undefined : encoder.encode(JSON.stringify(body));
  const headers = {
    accept: "application/json, application/problem+json",
    authorization: await sign({
      tenantId: creds.tenant_id,
      terminalId: creds.terminal_id,
      secret: creds.secret,
      method,
      path: sentPath,
      body: bytes,
    }),
  };
  if (bytes !== undefined) headers["content-type"] = "application/json";
  return fetch(url, {
    method: method.toUpperCase(),
    headers,
    body: bytes,
    cache: "no-store",
    credentials: "omit",
    signal: AbortSignal.timeout(timeoutMs),
  });
}
