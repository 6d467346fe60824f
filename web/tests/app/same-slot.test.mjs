// Two members in two browsers find the same free room at the same time and both press Book:
// one has it, the other is told who holds it, in words, on the room's clock.
import { accessible, browser, run, screenshot, step } from "../harness.mjs";
import { findRooms, roomCard, scenario, signIn } from "./common.mjs";

await run(async () => {
  const [first, second] = await Promise.all([
    browser({ timezoneId: "UTC", locale: "en-GB" }),
    browser({ timezoneId: "UTC", locale: "en-GB", viewport: { width: 390, height: 844 } }),
  ]);
  await signIn(first, scenario.first, { check: false });
  await signIn(second, scenario.second, { check: false });
  await Promise.all([findRooms(first, scenario.slot), findRooms(second, scenario.slot)]);
  const book = (page) => roomCard(page, scenario.room).getByRole("button", { name: `Book ${scenario.room}` });
  await Promise.all([book(first).waitFor(), book(second).waitFor()]);
  step("both-see-it-free");

  // Both press at once: the API lets one have it.
  await Promise.all([book(first).click(), book(second).click()]);
  const outcome = async (page) => {
    const card = roomCard(page, scenario.room);
    await card.locator(".done, .problem p").first().waitFor();
    return (await card.locator(".done").count()) > 0 ? "booked" : (await card.locator(".problem").textContent()).trim();
  };
  const [a, b] = await Promise.all([outcome(first), outcome(second)]);
  const answers = [a, b];
  const booked = answers.filter((answer) => answer === "booked").length;
  if (booked !== 1) throw new Error(`one of the two books the room: ${JSON.stringify(answers)}`);
  const winner = a === "booked" ? scenario.first : scenario.second;
  const told = answers.find((answer) => answer !== "booked");
  const expected = `That slot is taken. ${winner.name} has it from ${scenario.slot.start} to ${scenario.slot.end}.`;
  if (told !== expected) throw new Error(`the other is told ${JSON.stringify(told)}, not ${JSON.stringify(expected)}`);
  step("one-booked-the-other-told-who");
  step(`winner ${winner.email}`);
  const loser = a === "booked" ? second : first;
  await accessible(loser, "slot-taken");
  await roomCard(loser, scenario.room).scrollIntoViewIfNeeded();
  await screenshot(loser, "slot-taken");
});

