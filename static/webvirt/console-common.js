// What the VNC and serial console pages share: tickets, the state badge, reconnect, fullscreen.
const root = document.getElementById("console");
const badge = document.getElementById("console-state");

// WebSocket close codes sent by webvirt (see webvirt/consoles/errors.py).
const CLOSE_STATES = {
  4100: gettext("guest is not running"),
  4103: gettext("access revoked"),
  4403: gettext("access denied"),
  4410: gettext("guest is not running"),
  4423: gettext("in use by another session"),
};
const RETRY_ONCE = new Set([4408, 4409]); // a ticket that expired or was spent: fetch a new one
const MOVING = 4302; // the guest is moving to another host: follow it there
const FOLLOW_FOR_MS = 120000;
const FOLLOW_EVERY_MS = 1000;
let followingUntil = 0;

// The badge's words for each state (the state itself stays in data-state, for styles and tests).
const STATE_WORDS = {
  connecting: gettext("connecting…"),
  connected: gettext("connected"),
  closed: gettext("disconnected"),
  failed: gettext("failed"),
};

export function setState(state, text) {
  const changed = badge.dataset.state !== state;
  badge.dataset.state = state;
  badge.textContent = text || STATE_WORDS[state] || state;
  badge.title = text || "";
  // This connection joined or left the presence list: read it again, whether or not the page's
  // live socket was already following the guest when that was announced.
  if (changed && state !== "connecting") document.getElementById("presence")?.dispatchEvent(new CustomEvent("live"));
}

// A fresh ticket: where to connect, and the subprotocols to offer (the ticket rides in one of
// them, so it never appears in a URL or an access log).
export async function fetchSocket(extraQuery = "") {
  const token = document.querySelector("meta[name=csrf-token]").content;
  const response = await fetch(root.dataset.ticketUrl, {
    method: "POST",
    headers: { "X-CSRFToken": token },
    credentials: "same-origin",
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = new Error(
      body.reason || interpolate(gettext("The server refused a console ticket (%(status)s)."), { status: response.status }, true),
    );
    error.code = body.code;
    throw error;
  }
  if (body.absolute) return { url: body.url + extraQuery, protocols: body.protocols };
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return { url: `${scheme}//${location.host}${body.url}${extraQuery}`, protocols: body.protocols };
}

// While the guest moves, every failed attempt is tried again a second later, until it runs on its
// new host (a new ticket then points there) or two minutes have passed.
export function following() {
  return Date.now() < followingUntil;
}

export function followed() {
  followingUntil = 0;
}

function follow(reason, connect) {
  if (!following()) followingUntil = Date.now() + FOLLOW_FOR_MS;
  setState("connecting", interpolate(gettext("%(reason)s Reconnecting when it runs there…"), { reason }, true));
  setTimeout(() => connect(), FOLLOW_EVERY_MS);
}

// Show why a socket closed; returns true when a fresh ticket should be tried at once.
export function explainClose(event, { retried, connect }) {
  if (event.code === MOVING || (following() && event.code !== 1000)) {
    follow(event.code === MOVING ? event.reason : gettext("The guest is moving."), connect);
    return false;
  }
  if (RETRY_ONCE.has(event.code) && !retried) return true;
  const closed = event.code === 1000 || event.code === 4101;
  const summary = CLOSE_STATES[event.code] || STATE_WORDS[closed ? "closed" : "failed"];
  const text = event.reason ? interpolate(gettext("%(summary)s: %(reason)s"), { summary, reason: event.reason }, true) : summary;
  setState(closed ? "closed" : "failed", text);
  return false;
}

export function wireCommonControls(connect) {
  document.getElementById("reconnect").addEventListener("click", () => connect());
  document.getElementById("fullscreen").addEventListener("click", () => {
    const screen = document.getElementById("screen");
    if (document.fullscreenElement) document.exitFullscreen();
    else screen.requestFullscreen();
  });
  const popout = document.getElementById("popout");
  if (popout) {
    popout.addEventListener("click", () => {
      window.open(`${location.pathname}?popout=1`, `console-${location.pathname}`, "width=1060,height=840");
    });
  }
}
