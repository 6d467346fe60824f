// An owner changes the organisation's single sign-on in the settings page: its provider shown
// (never its secret), a second domain added and passwords refused for them, saved with the
// secret kept; then single sign-on removed.
import { accessible, ask, browser, run, same, step } from "../harness.mjs";
import { openConsole, scenario, signIn } from "./common.mjs";

await run(async () => {
  const owner = await browser({ timezoneId: "UTC", locale: "en-GB" });
  await signIn(owner, scenario.owner, { check: false });
  owner.on("dialog", (dialog) => dialog.accept());
  await openConsole(owner, "Settings");
  const form = owner.getByRole("form", { name: "Single sign-on" });
  await form.getByText(`Register this redirect address at the provider: ${scenario.redirect}`).waitFor();
  same(await form.getByLabel("Provider (issuer URL)").inputValue(), scenario.issuer, "the provider shown");
  same(await form.getByLabel("Client secret").inputValue(), "", "the secret never shown");
  await form.getByText("Kept as it is when left empty.").waitFor();
  await form.getByLabel("Email domains (comma-separated)").fill("acme.test, acme.example");
  await form.getByLabel("Addresses of these domains sign in only through the provider").check();
  await accessible(owner, "single-sign-on-settings");
  await form.getByRole("button", { name: "Save" }).click();
  await form.getByRole("status").getByText("Saved.").waitFor();
  same(await ask("saved"), "ok", "through the API");
  await form.getByRole("button", { name: "Remove single sign-on" }).click();
  await form.getByRole("status").getByText("Single sign-on removed.").waitFor();
  await form.getByText("No single sign-on is set up: members sign in with passwords.").waitFor();
  same(await ask("removed"), "ok", "through the API");
  step("sso-settings");
});
