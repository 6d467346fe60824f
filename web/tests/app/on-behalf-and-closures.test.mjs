// A manager books the board room for a member, past its longest-booking rule only once she gives
// a reason; then closes the room every week for a deep clean, is told whose booking falls in it,
// and reopens it. The member finds the booking in her own list.
import { accessible, ask, browser, run, same, screenshot, step } from "../harness.mjs";
import { openConsole, scenario, signIn } from "./common.mjs";

await run(async () => {
  const manager = await browser({ timezoneId: "UTC", locale: "en-GB" });
  await signIn(manager, scenario.manager, { check: false });
  await openConsole(manager, "Book for someone");
  await manager.getByRole("heading", { name: "Book for someone" }).waitFor();
  await manager.getByLabel("For", { exact: true }).selectOption({ label: `${scenario.memberName} (${scenario.member.email})` });
  await manager.getByLabel("Room", { exact: true }).selectOption({ label: scenario.room });
  await manager.getByLabel("Date").fill(scenario.day);
  await manager.getByLabel("From", { exact: true }).fill("09:00");
  await manager.getByLabel("Until", { exact: true }).fill("11:00");
  await manager.getByLabel("Title").fill(scenario.title);
  await manager.getByRole("button", { name: "Book it" }).click();
  // Past the room's rule: refused, the rule named, until a reason is given.
  await manager.getByRole("alert").getByText("The room's rules").waitFor();
  await accessible(manager, "book-for-refused");
  same(await ask("nothing-booked"), "ok", "a refusal writes nothing");
  await manager.getByLabel("Reason to pass the room's rules").fill(scenario.reason);
  await manager.getByRole("button", { name: "Book it" }).click();
  await manager.getByRole("status").getByText(new RegExp(`^Booked ${scenario.room} for ${scenario.memberName}, `)).waitFor();
  await accessible(manager, "book-for");
  await screenshot(manager, "book-for");
  same(await ask("booked-for-her"), "ok", "the booking is hers");

  // A weekly closure that meets it: named, kept.
  await openConsole(manager, "Closures");
  await manager.getByText(`${scenario.room} has no closures.`).waitFor();
  await manager.getByLabel("From (date)").fill(scenario.day);
  await manager.getByLabel("From (time)").fill("08:00");
  await manager.getByLabel("Until (date)").fill(scenario.day);
  await manager.getByLabel("Until (time)").fill("12:00");
  await manager.getByLabel("Reason", { exact: true }).fill("Deep clean");
  await manager.getByLabel("Repeat").selectOption("weekly");
  await manager.getByLabel("How many times").fill("4");
  await manager.getByRole("button", { name: "Close it" }).click();
  await manager.getByRole("status").getByText(`${scenario.room} closed: Deep clean.`).waitFor();
  await manager.getByRole("heading", { name: "1 booking falls in it. It is kept: tell its organiser." }).waitFor();
  await manager.getByRole("listitem").filter({ hasText: scenario.memberName }).waitFor();
  await manager.getByRole("row").filter({ hasText: "Deep clean" }).getByRole("cell", { name: "Every week, 4 times" }).waitFor();
  await accessible(manager, "closures");
  await manager.evaluate(() => window.scrollTo(0, 0));
  await screenshot(manager, "closures");
  same(await ask("closed-weekly"), "ok", "the closure through the API");

  manager.once("dialog", (dialog) => dialog.accept());
  await manager.getByRole("button", { name: /^Reopen\W+Deep clean$/ }).click();
  await manager.getByRole("status").getByText("Reopened: the closure “Deep clean” is removed.").waitFor();
  await manager.getByText(`${scenario.room} has no closures.`).waitFor();
  same(await ask("reopened"), "ok", "no closure left");
  step("manager-done");

  const member = await browser({ timezoneId: "UTC", locale: "en-GB" });
  await signIn(member, scenario.member, { check: false });
  await member.getByRole("link", { name: "My bookings" }).click();
  await member.getByRole("row").filter({ hasText: scenario.title }).getByText("Confirmed").waitFor();
  step("member-sees-it");
});
