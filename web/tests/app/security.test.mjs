// A member secures her account: she sets up a second factor from the QR code (read back by an
// independent decoder) with a code an authenticator computes, keeps her recovery codes, signs
// in again with one, turns the factor off with another, changes her password (a wrong current
// one told), and moves her account to a new address through the emailed link.
import jsQR from "jsqr";
import { PNG } from "pngjs";
import { accessible, ask, browser, run, same, screenshot, step } from "../harness.mjs";
import { scenario } from "./common.mjs";

/** What a QR code on the page says, as a phone's camera would read it. */
async function readQr(element) {
  const image = PNG.sync.read(await element.screenshot());
  return jsQR(new Uint8ClampedArray(image.data), image.width, image.height)?.data ?? null;
}

await run(async () => {
  const page = await browser({ timezoneId: "UTC", locale: "en-GB" });
  const { email, password } = scenario.member;

  async function signIn(address, secret, code) {
    await page.goto(`${scenario.app}sign-in`);
    await page.getByLabel("Email").fill(address);
    await page.getByLabel("Password").fill(secret);
    await page.getByRole("button", { name: "Sign in" }).click();
    if (code) {
      await page.getByLabel("Code from your authenticator app").fill(code);
      await page.getByRole("button", { name: "Sign in" }).click();
    }
    await page.getByRole("heading", { name: "Find a room" }).waitFor();
  }
  async function openSecurity() {
    await page.getByRole("link", { name: "Profile" }).click();
    await page.getByRole("link", { name: "Password, email address and second factor" }).click();
    await page.getByRole("heading", { name: "Sign-in and security" }).waitFor();
  }

  await signIn(email, password);
  await openSecurity();
  await accessible(page, "security");

  const factor = page.getByRole("region", { name: "Second factor" });
  await factor.getByLabel("Current password").fill(password);
  await factor.getByRole("button", { name: "Set up a second factor" }).click();
  const qr = factor.getByRole("img", { name: "QR code for your authenticator app" });
  await qr.waitFor();
  const uri = await factor.getByRole("link", { name: "Open in an authenticator app on this device" }).getAttribute("href");
  same(await readQr(qr), uri, "the QR code says the otpauth URI");
  const secret = (await factor.locator("code.secret").innerText()).replace(/\s/g, "");
  same(new URL(uri).searchParams.get("secret"), secret, "the key typed is the URI's");
  step("qr-read");
  await accessible(page, "security-scan");
  await screenshot(page, "security");

  await factor.getByLabel("The six-digit code it shows now").fill(await ask(`totp ${secret}`));
  await factor.getByRole("button", { name: "Turn it on" }).click();
  await factor.getByRole("status").getByText("Your second factor is on.").waitFor();
  const codes = await factor.getByRole("list", { name: "Recovery codes" }).getByRole("listitem").allInnerTexts();
  same(codes.length, 10, "ten recovery codes");
  step("factor-on");
  await accessible(page, "security-recovery-codes");

  await page.getByRole("button", { name: "Sign out" }).click();
  await page.getByRole("heading", { name: "Sign in" }).waitFor();
  await signIn(email, password, codes[0]);
  await openSecurity();
  await factor.getByText("On. You have 9 unused recovery codes.").waitFor();
  step("signed-in-with-a-recovery-code");

  await factor.getByLabel("Code from your authenticator app").fill(codes[1]);
  await factor.getByRole("button", { name: "Turn it off" }).click();
  await factor.getByRole("button", { name: "Set up a second factor" }).waitFor();
  step("factor-off");

  const passwords = page.getByRole("form", { name: "Password" });
  await passwords.getByLabel("Current password").fill("not my password at all");
  await passwords.getByLabel("New password").fill(scenario.newPassword);
  await passwords.getByRole("button", { name: "Change the password" }).click();
  await passwords.getByRole("alert").getByText("Current password: is not the current password").waitFor();
  step("wrong-password-told");
  await passwords.getByLabel("Current password").fill(password);
  await passwords.getByRole("button", { name: "Change the password" }).click();
  await passwords.getByRole("status").getByText("Your password is changed.").waitFor();
  step("password-changed");

  const emails = page.getByRole("form", { name: "Email address" });
  await emails.getByLabel("New email address").fill(scenario.newEmail);
  await emails.getByLabel("Current password").fill(scenario.newPassword);
  await emails.getByRole("button", { name: "Send a confirmation link" }).click();
  await emails.getByRole("status").getByText(`We have emailed ${scenario.newEmail} a link.`).waitFor();
  step("link-sent");
  await accessible(page, "security-done");

  await page.goto(await ask(`email-link ${scenario.newEmail}`));
  await page.getByText("Your account now signs in with its new address.").waitFor();
  step("address-confirmed");
  await signIn(scenario.newEmail, scenario.newPassword);
  step("signed-in-at-the-new-address");
});
