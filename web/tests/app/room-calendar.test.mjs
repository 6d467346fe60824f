// A room's day and week on its own clock, across the night its clocks go forward: the day has
// 23 hours (02:00 never happens), the booking made from 01:30 to 03:30 on the room's clock is
// drawn one hour long and said with the viewer's own times beside it.
import { accessible, browser, run, same, screenshot, step } from "../harness.mjs";
import { scenario, signIn } from "./common.mjs";

await run(async () => {
  const page = await browser({ timezoneId: scenario.viewerZone, locale: "en-GB" });
  await signIn(page, scenario.member, { check: false });
  await page.goto(`${scenario.app}rooms/${scenario.room}?date=${scenario.date}`);
  const day = page.locator("section.day");
  await day.locator(".busy-list li").first().waitFor();
  await page.getByRole("heading", { level: 1, name: scenario.roomName }).waitFor();

  const hours = await day.locator(".hour span").allTextContents();
  same(hours.length, 23, "hours in the day the clocks go forward");
  same(hours.slice(0, 4), ["00:00", "01:00", "03:00", "04:00"], "the first hours of that day");
  step("a-23-hour-day");

  const said = (await day.locator(".busy-list").textContent()).replace(/\s+/g, " ").trim();
  same(said, scenario.said, "the booking, in words");
  const [grid, block] = await Promise.all([
    day.locator(".grid").boundingBox(),
    day.locator(".busy.booking").boundingBox(),
  ]);
  const share = block.height / grid.height;
  if (Math.abs(share - 1 / 23) > 0.002) throw new Error(`the booking is drawn ${share} of the day, not 1/23`);
  step("drawn-one-hour-long");
  await accessible(page, "room-day");
  await day.locator(".busy.booking").scrollIntoViewIfNeeded();
  await screenshot(page, "room-day");

  await page.getByRole("button", { name: "Week" }).click();
  await page.locator("section.day").nth(6).waitFor();
  same(await page.locator("section.day").count(), 7, "days in the week");
  same(
    await page.locator("section.day h3").first().textContent(),
    scenario.weekStarts,
    "the week's first day",
  );
  step("week");
  await accessible(page, "room-week");
});
