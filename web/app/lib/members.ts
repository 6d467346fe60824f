// The organisation's members by id, for screens that name who did something: read once per
// organisation signed in to (and only by those who may list members).
import { api, type Schemas } from "./api/client";
import { session } from "./session.svelte";

const read = new Map<string, Promise<Map<string, Schemas["Member"]>>>();

/** Every member, following the pages (at most `PAGES` of 100). */
const PAGES = 20;

export function memberDirectory(): Promise<Map<string, Schemas["Member"]>> {
  const tenant = session.me?.tenant_id ?? "";
  let members = read.get(tenant);
  if (!members) {
    members = (async () => {
      const found = new Map<string, Schemas["Member"]>();
      let cursor: string | undefined;
      for (let page = 0; page < PAGES; page++) {
        const { data } = await api.GET("/v1/members", {
          params: { query: { limit: 100, ...(cursor ? { cursor } : {}) } },
        });
        for (const member of data?.items ?? []) found.set(member.user_id ?? "", member);
        cursor = data?.next_cursor ?? undefined;
        if (!cursor) break;
      }
      return found;
    })();
    read.set(tenant, members);
  }
  return members;
}
