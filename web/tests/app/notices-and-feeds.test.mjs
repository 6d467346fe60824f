// A member reads what her bookings told her and marks it read, then makes a calendar feed of
// her bookings, copies its address, reads it as a calendar app would, and revokes it.
import { accessible, browser, run, same, step } from "../harness.mjs";
import { scenario, signIn } from "./common.mjs";

await run(async () => {
  const page = await browser({ locale: "en-GB" });
  await page.context().grantPermissions(["clipboard-read", "clipboard-write"]);
  page.on("dialog", (dialog) => void dialog.accept());
  await signIn(page, scenario.member, { check: false });

  await page.getByRole("link", { name: "Notifications" }).click();
  const notice = page.locator("ul.notices li").filter({ hasText: scenario.subject });
  await notice.waitFor();
  same(await notice.locator(".badge").textContent(), "New", "an unread notice");
  await accessible(page, "notifications");
  await page.getByRole("button", { name: "Mark all read" }).click();
  await page.getByRole("status").getByText("All read.").waitFor();
  same(await page.locator("ul.notices .badge").count(), 0, "new notices after marking them read");
  step("read");

  await page.getByRole("link", { name: "Calendar feeds" }).click();
  await page.getByText("You have no feeds.").waitFor();
  await page.getByRole("button", { name: "Make a feed of my bookings" }).click();
  const address = await page.getByLabel("Feed address").inputValue();
  await page.getByRole("button", { name: "Copy" }).click();
  await page.getByRole("status").getByText("Copied.").waitFor();
  same(await page.evaluate(() => navigator.clipboard.readText()), address, "the copied address");
  await accessible(page, "feed-made");
  const calendar = await page.request.get(address);
  same(calendar.status(), 200, "the feed's answer");
  const text = await calendar.text();
  if (!text.includes("BEGIN:VCALENDAR") || !text.includes(scenario.title)) {
    throw new Error(`the feed does not hold the booking: ${text.slice(0, 300)}`);
  }
  step("feed-read");

  await page.getByRole("button", { name: "Revoke" }).click();
  await page.getByText("You have no feeds.").waitFor();
  same((await page.request.get(address)).status(), 404, "a revoked feed's answer");
  step("feed-revoked");
});
