// A provider finds the clinic held back for want of her certificate, and uploads it: a file of
// the wrong kind is told before anything is sent; the PDF goes straight to S3 through its presigned URL with its progress shown, the
// verifier checks it, and it waits for review, listed with its expiry and review deadline.
import { accessible, browser, run, same, screenshot, step } from "../harness.mjs";
import { findRooms, roomCard, scenario, signIn } from "./common.mjs";

await run(async () => {
  const page = await browser({ timezoneId: "UTC", locale: "en-GB" });
  await signIn(page, scenario.provider, { check: false });
  await findRooms(page, scenario.slot);
  await roomCard(page, scenario.room).getByText(scenario.needs).waitFor();
  step("room-needs-the-credential");
  await page.getByRole("link", { name: "My credentials" }).click();
  await page.getByRole("heading", { name: "Your trust score: 0 of 100" }).waitFor();
  await page.getByText("You have not uploaded any credentials yet.").waitFor();
  step("none-yet");
  await accessible(page, "credentials");

  const form = page.getByRole("form", { name: "Upload a credential" });
  await form.getByLabel("Credential").selectOption({ label: scenario.type });
  await form.getByLabel("Expiry date").fill(scenario.expiry);
  await form.getByLabel("File", { exact: true }).setInputFiles({
    name: "photo.png",
    mimeType: "image/png",
    buffer: Buffer.from("\x89PNG\r\n\x1a\n", "binary"),
  });
  await form.getByRole("button", { name: "Upload" }).click();
  await form.getByRole("alert").getByText("This kind of file is not accepted here: PDF only.").waitFor();
  step("wrong-kind-told");
  await accessible(page, "credentials-refused");

  await form.getByLabel("File", { exact: true }).setInputFiles({
    name: "first-aid.pdf",
    mimeType: "application/pdf",
    buffer: Buffer.from(scenario.pdf, "utf8"),
  });
  await form.getByRole("button", { name: "Upload" }).click();
  await form.getByRole("status").getByText("Uploaded and checked: it waits for a reviewer.").waitFor();
  same(await form.getByLabel("Upload progress").evaluate((bar) => bar.value), 1, "the progress bar full");
  const row = page.getByRole("row").filter({ hasText: scenario.type }).filter({ hasText: "Waiting for review" });
  await row.getByText("A reviewer will look at it by").waitFor();
  await row.getByText(scenario.expiryShown).waitFor();
  step("pending-review");
  await accessible(page, "credentials-uploaded");
  await screenshot(page, "credentials");
});
