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

  /** Sends `what` with its key; once the answer is final (not a 5xx), the same request again
   * is a new one. */
  async send<T extends { response: Response }>(what: unknown, request: (key: string) => Promise<T>): Promise<T> {
    const answer = await request(this.for(what));
    if (answer.response.status < 500) this.done(what);
    return answer;
  }
}
