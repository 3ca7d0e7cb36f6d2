// The graphical console: noVNC on a WebSocket to webvirt's proxy, opened with a one-time ticket.
import RFB from "../vendor/novnc/core/rfb.js";
import KeyTable from "../vendor/novnc/core/input/keysym.js";
import keysyms from "../vendor/novnc/core/input/keysymdef.js";
import { explainClose, fetchSocketUrl, setState, wireCommonControls } from "./console-common.js";

const screen = document.getElementById("screen");
const scale = document.getElementById("scale");
const viewOnly = document.getElementById("view-only");
let rfb = null;

async function connect(retried = false) {
  if (rfb) {
    rfb.disconnect();
    rfb = null;
  }
  screen.replaceChildren();
  setState("connecting", "connecting…");
  let url;
  try {
    url = await fetchSocketUrl();
  } catch (error) {
    setState("failed", error.code === 4410 ? "guest is not running" : error.message);
    return;
  }
  // Our own socket, so that its close code and reason can be shown; noVNC speaks RFB over it.
  const socket = new WebSocket(url, ["binary"]);
  socket.binaryType = "arraybuffer";
  socket.addEventListener("close", (event) => {
    if (explainClose(event, { retried })) connect(true);
  });
  rfb = new RFB(screen, socket, { shared: true });
  rfb.scaleViewport = scale.checked;
  rfb.viewOnly = viewOnly.checked;
  rfb.addEventListener("connect", () => {
    setState("connected", "connected");
    rfb.focus();
  });
  rfb.addEventListener("securityfailure", (event) => setState("failed", `security failure: ${event.detail.reason || ""}`));
}

function tap(keysym, down) {
  rfb?.sendKey(keysym, null, down);
}

function sendCombo(names) {
  const codes = names.split(" ").map((name) => KeyTable[`XK_${name}`]);
  codes.forEach((code) => tap(code, true));
  codes.reverse().forEach((code) => tap(code, false));
  rfb?.focus();
}

function typeText(text) {
  for (const character of text) {
    const keysym = character === "\n" ? KeyTable.XK_Return : keysyms.lookup(character.codePointAt(0));
    tap(keysym, true);
    tap(keysym, false);
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
