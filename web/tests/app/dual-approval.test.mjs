// Dual approval: an admin asks to grant a role, which waits; she cannot approve her own request;
// a second admin sees what it would do side by side (the role's members now and after) and
// approves it; the grant is then in effect.
import { accessible, browser, run, same, screenshot, step } from "../harness.mjs";
import { openConsole, scenario, signIn } from "./common.mjs";

await run(async () => {
  const first = await browser({ timezoneId: "UTC", locale: "en-GB" });
  await signIn(first, scenario.first, { check: false });
  await openConsole(first, "Members");
  const grant = first.getByRole("form", { name: `Grant a role to ${scenario.memberName}` });
  await grant.getByLabel("Role").selectOption(scenario.role);
  await accessible(first, "members");
  await grant.getByRole("button", { name: "Grant a role" }).click();
  await first
    .getByRole("status")
    .getByText(`Granting ${scenario.role} to ${scenario.memberName} waits for a second admin`)
    .waitFor();
  step("asked");

  await openConsole(first, "Change requests");
  const own = first.getByRole("listitem").filter({ has: first.getByRole("heading", { name: scenario.what }) });
  await own.getByText("You asked for this: another admin approves it.").waitFor();
  same(await own.getByRole("button", { name: "Approve" }).count(), 0, "no Approve on one's own request");
  step("own-not-approvable");

  const second = await browser({ timezoneId: "UTC", locale: "en-GB" });
  await signIn(second, scenario.second, { check: false });
  await openConsole(second, "Change requests");
  const request = second.getByRole("listitem").filter({ has: second.getByRole("heading", { name: scenario.what }) });
  const sides = request.getByRole("table", { name: `The ${scenario.role} role` });
  const members = sides.getByRole("row").filter({ has: second.getByRole("rowheader", { name: "Members" }) });
  same(await members.getByRole("cell").nth(0).innerText(), "None", "now: nobody holds it");
  same(await members.getByRole("cell").nth(1).locator("ins").innerText(), scenario.memberName, "after: added");
  step("diff-shown");
  await accessible(second, "change-requests");
  await screenshot(second, "change-requests");
  await request.getByRole("button", { name: "Approve" }).click();
  await second.getByRole("status").getByText(`Approved: ${scenario.what}.`).waitFor();
  await second.getByText("No change waits for approval.").waitFor();
  step("approved");

  await openConsole(first, "Members");
  await first.getByRole("row").filter({ hasText: scenario.memberName }).getByText(`member, ${scenario.role}`).waitFor();
  step("in-effect");
});
