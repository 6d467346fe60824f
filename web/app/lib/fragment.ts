/** The parameters of the page's fragment (`#token=…`), which browsers never send to a server;
 * read once, then taken out of the address bar and the history so they do not linger there. */
export function takeFragment(): URLSearchParams {
  const found = new URLSearchParams(location.hash.slice(1));
  if (location.hash) history.replaceState(history.state, "", location.pathname + location.search);
  return found;
}
