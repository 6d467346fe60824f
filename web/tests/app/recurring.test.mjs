// A member books a room every day for five days: the free dates are booked, the one another
// member holds is skipped and says who has it; she then moves the dates from the fourth on,
// moves the first alone, renames them all, cancels one date, then the last ones, and finds
// the series from her bookings.
import { accessible, browser, run, same, screenshot, step } from "../harness.mjs";
import { findRooms, roomCard, scenario, signIn } from "./common.mjs";

await run(async () => {
  const page = await browser({ timezoneId: "UTC", locale: "en-GB" });
  page.on("dialog", (dialog) => void dialog.accept());
  await signIn(page, scenario.member, { check: false });

  await page.getByLabel("Repeats").selectOption({ label: "Every day" });
  await page.getByLabel("How many times").fill("5");
  same(await page.getByLabel("Book the free ones and skip any that are taken").isChecked(), true, "skip by default");
  await findRooms(page, scenario.slot);
  await accessible(page, "find-repeating");
  const card = roomCard(page, scenario.room);
  await card.getByRole("button", { name: `Book ${scenario.room}` }).click();
  await card.getByRole("status").getByText(`${scenario.room} is booked for 4 dates; 1 was skipped.`).waitFor();
  step("series-booked");

  await card.getByRole("link", { name: "See each date" }).click();
  await page.getByRole("heading", { name: scenario.slot.title }).waitFor();
  await page.getByText("Every day, 5 times").waitFor();
  const dates = page.getByRole("row").filter({ has: page.getByRole("rowheader") });
  const date = (i) => dates.nth(i);
  await date(2).getByText("Skipped").waitFor();
  await date(2).getByText(scenario.heldBy).waitFor();
  same(await dates.count(), 5, "one row a date");
  step("skipped-says-who");
  await accessible(page, "series");
  await screenshot(page, "series");

  /** Opens date `i`'s change form and picks which dates it changes. */
  async function change(i, which) {
    await date(i).getByRole("button", { name: /^Change or cancel/ }).click();
    const form = page.getByRole("form", { name: /^Change the booking of/ });
    await form.getByLabel(which).check();
    return form;
  }
  const told = (text) => page.getByRole("status").getByText(text).waitFor();

  let form = await change(3, "This date and the ones after it");
  await accessible(page, "series-change");
  await form.getByLabel("From").fill("14:00");
  await form.getByLabel("Until").fill("15:00");
  await form.getByRole("button", { name: "Save the change" }).click();
  await told("The series is changed.");
  await date(3).getByText("14:00").first().waitFor();
  await date(4).getByText("14:00").first().waitFor();
  step("following-moved");
  await form.getByRole("button", { name: "Close" }).click();

  form = await change(0, "Only this date");
  await form.getByLabel("From").fill("09:00");
  await form.getByLabel("Until").fill("10:00");
  await form.getByRole("button", { name: "Save the change" }).click();
  await date(0).getByText("09:00").first().waitFor();
  step("one-moved");
  await form.getByRole("button", { name: "Close" }).click();

  form = await change(4, "Every date of the series");
  await form.getByLabel("Title").fill(scenario.renamed);
  await form.getByRole("button", { name: "Save the change" }).click();
  await page.getByRole("heading", { name: scenario.renamed }).waitFor();
  // Renamed only: each date keeps its own times.
  await date(0).getByText("09:00").first().waitFor();
  await date(4).getByText("14:00").first().waitFor();
  step("all-renamed");
  await form.getByRole("button", { name: "Close" }).click();

  form = await change(1, "Only this date");
  await form.getByRole("button", { name: "Cancel this date" }).click();
  await date(1).getByText("Cancelled").waitFor();
  step("one-cancelled");

  form = await change(3, "This date and the ones after it");
  await form.getByRole("button", { name: "Cancel these dates" }).click();
  await date(4).getByText("Cancelled").waitFor();
  await date(3).getByText("Cancelled").waitFor();
  step("following-cancelled");
  await accessible(page, "series-changed");

  await page.getByRole("link", { name: "My bookings" }).click();
  const row = page.getByRole("row").filter({ hasText: scenario.renamed });
  await row.getByRole("link", { name: "Repeats: see the series" }).first().click();
  await page.getByRole("heading", { name: scenario.renamed }).waitFor();
  step("found-from-my-bookings");
});
