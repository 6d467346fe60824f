// What a person starts with a form or a button: busy while its request runs, then what to tell
// them (a problem, or the network's failure). One per form.
import { tell, type Told } from "./problems";

export class Action {
  busy = $state(false);
  told = $state<Told | null>(null);

  /** Runs `work` unless it is running already; what it answers is told. */
  async run(work: () => Promise<Told | null | undefined | void>): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    this.told = null;
    try {
      this.told = (await work()) ?? null;
    } catch {
      this.told = tell(null);
    } finally {
      this.busy = false;
    }
  }
}
