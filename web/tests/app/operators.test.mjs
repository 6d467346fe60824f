// An operator at work: puts a tenant in the pilot cohort and changes another's licence, moves the
// rollout stage through pilot to general availability and turns enforcement off again, each
// change stated before it is saved; starts a sweep and downloads its report; reads licence
// health and performance and clears the caches. A tenant's owner sees none of it, and a member
// opening an admin screen is told, in words, that she may not.
import crypto from "node:crypto";
import fs from "node:fs";
import { accessible, ask, browser, run, same, screenshot, step } from "../harness.mjs";
import { consoleMenu, openConsole, scenario, signIn } from "./common.mjs";

await run(async () => {
  const operator = await browser({ timezoneId: "UTC", locale: "en-GB" });
  await signIn(operator, scenario.operator, { lands: "Tenants" });
  const row = (name) => operator.getByRole("row").filter({ has: operator.getByRole("rowheader", { name, exact: true }) });
  await row("Pilot Halls").waitFor();
  same(await operator.getByRole("link", { name: "Find a room" }).count(), 0, "an operator books nothing");
  await accessible(operator, "tenants");

  // A cohort, then a licence.
  await operator.getByLabel("Name begins with").fill("pil");
  await operator.getByRole("button", { name: "Search" }).click();
  await operator.getByRole("row").nth(2).waitFor({ state: "detached" });
  await row("Pilot Halls").getByRole("button", { name: /^Change/ }).click();
  await operator.getByLabel("Cohort", { exact: true }).selectOption("pilot");
  await accessible(operator, "tenant-change");
  await operator.getByRole("button", { name: "Save the cohort" }).click();
  await operator.getByRole("status").getByText("Cohort of Pilot Halls saved.").waitFor();
  await row("Pilot Halls").getByRole("cell", { name: "Pilot", exact: true }).waitFor();
  await operator.getByLabel("Name begins with").fill("");
  await operator.getByRole("button", { name: "Search" }).click();
  await row("Other Rooms").getByRole("button", { name: /^Change/ }).click();
  await operator.getByLabel("Offering", { exact: true }).selectOption("professional");
  await operator.getByLabel("Status", { exact: true }).selectOption("active");
  await operator.getByRole("button", { name: "Save the licence" }).click();
  await operator.getByRole("status").getByText("Licence of Other Rooms saved.").waitFor();
  await row("Other Rooms").getByRole("cell", { name: "Professional, Active" }).waitFor();
  await screenshot(operator, "tenants");
  step("tenants-changed");
  same(await ask("licence-and-cohort"), "ok", "the licence and cohort through the API");

  // Each change of the switches is reviewed (what it will do, counted over every tenant) before
  // it is saved.
  await openConsole(operator, "Licensing");
  await operator.getByText("In force now: Disabled, enforcement off.").waitFor();
  const review = operator.getByRole("button", { name: "Review the change" });
  same(await review.isDisabled(), true, "nothing to review before a change");
  const preview = operator.locator("section.preview");
  async function change(expect, save = true) {
    await review.click();
    for (const line of expect) await preview.getByText(line, { exact: true }).waitFor();
    if (!save) return;
    await preview.getByRole("button", { name: "Save the switches" }).click();
    await operator.getByRole("status").getByText("Saved. Every instance applies it within a minute.").waitFor();
  }

  await operator.getByLabel("Pilot", { exact: true }).check();
  await operator.getByLabel("Enforce licences").check();
  await change(
    [
      "Stage: Disabled → Pilot. Internal and pilot tenants are enforced.",
      "Enforcement turns on.",
      "Tenants enforced: 0 of 3 now, 1 of 3 after.",
      "1 will start being enforced",
      "Pilot Halls",
    ],
    false,
  );
  await accessible(operator, "licensing-preview");
  await screenshot(operator, "licensing-preview");
  same(await ask("still-disabled"), "ok", "a preview saves nothing");
  await preview.getByRole("button", { name: "Save the switches" }).click();
  await operator.getByRole("status").getByText("Saved. Every instance applies it within a minute.").waitFor();
  await operator.getByText("In force now: Pilot, enforcement on.").waitFor();
  same(await ask("pilot"), "ok", "the pilot stage in force");

  await operator.getByLabel("General availability").check();
  await change([
    "Stage: Pilot → General availability. Every tenant is enforced.",
    "Tenants enforced: 1 of 3 now, 3 of 3 after.",
    "2 will start being enforced",
    "Other Rooms",
    "Third Desks",
  ]);
  same(await ask("general-availability"), "ok", "every tenant enforced");

  // The kill switch, off again.
  await operator.getByLabel("Enforce licences").uncheck();
  await change([
    "Enforcement turns off: no tenant will be enforced.",
    "Tenants enforced: 3 of 3 now, 0 of 3 after.",
    "3 will stop being enforced",
  ]);
  await operator.getByText("In force now: General availability, enforcement off.").waitFor();
  await operator.getByText("That is what is in force now: nothing to change.").waitFor();
  await accessible(operator, "licensing");
  same(await ask("enforcement-off"), "ok", "no tenant enforced");

  // A validation run, and its report downloaded.
  await openConsole(operator, "Sweeps");
  await operator.getByRole("button", { name: "Start a validation run" }).click();
  const started = await operator.getByRole("status").getByText(/^Run .* started\.$/).textContent();
  const runId = started.replace(/^Run /, "").replace(/ started\.$/, "");
  const run = operator.getByRole("row").filter({ has: operator.getByRole("rowheader", { name: runId }) });
  for (let tries = 0; !(await run.getByRole("cell", { name: "Complete" }).count()); tries++) {
    if (tries > 60) throw new Error(`run ${runId} did not complete`);
    await operator.waitForTimeout(1000);
    await operator.reload();
    await run.waitFor();
  }
  await accessible(operator, "sweeps");
  await screenshot(operator, "sweeps");
  const downloading = operator.waitForEvent("download");
  await run.getByRole("button", { name: `CSV report of ${runId}` }).click();
  const download = await downloading;
  same(download.suggestedFilename(), `licence-sweep-${runId}.csv`, "the report's name");
  const csv = fs.readFileSync(await download.path());
  same(csv.toString("utf8").split("\n")[0].split(",")[0], "tenant_id", "the report's header");
  const digest = crypto.createHash("sha256").update(csv).digest("hex");
  same(await ask(`report ${runId} ${digest}`), "ok", "the report S3 holds");

  // Licence health, recomputed: the run just made is on its chart.
  await openConsole(operator, "Licence health");
  await operator.getByRole("button", { name: "Recompute now" }).click();
  await operator.getByRole("figure", { name: "Tenants by licence status" }).getByRole("row").nth(1).waitFor();
  await operator.getByRole("figure", { name: "Health over time" }).getByRole("row").nth(1).waitFor();
  await operator.getByRole("figure", { name: "Seat utilisation per offering" }).getByRole("rowheader", { name: "Professional" }).waitFor();
  await accessible(operator, "licence-health");
  await screenshot(operator, "licence-health");

  // Performance, and the caches cleared.
  await openConsole(operator, "Performance");
  await operator.getByRole("heading", { name: "Routes, slowest first" }).waitFor();
  await accessible(operator, "performance");
  operator.once("dialog", (dialog) => dialog.accept());
  await operator.getByRole("button", { name: "Clear the caches" }).click();
  await operator.getByRole("status").getByText(/^Caches emptied here/).waitFor();
  same(await ask("caches-cleared"), "ok", "the cache epoch moved on");
  step("operator-done");

  // A tenant's owner has a console, but not the operators' screens; a member has none, and an
  // admin screen opened by its address says she may not.
  const owner = await browser({ timezoneId: "UTC", locale: "en-GB" });
  await signIn(owner, scenario.owner, { check: false });
  await consoleMenu(owner).click();
  same(await owner.locator("header details.manage").getByRole("link", { name: "Members" }).count(), 1, "an owner's console");
  for (const name of ["Tenants", "Licensing", "Licence health", "Sweeps", "Performance"]) {
    same(await owner.locator("header details.manage").getByRole("link", { name }).count(), 0, `no ${name} for an owner`);
  }
  await owner.goto(`${scenario.app}console/licensing`);
  await owner.getByRole("alert").getByText("You are not allowed to do this").waitFor();
  await accessible(owner, "licensing-refused");
  const member = await browser({ timezoneId: "UTC", locale: "en-GB" });
  await signIn(member, scenario.member, { check: false });
  same(await consoleMenu(member).count(), 0, "no console menu for a member");
  await member.goto(`${scenario.app}console/members`);
  await member.getByRole("alert").getByText("You are not allowed to do this").waitFor();
  await accessible(member, "members-refused");
  step("others-refused");
});
