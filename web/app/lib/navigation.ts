import { goto } from "$app/navigation";
import { resolve } from "$app/paths";
import { can } from "./permissions";

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

/** The first page for the signed-in person: finding a room for those who book, the tenants
 * for an operator (who books nothing), else the profile. */
export function home(): string {
  if (can("bookings:read")) return resolve("/find");
  if (can("platform:manage_licences")) return resolve("/console/tenants");
  return resolve("/profile");
}
