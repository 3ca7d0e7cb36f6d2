// The graphical console: noVNC on a WebSocket to webvirt's proxy, opened with a one-time ticket.
import RFB from "../vendor/novnc/core/rfb.js";
import KeyTable from "../vendor/novnc/core/input/keysym.js";
import keysyms from "../vendor/novnc/core/input/keysymdef.js";
import { explainClose, fetchSocket, followed, following, setState, wireCommonControls } from "./console-common.js";

const screen = document.getElementById("screen");
const scale = document.getElementById("scale");
const viewOnly = document.getElementById("view-only");
let rfb = null;
let socket = null; // the current one: a replaced socket's late close event must not act

async function connect(retried = false) {
  if (rfb) {
    rfb.disconnect();
    rfb = null;
  }
  screen.replaceChildren();
  setState("connecting");
  let target;
  try {
    target = await fetchSocket();
  } catch (error) {
    if (following()) {
      explainClose({ code: 0 }, { retried, connect: () => connect() });
      return;
    }
    setState("failed", error.code === 4410 ? gettext("guest is not running") : error.message);
    return;
  }
  // Our own socket, so that its close code and reason can be shown; noVNC speaks RFB over it.
  const opened = new WebSocket(target.url, target.protocols);
  socket = opened;
  opened.binaryType = "arraybuffer";
  opened.addEventListener("close", (event) => {
    if (opened === socket && explainClose(event, { retried, connect: () => connect() })) connect(true);
  });
  rfb = new RFB(screen, opened, { shared: true });
  rfb.scaleViewport = scale.checked;
  rfb.viewOnly = viewOnly.checked;
  rfb.addEventListener("connect", () => {
    followed();
    setState("connected");
    rfb.focus();
  });
  rfb.addEventListener("securityfailure", (event) => setState("failed", interpolate(gettext("security failure: %(reason)s"), { reason: event.detail.reason || "" }, true)),
  );
}

// Keys of a combination come as "keysym:code" (e.g. "Control_L:ControlLeft"): with the physical key's
// code, noVNC sends QEMU's extended key events, scancodes that the guest reads with its own layout.
function sendCombo(keys) {
  const pressed = keys.split(" ").map((key) => {
    const [name, code] = key.split(":");
    return [KeyTable[`XK_${name}`], code];
  });
  pressed.forEach(([keysym, code]) => rfb?.sendKey(keysym, code, true));
  pressed.reverse().forEach(([keysym, code]) => rfb?.sendKey(keysym, code, false));
  rfb?.focus();
}

// Pasted text has characters, not physical keys: it goes as keysyms, which QEMU turns into
// scancodes with its own (US) map, so characters beyond that layout may arrive differently.
function typeText(text) {
  for (const character of text) {
    const keysym = character === "\n" ? KeyTable.XK_Return : keysyms.lookup(character.codePointAt(0));
    rfb?.sendKey(keysym, null, true);
    rfb?.sendKey(keysym, null, false);
  }
  rfb?.focus();
}

document.getElementById("ctrl-alt-del").addEventListener("click", () => rfb?.sendCtrlAltDel());
document.getElementById("key-combo").addEventListener("change", (event) => {
  if (event.target.value) sendCombo(event.target.value);
  event.target.value = "";
});
scale.addEventListener("change", () => {
  if (rfb) rfb.scaleViewport = scale.checked;
});
viewOnly.addEventListener("change", () => {
  if (rfb) rfb.viewOnly = viewOnly.checked;
});
const pasteDialog = document.getElementById("paste-dialog");
document.getElementById("paste-open").addEventListener("click", () => pasteDialog.showModal());
pasteDialog.addEventListener("close", () => {
  if (pasteDialog.returnValue === "type") typeText(document.getElementById("paste-text").value);
});
wireCommonControls(() => connect());
window.webvirtConsole = { typeText, sendCombo, get rfb() { return rfb; } };
connect();
