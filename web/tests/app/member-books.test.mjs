// A member signs in, finds the free room at a time (the others with their reasons in words),
// books it with a double click (once), sees it in her bookings, cancels it, and signs out.
import { accessible, browser, run, same, screenshot, step } from "../harness.mjs";
import { findRooms, roomCard, scenario, signIn } from "./common.mjs";

await run(async () => {
  const page = await browser({ timezoneId: "UTC", locale: "en-GB" });
  page.on("dialog", (dialog) => void dialog.accept());

  // Signed out, any page of the app asks for a sign-in first.
  await page.goto(`${scenario.app}bookings`);
  await page.getByRole("heading", { name: "Sign in" }).waitFor();
  step("signed-out-sent-to-sign-in");

  // A wrong password is said in words and changes nothing.
  await page.getByLabel("Email").fill(scenario.member.email);
  await page.getByLabel("Password").fill("not the password at all");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("alert").getByText("The email or password is not right.").waitFor();
  await accessible(page, "sign-in-refused");
  await screenshot(page, "sign-in");
  step("wrong-password-told");

  await signIn(page, scenario.member, { check: false });
  // The refresh token is in an HttpOnly cookie: no script of the page can read it, and a
  // reload resumes the session from it.
  const cookies = await page.context().cookies();
  const refresh = cookies.find((cookie) => cookie.name === "steward_refresh");
  same([refresh?.httpOnly, refresh?.sameSite, refresh?.path], [true, "Strict", "/v1/auth/"], "the refresh cookie");
  same(await page.evaluate(() => document.cookie.includes("steward_refresh")), false, "a script reads the cookie");
  await page.reload();
  await page.getByRole("heading", { name: "Find a room" }).waitFor();
  step("resumed-after-reload");
  await findRooms(page, scenario.slot);
  await accessible(page, "find-results");

  same(await roomCard(page, scenario.free).getByRole("button").textContent(), `Book ${scenario.free}`, "the free room");
  for (const [room, words] of Object.entries(scenario.reasons)) {
    const shown = (await roomCard(page, room).locator("ul.reasons").textContent()).replace(/\s+/g, " ").trim();
    if (!shown.includes(words)) throw new Error(`${room}: expected the reason ${JSON.stringify(words)}, saw ${JSON.stringify(shown)}`);
  }
  step("free-first-others-with-reasons");
  await screenshot(page, "find-a-room");

  // A double click books once.
  await roomCard(page, scenario.free).getByRole("button", { name: `Book ${scenario.free}` }).dblclick();
  await roomCard(page, scenario.free).getByRole("status").getByText(`${scenario.free} is booked.`).waitFor();
  step("booked");
  await accessible(page, "booked");

  await page.getByRole("link", { name: "My bookings" }).click();
  const row = page.getByRole("row").filter({ hasText: scenario.slot.title });
  await row.waitFor();
  same(await row.getByRole("cell").nth(2).textContent(), "Confirmed", "the booking's status");
  const when = (await row.getByRole("cell").nth(1).textContent()).trim();
  if (!when.includes(scenario.slot.shown)) throw new Error(`the booking's times: expected ${scenario.slot.shown} in ${when}`);
  step("listed");
  await row.getByRole("button", { name: "Show PIN" }).click();
  const pin = (await row.getByLabel(`Check-in PIN for ${scenario.slot.title}`).textContent()).trim();
  if (!/^[0-9]{6}$/.test(pin)) throw new Error(`the PIN shown: ${JSON.stringify(pin)}`);
  step(`pin ${pin}`);
  await accessible(page, "my-bookings");
  await screenshot(page, "my-bookings");

  await row.getByRole("button", { name: "Cancel" }).click();
  await row.getByRole("cell", { name: "Cancelled" }).waitFor();
  step("cancelled");

  await page.getByRole("button", { name: "Sign out" }).click();
  await page.getByRole("heading", { name: "Sign in" }).waitFor();
  same((await page.context().cookies()).some((c) => c.name === "steward_refresh"), false, "the cookie after signing out");
  await page.goto(`${scenario.app}bookings`);
  await page.getByRole("heading", { name: "Sign in" }).waitFor();
  step("signed-out");
});
