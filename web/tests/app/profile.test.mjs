// A member of two organisations signs in (choosing one), switches to the other from her
// profile, ends a session of hers elsewhere, then signs out everywhere.
import { accessible, browser, run, same, step } from "../harness.mjs";
import { scenario } from "./common.mjs";

await run(async () => {
  const page = await browser({ locale: "en-GB" });
  page.on("dialog", (dialog) => void dialog.accept());
  await page.goto(`${scenario.app}sign-in`);
  await page.getByLabel("Email").fill(scenario.member.email);
  await page.getByLabel("Password").fill(scenario.member.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Choose an organisation" }).waitFor();
  await accessible(page, "choose-organisation");
  await page.getByRole("button", { name: scenario.first }).click();
  await page.getByRole("heading", { name: "Find a room" }).waitFor();
  await page.getByText(`Mia Member, ${scenario.first}`).waitFor();
  step("chose-an-organisation");

  await page.getByRole("link", { name: "Profile" }).click();
  await page.getByRole("heading", { name: "Where you are signed in" }).waitFor();
  const rows = page.locator("tbody tr");
  await rows.nth(1).waitFor();
  same(await rows.count(), 2, "sessions: this browser and the other");
  await accessible(page, "profile");
  await rows.filter({ hasNotText: "This browser" }).getByRole("button", { name: "End" }).click();
  await page.waitForFunction(() => document.querySelectorAll("tbody tr").length === 1);
  step("ended-the-other-session");

  await page.getByRole("button", { name: `Switch to ${scenario.second}` }).click();
  await page.getByText(`Mia Member, ${scenario.second}`).waitFor();
  step("switched");

  await page.getByRole("link", { name: "Profile" }).click();
  await page.getByRole("button", { name: "Sign out everywhere" }).click();
  await page.getByRole("heading", { name: "Sign in" }).waitFor();
  step("signed-out-everywhere");
});
