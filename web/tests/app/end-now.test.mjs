// A member's meeting finishes early: from her bookings she ends it now, and the room is free
// again for the rest of its slot.
import { accessible, browser, run, step } from "../harness.mjs";
import { scenario, signIn } from "./common.mjs";

await run(async () => {
  const page = await browser({ timezoneId: "UTC", locale: "en-GB" });
  await signIn(page, scenario.member, { check: false });
  await page.getByRole("link", { name: "My bookings" }).click();
  const row = page.getByRole("row").filter({ hasText: scenario.title });
  await row.getByRole("button", { name: "Change" }).click();
  const form = page.getByRole("form", { name: `Change “${scenario.title}”` });
  // Under way: its start can no longer move, only its end.
  await form.getByLabel("From").and(page.locator(":disabled")).waitFor();
  await accessible(page, "under-way");
  await form.getByRole("button", { name: "End now" }).click();
  await form.getByRole("status").getByText("The booking is ended; the room is free again.").waitFor();
  await row.getByText("Completed").waitFor();
  step("ended");
});
