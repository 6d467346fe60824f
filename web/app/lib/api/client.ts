// The API client, generated from docs/openapi.yaml (schema.d.ts, by `npm run generate`): every
// request the app makes goes through it, typed by the document.
import createClient, { type Middleware } from "openapi-fetch";
import type { components, paths } from "./schema";
import { session } from "../session.svelte";
import { COOKIE_SESSION } from "./anonymous";

export type Schemas = components["schemas"];
export type Problem = Schemas["Problem"];

const MUTATING = new Set(["POST", "PUT", "PATCH", "DELETE"]);

/** The caller's access token on every request, and an Idempotency-Key on every change that
 * does not carry one already (a form passes its own, so that a double click sends the same). */
const authorise: Middleware = {
  async onRequest({ request }) {
    const token = await session.accessToken();
    if (token && !request.headers.has("Authorization")) {
      request.headers.set("Authorization", `Bearer ${token}`);
    }
    if (MUTATING.has(request.method) && !request.headers.has("Idempotency-Key")) {
      request.headers.set("Idempotency-Key", crypto.randomUUID());
    }
    return request;
  },
  async onResponse({ response }) {
    if (response.status === 401 && session.signedIn) session.ended();
    return response;
  },
};

/** The API on the page's own origin: the local gateway serves both, and CloudFront routes
 * `/v1/*` to the API in a deployment, so no cross-origin request is made. */
export const api = createClient<paths>({ baseUrl: "", headers: COOKIE_SESSION });
api.use(authorise);
