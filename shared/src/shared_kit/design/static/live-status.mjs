// Keeps a status part of a page up to date while something runs on the server (an import).
// The element with `data-live-url` is filled anew from that address every few seconds, until
// the part it gets says it is over (`data-live-state="over"`). What the part says
// (`data-live-said`) is read out through the live region named by `data-live-announce`: each
// change of state at once, the progress at most every 15 seconds. Without JavaScript the part
// says to reload the page and offers a link to; with it, those give way to `data-live-show`.
const EVERY_MS = 2000;
const SAY_EVERY_MS = 15000;
const region = document.querySelector("[data-live-url]");

function enhance(part) {
  part.querySelectorAll("[data-live-hide]").forEach((e) => { e.hidden = true; });
  part.querySelectorAll("[data-live-show]").forEach((e) => { e.hidden = false; });
}

if (region) {
  const live = document.getElementById(region.dataset.liveAnnounce);
  let saidAt = Date.now();
  let lastState = "";
  const say = (status) => {
    const state = status.dataset.liveState;
    const text = status.dataset.liveSaid || "";
    if (live && text && (state !== lastState || Date.now() - saidAt >= SAY_EVERY_MS)) {
      live.textContent = text;
      saidAt = Date.now();
    }
    lastState = state;
  };
  const first = region.querySelector("[data-live-state]");
  lastState = first ? first.dataset.liveState : "";
  const tick = async () => {
    let html = null;
    try {
      const answer = await fetch(region.dataset.liveUrl, { headers: { Accept: "text/html" } });
      html = answer.ok ? await answer.text() : null;
    } catch {
      html = null; // offline for a moment: try again a little later
    }
    if (html === null) {
      setTimeout(tick, EVERY_MS * 3);
      return;
    }
    const part = new DOMParser().parseFromString(html, "text/html").body;
    const status = part.querySelector("[data-live-state]");
    if (!status) {
      return; // not the part we asked for (logged out?): leave the page as it is
    }
    enhance(part);
    region.replaceChildren(...part.childNodes);
    say(status);
    if (status.dataset.liveState !== "over") {
      setTimeout(tick, EVERY_MS);
    }
  };
  enhance(region);
  if (lastState !== "over") {
    setTimeout(tick, EVERY_MS);
  }
}
