// An admin makes a custom role, widens it and deletes it; registers a member's badge and removes
// it; imports rooms from a CSV file whose third row is wrong (all or nothing: nothing, each line's
// outcome shown; then the good rows only), and downloads the rooms and the bookings as CSV.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { accessible, ask, browser, run, same, screenshot, step } from "../harness.mjs";
import { openConsole, scenario, signIn } from "./common.mjs";

await run(async () => {
  const admin = await browser({ timezoneId: "UTC", locale: "en-GB" });
  await signIn(admin, scenario.admin, { check: false });
  admin.on("dialog", (dialog) => dialog.accept());
  const said = (text) => admin.getByRole("status").getByText(text, { exact: true }).waitFor();

  // A custom role.
  await openConsole(admin, "Roles");
  await admin.getByRole("button", { name: "Create a custom role" }).click();
  const form = admin.getByRole("form", { name: "Create a custom role" });
  await form.getByLabel("Name", { exact: true }).fill("front-desk");
  await form.getByLabel("Description").fill("Books for walk-ins");
  for (const permission of ["See rooms", "Book rooms", "See bookings"]) await form.getByLabel(permission, { exact: true }).check();
  await accessible(admin, "role-new");
  await form.getByRole("button", { name: "Save the role" }).click();
  await said("The role front-desk is saved.");
  const row = admin.getByRole("row").filter({ has: admin.getByRole("rowheader", { name: "front-desk" }) });
  await row.getByRole("cell", { name: "Custom" }).waitFor();
  await row.getByRole("button", { name: /^Edit/ }).click();
  await admin.getByRole("form", { name: "Edit the role front-desk" }).getByLabel("Check in", { exact: true }).check();
  await admin.getByRole("form", { name: "Edit the role front-desk" }).getByRole("button", { name: "Save the role" }).click();
  await said("The role front-desk is saved.");
  await row.getByText("4 permissions").click();
  await accessible(admin, "roles");
  await screenshot(admin, "roles");
  same(await ask("role-widened"), "ok", "the role through the API");
  await row.getByRole("button", { name: /^Delete/ }).click();
  await said("The role front-desk is deleted.");
  await row.waitFor({ state: "detached" });
  same(await ask("role-gone"), "ok", "deleted through the API");
  step("roles");

  // A badge.
  await openConsole(admin, "Terminals");
  await admin.getByLabel("Badge (its card's UID)").fill("04:a1:b2:c3");
  await admin.getByLabel("Member", { exact: true }).selectOption({ label: scenario.memberName });
  await admin.getByLabel("Label").fill("Blue fob");
  await admin.getByRole("button", { name: "Register the badge" }).click();
  await said(`Badge 04A1B2C3 is now ${scenario.memberName}'s.`);
  const badge = admin.getByRole("row").filter({ has: admin.getByRole("rowheader", { name: "04A1B2C3" }) });
  await badge.getByRole("cell", { name: scenario.memberName }).waitFor();
  await accessible(admin, "badges");
  same(await ask("badge"), "ok", "the badge through the API");
  await badge.getByRole("button", { name: /^Remove/ }).click();
  await said("Badge 04A1B2C3 removed.");
  await admin.getByText("No badges registered.").waitFor();
  same(await ask("no-badge"), "ok", "removed through the API");
  step("badges");

  // A CSV import, all or nothing, then the good rows.
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "steward-csv-")), "rooms.csv");
  fs.writeFileSync(
    file,
    ["name,time_zone,capacity", "Harbour,Europe/London,8", "Lighthouse,Europe/London,4", "Quay,Europe/London,many", ""].join("\n"),
  );
  await openConsole(admin, "Import and export");
  await admin.getByLabel("File", { exact: true }).setInputFiles(file);
  await admin.getByRole("button", { name: "Check and import" }).click();
  await admin.getByRole("alert").getByText("Nothing was imported: each row's problems are below. Mend the file and try again.").waitFor();
  const line = (n) => admin.getByRole("row").filter({ has: admin.getByRole("rowheader", { name: String(n), exact: true }) });
  await line(4).getByText("Refused:").waitFor();
  await line(4).getByText("People", { exact: true }).waitFor();
  same(await line(2).getByRole("cell").last().textContent(), "Good, not imported with the others", "line 2 held back");
  await accessible(admin, "import-refused");
  same(await ask("no-rooms-imported"), "ok", "nothing imported");
  await admin.getByLabel("If some rows are wrong").selectOption("valid_only");
  await admin.getByRole("button", { name: "Check and import" }).click();
  await said("2 imported, 1 refused.");
  same(await line(2).getByRole("cell").last().textContent(), "Imported", "line 2 imported");
  same(await line(3).getByRole("cell").last().textContent(), "Imported", "line 3 imported");
  await line(4).getByText("Refused:").waitFor();
  await accessible(admin, "import");
  await admin.getByRole("button", { name: "Check and import" }).scrollIntoViewIfNeeded();
  await admin.evaluate(() => window.scrollBy(0, 480));
  await screenshot(admin, "import");
  same(await ask("two-rooms-imported"), "ok", "the good rows through the API");

  const downloading = admin.waitForEvent("download");
  await admin.getByRole("button", { name: "Download the rooms" }).click();
  const exported = fs.readFileSync(await (await downloading).path(), "utf8");
  same(exported.split("\n")[0].startsWith("id,name,"), true, "the export's header");
  same(["Harbour", "Lighthouse"].every((name) => exported.includes(`,${name},`)), true, `the imported rooms: ${exported}`);
  // The bookings of the range the form offers: the one the test made, on the room's clock too.
  const bookings = admin.waitForEvent("download");
  await admin.getByRole("button", { name: "Download the bookings" }).click();
  const saved = await bookings;
  same(saved.suggestedFilename().startsWith("bookings-"), true, saved.suggestedFilename());
  const rows = fs.readFileSync(await saved.path(), "utf8").trim().split("\n");
  same(rows[0].startsWith("id,room_id,room_name,organiser"), true, `the header: ${rows[0]}`);
  same(rows.length, 2, `one booking: ${rows}`);
  same(rows[1].includes(scenario.bookingTitle), true, `its title: ${rows[1]}`);
  step("data");
});
