import { goto } from "$app/navigation";
import { resolve } from "$app/paths";

/** The pages anyone may open; every other one sends a signed-out visitor to sign in. */
export const PUBLIC_PAGES = [
  "/sign-in",
  "/sign-up",
  "/verify-email",
  "/accept-invitation",
  "/confirm-email",
  "/forgot-password",
  "/reset-password",
  "/sso",
] as const;

export function signInFirst(): Promise<void> {
  return goto(resolve("/sign-in"), { replaceState: true });
}
