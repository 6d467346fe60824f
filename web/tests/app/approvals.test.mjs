// A manager's approval queue. A member does not see it in her menu, and when she opens it
// anyway, approving is refused by the API and said in words; the manager approves one booking
// and rejects the other with a reason, and the member sees both outcomes in her bookings.
import { accessible, ask, browser, run, same, screenshot, step } from "../harness.mjs";
import { consoleMenu, openConsole, scenario, signIn } from "./common.mjs";

await run(async () => {
  const member = await browser({ timezoneId: "UTC", locale: "en-GB" });
  await signIn(member, scenario.member, { check: false });
  same(await consoleMenu(member).count(), 0, "no console menu for a member");
  await member.goto(`${scenario.app}console/approvals`);
  const hers = member.getByRole("row").filter({ hasText: scenario.approve });
  await hers.getByRole("button", { name: /^Approve/ }).click();
  await hers.getByRole("alert").getByText("You are not allowed to do this").waitFor();
  step("member-refused");
  await accessible(member, "approvals-refused");
  same(await ask("still-pending"), "ok", "nothing changed");

  const manager = await browser({ timezoneId: "UTC", locale: "en-GB" });
  await signIn(manager, scenario.manager, { check: false });
  await openConsole(manager, "Approvals");
  await manager.getByRole("heading", { name: "Bookings waiting for approval" }).waitFor();
  const first = manager.getByRole("row").filter({ hasText: scenario.approve });
  await first.getByRole("cell", { name: scenario.memberName, exact: true }).waitFor();
  await accessible(manager, "approvals");
  await screenshot(manager, "approvals");
  await first.getByRole("button", { name: /^Approve/ }).click();
  await manager.getByRole("status").getByText(`Approved “${scenario.approve}” for ${scenario.memberName}.`).waitFor();
  step("approved");

  const second = manager.getByRole("row").filter({ hasText: scenario.reject });
  await second.getByRole("button", { name: /^Reject/ }).click();
  const form = manager.getByRole("form", { name: `Reject “${scenario.reject}” for ${scenario.memberName}` });
  await form.getByLabel("Reason").fill(scenario.reason);
  await accessible(manager, "approvals-rejecting");
  await form.getByRole("button", { name: "Reject the booking" }).click();
  await manager.getByRole("status").getByText(`Rejected “${scenario.reject}” for ${scenario.memberName}.`).waitFor();
  await manager.getByText("Nothing waits for your approval.").waitFor();
  step("rejected");

  await member.getByRole("link", { name: "My bookings" }).click();
  await member.getByRole("row").filter({ hasText: scenario.approve }).getByText("Confirmed").waitFor();
  await member.getByRole("row").filter({ hasText: scenario.reject }).getByText("Rejected").waitFor();
  step("member-sees-both");
});
