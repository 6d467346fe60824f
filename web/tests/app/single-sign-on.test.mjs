// A person of an organisation that signs in through its OpenID provider starts at Steward, signs
// in on the provider's own login page, and lands in the web app signed in: the callback's
// one-time ticket is spent by the app's /sso page and taken out of the address bar.
import { accessible, browser, run, same, step } from "../harness.mjs";
import { scenario } from "./common.mjs";

await run(async () => {
  const page = await browser({ locale: "en-GB" });
  await page.goto(scenario.start);
  await page.locator("input[name=login]").fill(scenario.login);
  await page.locator("input[name=password]").fill("any");
  await page.locator("button[type=submit]").click();
  await page.getByRole("heading", { name: "Find a room" }).waitFor();
  await page.getByText(`${scenario.name}, ${scenario.organisation}`).waitFor();
  same(new URL(page.url()).pathname, "/app/find", "where the app went");
  same(new URL(page.url()).hash, "", "the ticket left in the address bar");
  step("signed-in-through-the-provider");
  await accessible(page, "after-single-sign-on");

  // The ticket works once: the same hand-off again is refused in words.
  await page.goto(`${scenario.app}sso#ticket=${scenario.spentTicket}&tenant_id=${scenario.tenant}`);
  await page.getByRole("alert").getByText("did not work").waitFor();
  step("spent-ticket-refused");
  await accessible(page, "single-sign-on-refused");
});
