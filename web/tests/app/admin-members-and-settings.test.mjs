// An admin invites someone, sends the link again and revokes it; suspends a member, reinstates
// her, removes another; and changes the organisation's settings, each saved through its form.
import { accessible, ask, browser, run, same, screenshot, step } from "../harness.mjs";
import { openConsole, scenario, signIn } from "./common.mjs";

await run(async () => {
  const admin = await browser({ timezoneId: "UTC", locale: "en-GB" });
  await signIn(admin, scenario.admin, { check: false });
  admin.on("dialog", (dialog) => dialog.accept());
  await openConsole(admin, "Members");
  await admin.getByRole("heading", { name: "Invitations" }).waitFor();
  const said = (text) => admin.getByRole("status").getByText(text, { exact: true }).waitFor();

  await admin.getByLabel("Email", { exact: true }).fill(scenario.invitee);
  await admin.getByLabel("Role", { exact: true }).selectOption("member");
  await admin.getByRole("button", { name: "Send the invitation" }).click();
  await said(`Invitation sent to ${scenario.invitee}.`);
  const invitation = admin.getByRole("row").filter({ has: admin.getByRole("rowheader", { name: scenario.invitee }) });
  await invitation.getByRole("cell", { name: "Waiting" }).waitFor();
  await accessible(admin, "members-and-invitations");
  same(await ask("invited"), "ok", "one link emailed");
  await invitation.getByRole("button", { name: /^Send again/ }).click();
  await said(`A new link is on its way to ${scenario.invitee}; the old one no longer works.`);
  same(await ask("resent"), "ok", "a second link, the first dead");
  await invitation.getByRole("button", { name: /^Revoke/ }).click();
  await said(`The invitation to ${scenario.invitee} is revoked.`);
  await admin.getByText("No invitation is waiting.").waitFor();
  same(await ask("revoked"), "ok", "no link works");
  step("invitations");

  const row = (name) => admin.getByRole("row").filter({ has: admin.getByRole("rowheader", { name, exact: true }) });
  await row(scenario.memberName).getByRole("button", { name: /^Suspend/ }).click();
  await said(`${scenario.memberName} is suspended.`);
  await row(scenario.memberName).getByRole("cell", { name: "Suspended" }).waitFor();
  same(await ask("suspended"), "ok", "suspended through the API");
  await row(scenario.memberName).getByRole("button", { name: /^Reinstate/ }).click();
  await said(`${scenario.memberName} is reinstated.`);
  await row(scenario.memberName).getByRole("cell", { name: "Active" }).waitFor();
  await row(scenario.otherName).getByRole("button", { name: /^Remove/ }).click();
  await said(`${scenario.otherName} is removed.`);
  await row(scenario.otherName).waitFor({ state: "detached" });
  await screenshot(admin, "members");
  same(await ask("reinstated-and-removed"), "ok", "through the API");
  step("members");

  // Settings, each form on its own.
  await openConsole(admin, "Settings");
  const form = (name) => admin.getByRole("form", { name });
  await form("Booking quota").getByLabel("Bookings held at once").fill("3");
  await form("Booking quota").getByRole("button", { name: "Save" }).click();
  await form("Booking quota").getByRole("status").getByText("Saved.").waitFor();
  await form("Check-in").getByLabel("Check-in opens (minutes before the start)").fill("15");
  await form("Check-in").getByRole("button", { name: "Save" }).click();
  await form("Check-in").getByRole("status").getByText("Saved.").waitFor();
  // On from the start: turning it off is itself a change a second admin approves.
  const dual = form("Dual approval").getByLabel("Changes to roles and members need a second admin's approval");
  same(await dual.isChecked(), true, "dual approval starts on");
  same(await form("Dual approval").getByRole("button", { name: "Save" }).isDisabled(), true, "nothing to save unchanged");
  await dual.uncheck();
  await form("Dual approval").getByRole("button", { name: "Save" }).click();
  await form("Dual approval").getByRole("status").getByText("The change waits for a second admin to approve it (Change requests).").waitFor();
  await accessible(admin, "settings");
  await screenshot(admin, "settings");
  same(await ask("settings"), "ok", "the settings through the API");
  await form("Second factor").getByLabel("Owners and admins must sign in with a second factor").check();
  await form("Second factor").getByRole("button", { name: "Save" }).click();
  await form("Second factor").getByRole("status").getByText("Saved.").waitFor();
  same(await ask("second-factor-required"), "ok", "required through the API");
  step("settings");
});
