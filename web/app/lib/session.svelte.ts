// The signed-in session: the access token in memory only (never in storage a script could read
// later), refreshed a minute before it expires.
import { anonymous } from "./api/anonymous";
import type { Schemas } from "./api/client";

type Tokens = Pick<Schemas["Tokens"], "access_token" | "expires_in"> & { refresh_token?: string };

const EARLY_SECONDS = 60;

class Session {
  me = $state<Schemas["Me"] | null>(null);
  signedIn = $state(false);
  #access: string | null = null;
  #refresh: string | null = null;
  #expiresAt = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #refreshing: Promise<boolean> | null = null;

  /** Keeps the tokens of a sign-in, and schedules their refresh. */
  open(tokens: Tokens): void {
    this.#access = tokens.access_token;
    if (tokens.refresh_token) this.#refresh = tokens.refresh_token;
    this.#expiresAt = Date.now() + tokens.expires_in * 1000;
    this.signedIn = true;
    clearTimeout(this.#timer);
    const wait = Math.max(tokens.expires_in - EARLY_SECONDS, 5) * 1000;
    this.#timer = setTimeout(() => void this.refresh(), wait);
  }

  /** The access token, refreshed first when it is about to expire. */
  async accessToken(): Promise<string | null> {
    if (this.#access && Date.now() > this.#expiresAt - EARLY_SECONDS * 1000) await this.refresh();
    return this.#access;
  }

  /** Rotates the refresh token for new tokens; false (and signed out) when it no longer works. */
  refresh(): Promise<boolean> {
    this.#refreshing ??= this.#rotate().finally(() => (this.#refreshing = null));
    return this.#refreshing;
  }

  async #rotate(): Promise<boolean> {
    if (!this.#refresh) return false;
    const { data } = await anonymous.POST("/v1/auth/refresh", {
      body: { refresh_token: this.#refresh },
    });
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
    this.#access = this.#refresh = null;
    this.#expiresAt = 0;
    this.me = null;
    this.signedIn = false;
  }
}

export const session = new Session();
