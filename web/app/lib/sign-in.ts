// After a sign-in: the session opened, the caller read, the app's first page.
import { goto } from "$app/navigation";
import { api, type Schemas } from "./api/client";
import { session } from "./session.svelte";
import { home } from "./navigation";

/** The tokens of a sign-up's confirmation or an invitation accepted: signed in as its member. */
export async function enterWith(tokens: Schemas["Tokens"] | undefined): Promise<void> {
  if (!tokens) throw new Error("an answer without tokens");
  await enter({ status: "signed_in", access_token: tokens.access_token, expires_in: tokens.expires_in });
}

export async function enter(signedIn: Schemas["SignIn"]): Promise<void> {
  if (!signedIn.access_token || !signedIn.expires_in) throw new Error("a sign-in without tokens");
  session.open({ access_token: signedIn.access_token, expires_in: signedIn.expires_in });
  await whoAmI();
  await goto(home());
}

/** The caller, for the header: read after every sign-in and resume. */
export async function whoAmI(): Promise<void> {
  const { data } = await api.GET("/v1/me");
  session.me = data ?? null;
}

/** On the app's first load: the session the cookie still opens, if any. */
export async function resume(): Promise<void> {
  if (await session.refresh()) await whoAmI();
}
