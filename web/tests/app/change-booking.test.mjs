// A member moves her booking: onto another's (told who holds it, nothing changes), then to a
// free time, extends it, and, when it changed behind her back, is told to reload and shown
// what it is now.
import { accessible, ask, browser, run, same, step } from "../harness.mjs";
import { scenario, signIn } from "./common.mjs";

await run(async () => {
  const page = await browser({ timezoneId: "UTC", locale: "en-GB" });
  await signIn(page, scenario.member, { check: false });
  await page.getByRole("link", { name: "My bookings" }).click();
  const row = page.getByRole("row").filter({ hasText: scenario.title });
  await row.getByRole("button", { name: "Change" }).click();
  const form = page.getByRole("form", { name: `Change “${scenario.title}”` });
  await form.waitFor();
  same(await form.getByLabel("From").inputValue(), "10:00", "the form starts at the booking's start");
  await accessible(page, "change-booking");

  await form.getByLabel("From").fill("12:00");
  await form.getByLabel("Until").fill("13:00");
  await form.getByRole("button", { name: "Save the change" }).click();
  await form.getByRole("alert").getByText(scenario.conflict).waitFor();
  step("conflict-told");

  await form.getByLabel("From").fill("11:00");
  await form.getByLabel("Until").fill("11:45");
  await form.getByRole("button", { name: "Save the change" }).click();
  await form.getByRole("status").getByText("The booking is changed.").waitFor();
  await row.getByText("11:00").first().waitFor();
  step("moved");

  await form.getByRole("button", { name: "Extend by 15 minutes" }).click();
  await row.getByText("12:00").first().waitFor();
  step("extended");

  same(await ask("change-it-elsewhere"), "ok", "the parent's answer");
  await form.getByRole("button", { name: "Extend by 15 minutes" }).click();
  await form.getByRole("alert").getByText("This changed since you opened it").waitFor();
  await form.getByRole("button", { name: "Reload the booking" }).click();
  // Renamed elsewhere: the form is named after the booking's new title now.
  await page.getByRole("form", { name: `Change “${scenario.renamed}”` }).getByRole("alert").getByText(scenario.nowIs).waitFor();
  step("stale-reloaded");
  await accessible(page, "change-reloaded");
});
