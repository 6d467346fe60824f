// An owner reads the organisation's utilisation over a chosen range (a chart with its table),
// searches the audit log by who and when and pages through it, and reads the licence with its
// seats and the getting-started checklist, marking a step done.
import { accessible, ask, browser, run, same, screenshot, step } from "../harness.mjs";
import { openConsole, scenario, signIn } from "./common.mjs";

await run(async () => {
  const owner = await browser({ timezoneId: "UTC", locale: "en-GB" });
  await signIn(owner, scenario.owner, { check: false });

  await openConsole(owner, "Reports");
  await owner.getByLabel("From", { exact: true }).fill(scenario.from);
  await owner.getByLabel("Until (not included)").fill(scenario.to);
  await owner.getByRole("button", { name: "Show" }).click();
  const rooms = owner.getByRole("figure", { name: "Utilisation per room" });
  const door = rooms.getByRole("row").filter({ has: owner.getByRole("rowheader", { name: "Door" }) });
  // The range's own figures (the page first shows the last 30 days'): 264 hours available.
  await door.getByRole("cell", { name: "264", exact: true }).waitFor();
  same(await door.getByRole("cell").first().textContent(), "3", "Door's booked hours");
  same(await door.getByRole("cell").nth(2).textContent(), scenario.doorUtilisation, "Door's utilisation");
  same(await door.getByRole("cell").nth(5).textContent(), "09:00 (2 h), 10:00 (1 h)", "Door's busiest hours");
  await owner.getByRole("figure", { name: "Utilisation per site" }).getByRole("rowheader", { name: "North" }).waitFor();
  await accessible(owner, "reports");
  await screenshot(owner, "reports");
  step("reports");

  await openConsole(owner, "Audit log");
  await owner.getByRole("heading", { name: "Audit log" }).waitFor();
  const rows = owner.locator("tbody tr");
  await owner.getByRole("button", { name: "Show more" }).waitFor();
  same(await rows.count(), 50, "a page of 50");
  await owner.getByRole("button", { name: "Show more" }).click();
  await rows.nth(50).waitFor();
  same((await rows.count()) > 50, true, "the next page added");
  await owner.getByLabel("By").selectOption({ label: scenario.managerName });
  await owner.getByRole("button", { name: "Show", exact: true }).click();
  // His few entries replace the owner's many.
  await rows.nth(10).waitFor({ state: "detached" });
  const byHim = await owner.locator("tbody tr td:nth-child(2)").allTextContents();
  same(byHim.length > 0 && byHim.every((name) => name === scenario.managerName), true, `only his entries: ${byHim}`);
  await owner.locator("tbody tr").filter({ hasText: "booking.create" }).first().getByText("Before and after").click();
  await owner.locator("tbody tr pre").first().waitFor();
  await accessible(owner, "audit");
  await screenshot(owner, "audit");
  await owner.getByLabel("From", { exact: true }).fill(scenario.later);
  await owner.getByRole("button", { name: "Show", exact: true }).click();
  await owner.getByText("No entries match.").waitFor();
  step("audit");

  await openConsole(owner, "Licence");
  await owner.getByRole("heading", { name: "Licence" }).waitFor();
  const seats = owner.getByRole("row").filter({ has: owner.getByRole("rowheader", { name: "Seats" }) });
  same(await seats.getByRole("cell").first().textContent(), "3", "three seats in use");
  await owner.getByRole("heading", { name: "Getting started" }).waitFor();
  await owner.getByText("Add rooms: Done").waitFor();
  await owner.getByRole("button", { name: /^Mark done\W+Review who may do what$/ }).click();
  await owner.getByText("Review who may do what: Marked done").waitFor();
  await accessible(owner, "licence");
  await screenshot(owner, "licence");
  same(await ask("roles-reviewed"), "ok", "marked through the API");
  step("licence");
});
