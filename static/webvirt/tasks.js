// Notifications for your own operations as they finish (events from live.js): a failure stays, in
// red, until dismissed; a success shows for a few seconds. The task pane (base.html) lists them,
// and the page's "queued" line (core/flash.py) becomes the outcome.
(function () {
  "use strict";
  const SUCCESS_MS = 5000;

  function toast(data) {
    const box = document.getElementById("toasts");
    if (!box) return;
    const failed = data.status === "failed";
    const item = document.createElement("div");
    item.className = `toast ${failed ? "error" : "success"}`;
    item.setAttribute("role", failed ? "alert" : "status");
    const link = document.createElement("a");
    link.href = `/operations/${data.operation_id}/`;
    link.textContent = `${data.label} ${data.target}`;
    const outcome = failed ? gettext("%(operation)s failed.") : gettext("%(operation)s succeeded.");
    const [before, after] = outcome.split("%(operation)s");
    item.append(document.createTextNode(before), link, document.createTextNode(after));
    const close = document.createElement("button");
    close.type = "button";
    close.className = "link";
    close.setAttribute("aria-label", gettext("Dismiss"));
    close.textContent = "×";
    close.addEventListener("click", () => item.remove());
    item.append(close);
    box.append(item);
    if (!failed) setTimeout(() => item.remove(), SUCCESS_MS);
  }

  // The state at the end of a queued line (core/flash.py says "queued." the same way).
  const QUEUED = pgettext("operation state", "queued.");
  const OUTCOMES = {
    running: pgettext("operation state", "running."),
    succeeded: pgettext("operation state", "done."),
    failed: pgettext("operation state", "failed (see Tasks)."),
  };

  // "Start web1: queued." becomes "Start web1: running.", then "...: done." or "...: failed".
  function settleFlash(operationId, status) {
    const line = document.querySelector(`.flash.operation-${operationId}`);
    if (!line || !OUTCOMES[status]) return;
    const current = [QUEUED, OUTCOMES.running].find((state) => line.textContent.endsWith(state));
    if (!current) return;
    line.textContent = line.textContent.slice(0, -current.length) + OUTCOMES[status];
    if (status === "running") return;
    line.classList.remove("info");
    line.classList.add(status === "failed" ? "error" : "success");
    line.setAttribute("role", status === "failed" ? "alert" : "status");
  }

  // An operation may end before this page's socket listens: the task pane, read on load, knows.
  document.addEventListener("htmx:afterSettle", (event) => {
    if (event.target.id !== "taskpane-list") return;
    event.target.querySelectorAll("li[data-operation]").forEach((item) => {
      settleFlash(item.dataset.operation, item.dataset.status);
    });
  });

  document.addEventListener("webvirt:event", (event) => {
    const data = event.detail;
    const mine = data.topic === `user.${document.body.dataset.signedIn}`;
    if (mine && data.event.startsWith("operation.")) settleFlash(data.operation_id, data.status);
    if (mine && data.event === "operation.finished") toast(data);
  });
})();
