// An admin adds a room, with each rule explained beside its field, changes it, registers a door
// terminal for it (its pairing code shown large, once), and the kiosk page on a tablet pairs
// with that code and shows the room; the terminal is then online in the console.
import { accessible, browser, run, same, screenshot, step } from "../harness.mjs";
import { openConsole, scenario, signIn } from "./common.mjs";

await run(async () => {
  const admin = await browser({ timezoneId: "UTC", locale: "en-GB" });
  await signIn(admin, scenario.admin, { check: false });
  await openConsole(admin, "Rooms");
  await admin.getByRole("link", { name: "Add a room" }).click();
  const form = admin.getByRole("form", { name: "A new room" });
  await form.getByLabel("Name").fill(scenario.room);
  await form.getByLabel("Time zone").selectOption(scenario.zone);
  await form.getByLabel("People it seats").fill("8");
  await form.getByLabel("Equipment").fill("Screen, whiteboard");
  const buffer = form.getByLabel("Buffer after (minutes)");
  await buffer.fill("10");
  same(
    await buffer.evaluate((input) => document.getElementById(input.getAttribute("aria-describedby")).textContent),
    "Kept free after each booking (cleaning), up to 240.",
    "the rule explained beside its field",
  );
  await accessible(admin, "room-new");
  await form.getByRole("button", { name: "Create the room" }).click();
  await admin.getByRole("heading", { name: scenario.room, exact: true }).waitFor();
  step("room-created");

  await admin.getByRole("link", { name: new RegExp(`^Edit\\W+${scenario.room}$`) }).click();
  const edit = admin.getByRole("form", { name: `Edit ${scenario.room}` });
  await edit.getByLabel("People it seats").fill("10");
  await edit.getByRole("button", { name: "Save the room" }).click();
  await admin.getByRole("status").getByText(`${scenario.room} is saved.`).waitFor();
  step("room-changed");

  await openConsole(admin, "Terminals");
  const register = admin.getByRole("form", { name: "Register a terminal" });
  await register.getByLabel("Room").selectOption({ label: scenario.room });
  await register.getByLabel("Name").fill(scenario.terminal);
  await register.getByRole("button", { name: "Register and show its pairing code" }).click();
  const code = (await admin.getByRole("region", { name: /^Pairing code for/ }).locator("p.code").innerText()).trim();
  same(code.length, 10, "a ten-character code");
  step("code-shown");
  await accessible(admin, "terminals");
  await screenshot(admin, "terminals");

  const tablet = await browser({ viewport: { width: 1024, height: 768 } });
  await tablet.goto(scenario.kiosk);
  await tablet.getByLabel("Pairing code").fill(code);
  await tablet.getByRole("button", { name: "Pair" }).click();
  await tablet.locator('[data-testid="room-name"]').getByText(scenario.room, { exact: true }).waitFor();
  step("kiosk-shows-the-room");

  await admin.reload();
  await admin.getByRole("row").filter({ hasText: scenario.terminal }).getByText("Online").waitFor();
  step("terminal-online");
});
