/** One Idempotency-Key per thing asked: the same key for the same request however often it is
 * sent (a double click, a retry after a network error), a new one once what is asked changes. */
export class OnceKeys {
  #keys = new Map<string, string>();

  for(what: unknown): string {
    const asked = JSON.stringify(what);
    let key = this.#keys.get(asked);
    if (!key) {
      key = crypto.randomUUID();
      this.#keys.set(asked, key);
    }
    return key;
  }

  /** Forgets a request's key once its answer is final, so the same request again is new. */
  done(what: unknown): void {
    this.#keys.delete(JSON.stringify(what));
  }
}
