// The organisation's room catalogue, read once per organisation signed in to: the find page
// takes its sites from it and my bookings its rooms' names and zones.
import { api, type Schemas } from "./api/client";
import { session } from "./session.svelte";

const read = new Map<string, Promise<Schemas["Room"][]>>();

export function roomCatalogue(): Promise<Schemas["Room"][]> {
  const tenant = session.me?.tenant_id ?? "";
  let rooms = read.get(tenant);
  if (!rooms) {
    rooms = api.GET("/v1/rooms", { params: { query: { limit: 100 } } }).then(({ data }) => data?.items ?? []);
    read.set(tenant, rooms);
  }
  return rooms;
}

/** After a room is made, changed or archived: the next read is fresh. */
export function forgetRooms(): void {
  read.delete(session.me?.tenant_id ?? "");
}
