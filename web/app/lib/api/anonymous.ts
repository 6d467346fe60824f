import createClient from "openapi-fetch";
import type { paths } from "./schema";

/** Every request asks for the refresh token in the API's HttpOnly cookie (refresh_cookie.rs):
 * no script of the page ever holds it. */
export const COOKIE_SESSION = { "Steward-Refresh": "cookie" } as const;

/** A client without the session: sign-in and refresh, which must not wait on the session. */
export const anonymous = createClient<paths>({ baseUrl: "", headers: COOKIE_SESSION });
