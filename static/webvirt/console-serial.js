// The serial console: xterm.js on a WebSocket bridged to the guest's serial port by webvirt.
import { Terminal } from "../vendor/xterm/xterm.mjs";
import { FitAddon } from "../vendor/xterm/addon-fit.mjs";
import { explainClose, fetchSocket, followed, following, setState, wireCommonControls } from "./console-common.js";

const terminal = new Terminal({ convertEol: false, cursorBlink: true, fontSize: 14, scrollback: 5000 });
const fit = new FitAddon();
terminal.loadAddon(fit);
terminal.open(document.getElementById("screen"));
fit.fit();
window.addEventListener("resize", () => fit.fit());
const takeOver = document.getElementById("take-over");
const encoder = new TextEncoder();
let socket = null;

async function connect(retried = false, { takeover = false } = {}) {
  socket?.close();
  takeOver.hidden = true;
  setState("connecting");
  let target;
  try {
    target = await fetchSocket(takeover ? "?takeover=1" : "");
  } catch (error) {
    if (following()) {
      explainClose({ code: 0 }, { retried, connect: () => connect(false, { takeover }) });
      return;
    }
    setState("failed", error.code === 4410 ? gettext("guest is not running") : error.message);
    return;
  }
  const current = new WebSocket(target.url, target.protocols);
  socket = current;
  current.binaryType = "arraybuffer";
  current.addEventListener("open", () => {
    setState("connected");
    terminal.focus();
  });
  current.addEventListener("message", (event) => {
    followed(); // refusals open too, then close: only bytes from the guest end a follow
    terminal.write(new Uint8Array(event.data));
  });
  current.addEventListener("close", (event) => {
    if (socket !== current) return;
    if (event.code === 4423) takeOver.hidden = false;
    if (explainClose(event, { retried, connect: () => connect(false, { takeover }) })) connect(true, { takeover });
  });
}

terminal.onData((data) => {
  if (socket?.readyState === WebSocket.OPEN) socket.send(encoder.encode(data));
});
takeOver.addEventListener("click", () => connect(false, { takeover: true }));
wireCommonControls(() => connect());
window.webvirtSerial = { terminal };
connect();
