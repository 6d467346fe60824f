// A member who forgot her password asks for a link from the sign-in page, follows the emailed
// link (the parent reads it from the emulator's sent mail), chooses a new password, and signs in
// with it; the same link again is told to be spent.
import { accessible, ask, browser, run, same, step } from "../harness.mjs";
import { scenario, signIn } from "./common.mjs";

await run(async () => {
  const page = await browser({ locale: "en-GB" });
  await page.goto(`${scenario.app}sign-in`);
  await page.getByRole("link", { name: "Forgotten your password?" }).click();
  await page.getByRole("heading", { name: "Forgotten password" }).waitFor();
  await accessible(page, "forgot-password");
  await page.getByLabel("Email").fill(scenario.member.email);
  await page.getByRole("button", { name: "Email me a link" }).click();
  await page.getByRole("status").getByText(`If ${scenario.member.email} has an account`).waitFor();
  step("asked");

  const link = await ask(`reset-link ${scenario.member.email}`);
  await page.goto(link);
  await page.getByRole("heading", { name: "Choose a new password" }).waitFor();
  same(new URL(page.url()).hash, "", "the token left in the address bar");
  await accessible(page, "reset-password");
  // Too short: the API's rule, said next to the field, and nothing changes.
  await page.getByLabel("New password").evaluate((input) => input.removeAttribute("minlength"));
  await page.getByLabel("New password").fill("short");
  await page.getByRole("button", { name: "Set the password" }).click();
  await page.getByRole("alert").getByText("New password").waitFor();
  step("weak-password-told");
  await page.getByLabel("New password").fill(scenario.newPassword);
  await page.getByRole("button", { name: "Set the password" }).click();
  await page.getByRole("status").getByText("Your password is changed").waitFor();
  step("changed");

  await signIn(page, { email: scenario.member.email, password: scenario.newPassword }, { check: false });

  await page.goto(link);
  await page.getByRole("heading", { name: "Choose a new password" }).waitFor();
  await page.getByLabel("New password").fill(`${scenario.newPassword} again`);
  await page.getByRole("button", { name: "Set the password" }).click();
  await page.getByRole("alert").getByText("This link has expired").waitFor();
  await page.getByRole("link", { name: "Ask for a new link" }).waitFor();
  step("spent-link-told");
  await accessible(page, "reset-spent");
});
