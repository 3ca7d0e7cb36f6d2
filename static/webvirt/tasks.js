// Notifications for your own operations as they finish (events from live.js): a failure stays, in
// red, until dismissed; a success shows for a few seconds. The task pane (base.html) lists them.
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
    item.append(link, document.createTextNode(failed ? " failed." : " succeeded."));
    const close = document.createElement("button");
    close.type = "button";
    close.className = "link";
    close.setAttribute("aria-label", "Dismiss");
    close.textContent = "×";
    close.addEventListener("click", () => item.remove());
    item.append(close);
    box.append(item);
    if (!failed) setTimeout(() => item.remove(), SUCCESS_MS);
  }

  document.addEventListener("webvirt:event", (event) => {
    const data = event.detail;
    const mine = data.topic === `user.${document.body.dataset.signedIn}`;
    if (mine && data.event === "operation.finished") toast(data);
  });
})();
