// What the signed-in person may do here, as `GET /v1/me` says: the app shows a console screen
// only to those whose roles allow it. A convenience, not the rule: each request is decided by
// the API, whose 403 the screens say in words.
import { session } from "./session.svelte";

export function can(permission: string): boolean {
  return session.me?.permissions?.includes(permission) ?? false;
}
