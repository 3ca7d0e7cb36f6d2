// What the VNC and serial console pages share: tickets, the state badge, reconnect, fullscreen.
const root = document.getElementById("console");
const badge = document.getElementById("console-state");

// WebSocket close codes sent by webvirt (see webvirt/consoles/errors.py).
const CLOSE_STATES = {
  4100: "guest is not running",
  4103: "access revoked",
  4403: "access denied",
  4410: "guest is not running",
  4423: "in use by another session",
};
const RETRY_ONCE = new Set([4408, 4409]); // a ticket that expired or was spent: fetch a new one
const MOVING = 4302; // the guest is moving to another host: follow it there
const FOLLOW_FOR_MS = 120000;
const FOLLOW_EVERY_MS = 1000;
let followingUntil = 0;

export function setState(state, text) {
  badge.dataset.state = state;
  badge.textContent = text || state;
  badge.title = text || "";
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
    const error = new Error(body.reason || `The server refused a console ticket (${response.status}).`);
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
  setState("connecting", `${reason} Reconnecting when it runs there…`);
  setTimeout(() => connect(), FOLLOW_EVERY_MS);
}

// Show why a socket closed; returns true when a fresh ticket should be tried at once.
export function explainClose(event, { retried, connect }) {
  if (event.code === MOVING || (following() && event.code !== 1000)) {
    follow(event.code === MOVING ? event.reason : "The guest is moving.", connect);
    return false;
  }
  if (RETRY_ONCE.has(event.code) && !retried) return true;
  const summary = CLOSE_STATES[event.code] || (event.code === 1000 || event.code === 4101 ? "disconnected" : "failed");
  setState(event.code === 1000 || event.code === 4101 ? "closed" : "failed", event.reason ? `${summary}: ${event.reason}` : summary);
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
