// The strings of the console's pages: the members' catalogue and the console's own.
import { en } from "./en";
import { enConsole } from "./en-console";

export { locale } from "./index";

/** The console's strings with the members' (the header, problems and fields are shared). */
export const t = { ...en, ...enConsole };
