// The organisation's members: every page of them, and a directory by id for screens that name
// who did something (read once per organisation signed in to, by those who may list members).
import { api, type Schemas } from "./api/client";
import { tell, type Told } from "./problems";
import { session } from "./session.svelte";

/** At most this many pages of 200. */
const PAGES = 20;

/** Every member, following the pages; or what to tell when a page cannot be read. */
export async function allMembers(): Promise<{ members: Schemas["Member"][]; told: Told | null }> {
  const members: Schemas["Member"][] = [];
  let cursor: string | undefined;
  for (let page = 0; page < PAGES; page++) {
    const { data, error, response } = await api.GET("/v1/members", {
      params: { query: { limit: 200, ...(cursor ? { cursor } : {}) } },
    });
    if (!data) return { members, told: tell(error, response) };
    members.push(...data.items);
    cursor = data.next_cursor ?? undefined;
    if (!cursor) break;
  }
  return { members, told: null };
}

const read = new Map<string, Promise<Map<string, Schemas["Member"]>>>();

export function memberDirectory(): Promise<Map<string, Schemas["Member"]>> {
  const tenant = session.me?.tenant_id ?? "";
  let directory = read.get(tenant);
  if (!directory) {
    directory = allMembers().then(({ members }) => new Map(members.map((member) => [member.user_id ?? "", member])));
    read.set(tenant, directory);
  }
  return directory;
}
