// Someone starts an organisation from the sign-in page and confirms the address through the
// emailed link (signed in as its owner); then a person invited by email joins through the
// invitation's link; a used invitation is told to be spent.
import { accessible, ask, browser, run, same, step } from "../harness.mjs";
import { scenario } from "./common.mjs";

await run(async () => {
  const page = await browser({ locale: "en-GB" });
  await page.goto(`${scenario.app}sign-in`);
  await page.getByRole("link", { name: "New to Steward? Start an organisation" }).click();
  await page.getByRole("heading", { name: "Start an organisation on Steward" }).waitFor();
  await accessible(page, "sign-up");
  const owner = scenario.owner;
  await page.getByLabel("Organisation's name").fill(owner.organisation);
  await page.getByLabel("Your name").fill(owner.name);
  await page.getByLabel("Email").fill(owner.email);
  await page.getByLabel("Password").fill(owner.password);
  await page.getByRole("button", { name: "Sign up" }).click();
  await page.getByRole("status").getByText(`We have emailed ${owner.email}`).waitFor();
  step("signed-up");

  await page.goto(await ask(`verify-link ${owner.email}`));
  await page.getByRole("heading", { name: "Find a room" }).waitFor();
  await page.getByText(`${owner.name}, ${owner.organisation}`).waitFor();
  same(new URL(page.url()).hash, "", "the token left in the address bar");
  step("confirmed-and-signed-in");
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.getByRole("heading", { name: "Sign in" }).waitFor();

  const invited = scenario.invited;
  const link = await ask(`invitation-link ${invited.email}`);
  await page.goto(link);
  await page.getByRole("heading", { name: "Join your organisation on Steward" }).waitFor();
  await accessible(page, "accept-invitation");
  await page.getByLabel("Your name").fill(invited.name);
  await page.getByLabel("Password", { exact: true }).fill(invited.password);
  await page.getByRole("button", { name: "Join" }).click();
  await page.getByText(`${invited.name}, ${owner.organisation}`).waitFor();
  step("joined");
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.getByRole("heading", { name: "Sign in" }).waitFor();

  await page.goto(link);
  await page.getByLabel("Password", { exact: true }).fill(invited.password);
  await page.getByRole("button", { name: "Join" }).click();
  await page.getByRole("alert").getByText("This invitation has been used").waitFor();
  await page.getByRole("link", { name: "Sign in" }).waitFor();
  step("spent-invitation-told");
});
