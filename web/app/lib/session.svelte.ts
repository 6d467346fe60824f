// The signed-in session. The access token lives in this module's memory only; the refresh token
// in the API's HttpOnly cookie, which no script can read (docs/architecture.md, "The web app's
// tokens"). A reload resumes the session from the cookie; the access token is refreshed a
// minute before it expires.
import { anonymous } from "./api/anonymous";
import type { Schemas } from "./api/client";

type Tokens = Pick<Schemas["Tokens"], "access_token" | "expires_in">;

const EARLY_SECONDS = 60;

class Session {
  me = $state<Schemas["Me"] | null>(null);
  signedIn = $state(false);
  /** Whether the first resume from the cookie has been tried (until then, nothing is shown). */
  known = $state(false);
  #access: string | null = null;
  #expiresAt = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #refreshing: Promise<boolean> | null = null;

  /** Keeps the access token of a sign-in or refresh, and schedules the next refresh. */
  open(tokens: Tokens): void {
    this.#access = tokens.access_token;
    this.#expiresAt = Date.now() + tokens.expires_in * 1000;
    this.signedIn = true;
    this.known = true;
    clearTimeout(this.#timer);
    const wait = Math.max(tokens.expires_in - EARLY_SECONDS, 5) * 1000;
    this.#timer = setTimeout(() => void this.refresh(), wait);
  }

  /** The access token, refreshed first when it is about to expire. */
  async accessToken(): Promise<string | null> {
    if (this.#access && Date.now() > this.#expiresAt - EARLY_SECONDS * 1000) await this.refresh();
    return this.#access;
  }

  /** New tokens from the cookie; false (and signed out) when it no longer opens a session. */
  refresh(): Promise<boolean> {
    this.#refreshing ??= this.#rotate().finally(() => (this.#refreshing = null));
    return this.#refreshing;
  }

  async #rotate(): Promise<boolean> {
    const { data } = await anonymous.POST("/v1/auth/refresh", { body: {} }).catch(() => ({ data: undefined }));
    if (!data) {
      this.ended();
      return false;
    }
    this.open(data);
    return true;
  }

  /** Forgets everything: signed out here, or the API said the session is over. */
  ended(): void {
    clearTimeout(this.#timer);
    this.#access = null;
    this.#expiresAt = 0;
    this.me = null;
    this.signedIn = false;
    this.known = true;
  }
}

export const session = new Session();
