// A reviewer's queue: the provider's certificate waits with the time left to review it, another
// is marked overdue; the reviewer opens the file in the page (read through its short-lived URL:
// the bytes shown are the bytes uploaded) and approves it; the provider can then book the room
// that needs it.
import { createHash } from "node:crypto";
import { accessible, browser, run, same, screenshot, step } from "../harness.mjs";
import { consoleMenu, findRooms, openConsole, roomCard, scenario, signIn } from "./common.mjs";

await run(async () => {
  const reviewer = await browser({ timezoneId: "UTC", locale: "en-GB" });
  await signIn(reviewer, scenario.reviewer, { check: false });
  await openConsole(reviewer, "Reviews");
  await reviewer.getByRole("heading", { name: "Credentials waiting for review" }).waitFor();
  const item = reviewer.getByRole("listitem").filter({ has: reviewer.getByRole("heading", { name: scenario.heading }) });
  await item.getByText(/h \d+ min left to review it\./).waitFor();
  const late = reviewer.getByRole("listitem").filter({ has: reviewer.getByRole("heading", { name: scenario.lateHeading }) });
  await late.getByText("Overdue by 1 h 1 min.").waitFor();
  same(await late.evaluate((li) => li.classList.contains("overdue")), true, "the overdue one marked");
  same(await item.evaluate((li) => li.classList.contains("overdue")), false, "the one in time not marked");
  step("overdue-marked");
  await accessible(reviewer, "reviews");

  // The file as S3 answers it to the page through its presigned URL (passed on untouched).
  let served = null;
  await reviewer.route(/X-Amz-Signature/, async (route) => {
    const answer = await route.fetch();
    served = await answer.body();
    await route.fulfill({ response: answer });
  });
  await item.getByRole("button", { name: "Open the file" }).click();
  const shown = item.locator(`iframe[title="${scenario.fileTitle}"]`);
  await shown.waitFor();
  same((await shown.getAttribute("src")).startsWith("blob:"), true, "shown from what the page read");
  const digest = createHash("sha256").update(served).digest("hex");
  same(digest, scenario.sha256, "the file shown is the file uploaded");
  step("file-opened");
  await accessible(reviewer, "reviews-file");
  await screenshot(reviewer, "reviews");

  // With the keyboard: in headless Chromium, once its PDF viewer has loaded in the page, the
  // pointer's presses stopped reaching the rest of the page here (not chased further).
  await item.getByRole("button", { name: "Approve" }).focus();
  await reviewer.keyboard.press("Enter");
  await reviewer.getByRole("status").getByText(`Approved ${scenario.fileTitle}.`).waitFor();
  await item.waitFor({ state: "detached" });
  await late.getByText("Overdue by").waitFor();
  step("approved");

  const provider = await browser({ timezoneId: "UTC", locale: "en-GB" });
  await signIn(provider, scenario.provider, { check: false });
  same(await consoleMenu(provider).count(), 0, "no console menu for a provider");
  await findRooms(provider, scenario.slot);
  const clinic = roomCard(provider, scenario.room);
  await clinic.getByRole("button", { name: `Book ${scenario.room}` }).click();
  await clinic.getByRole("status").getByText(`${scenario.room} is booked.`).waitFor();
  step("provider-booked");
});
