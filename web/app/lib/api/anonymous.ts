import createClient from "openapi-fetch";
import type { paths } from "./schema";

/** A client without the session: sign-in and refresh, which must not wait on the session. */
export const anonymous = createClient<paths>({ baseUrl: "" });
