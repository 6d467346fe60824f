// What the web app's journeys share: the scenario the Rust test set up, and signing in.
import { accessible, env, step } from "../harness.mjs";

/** The scenario (SCENARIO, JSON): the app's address, people, rooms and times the test made. */
export const scenario = JSON.parse(env("SCENARIO"));

/** Signs in at the app's sign-in page as `person` ({ email, password }), checked with axe, and
 * waits for the first page (`lands`, its heading). */
export async function signIn(page, person, { check = true, lands = "Find a room" } = {}) {
  await page.goto(`${scenario.app}sign-in`);
  await page.getByRole("heading", { name: "Sign in" }).waitFor();
  if (check) await accessible(page, "sign-in");
  await page.getByLabel("Email").fill(person.email);
  await page.getByLabel("Password").fill(person.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: lands, exact: true }).waitFor();
  step(`signed-in ${person.email}`);
}

/** Fills the find-a-room form with the scenario's slot and searches. */
export async function findRooms(page, slot) {
  await page.getByLabel("Date").fill(slot.date);
  await page.getByLabel("Start").fill(slot.start);
  await page.getByLabel("Duration").selectOption(String(slot.minutes));
  await page.getByLabel("People").fill(String(slot.capacity ?? 1));
  if (slot.title) await page.getByLabel("Title").fill(slot.title);
  await page.getByRole("button", { name: "Find rooms" }).click();
  await page.getByRole("heading", { name: "Free", exact: true }).waitFor();
}

/** A room's card in the results, by its name. */
export function roomCard(page, name) {
  return page.locator("li.room").filter({ has: page.getByRole("heading", { name, exact: true }) });
}

/** The console's menu in the header ("Manage"), present only for someone with a console screen. */
export function consoleMenu(page) {
  return page.locator("header details.manage > summary");
}

/** Opens a console screen from the console's menu, by its link's name. */
export async function openConsole(page, name) {
  await consoleMenu(page).click();
  await page.locator("header details.manage").getByRole("link", { name, exact: true }).click();
}
