// One confirmation dialog for destructive actions. A form, or the button that submits it, marked
// data-confirm="Force off web1? Unsaved work in the guest is lost." asks first, in a modal dialog
// whose confirm button says data-confirm-verb; "{field}" in the text is replaced by what is chosen
// in that field of the form. Cancel (focused first) or Esc does nothing. Without JavaScript the
// form simply submits: the server checks and refuses as always.
(() => {
  "use strict";
  let dialog;

  function build() {
    dialog = document.createElement("dialog");
    dialog.className = "confirm-dialog";
    dialog.setAttribute("aria-labelledby", "confirm-title");
    dialog.setAttribute("aria-describedby", "confirm-text");
    const title = Object.assign(document.createElement("h2"), { id: "confirm-title" });
    const text = Object.assign(document.createElement("p"), { id: "confirm-text" });
    const buttons = Object.assign(document.createElement("form"), { method: "dialog", className: "dialog-buttons" });
    const cancel = Object.assign(document.createElement("button"), { value: "cancel", textContent: gettext("Cancel"), autofocus: true });
    const confirm = Object.assign(document.createElement("button"), { value: "confirm", className: "danger" });
    buttons.append(cancel, confirm);
    dialog.append(title, text, buttons);
    document.body.append(dialog);
  }

  function fill(message, form) {
    return message.replace(/\{(\w+)\}/g, (whole, name) => {
      const field = form.elements.namedItem(name);
      if (!field) return whole;
      if (field.tagName === "SELECT") return field.selectedOptions[0] ? field.selectedOptions[0].text : "";
      return field.value.trim() || gettext("(nobody)");
    });
  }

  function ask(message, verb) {
    if (!dialog) build();
    // The question is the title, what follows it the text ("？" ends a question in Chinese).
    const question = /\? |？/.exec(message);
    const split = question ? question.index + 1 : -1;
    dialog.querySelector("h2").textContent = split < 0 ? message : message.slice(0, split);
    dialog.querySelector("p").textContent = split < 0 ? "" : message.slice(split).trim();
    dialog.querySelector("button[value=confirm]").textContent = verb || gettext("Confirm");
    dialog.returnValue = "";
    dialog.showModal();
    return new Promise((resolve) => {
      dialog.addEventListener("close", () => resolve(dialog.returnValue === "confirm"), { once: true });
    });
  }

  document.addEventListener(
    "submit",
    (event) => {
      const form = event.target;
      const submitter = event.submitter;
      const source = submitter && submitter.dataset.confirm ? submitter : form;
      if (!source.dataset || !source.dataset.confirm) return;
      if (form.dataset.confirmed) {
        delete form.dataset.confirmed;
        return;
      }
      event.preventDefault();
      event.stopImmediatePropagation();
      ask(fill(source.dataset.confirm, form), source.dataset.confirmVerb).then((confirmed) => {
        if (!confirmed) return;
        form.dataset.confirmed = "1";
        const opener = form.closest("dialog[open]");
        if (opener) opener.close();
        form.requestSubmit(submitter && submitter.form === form ? submitter : undefined);
      });
    },
    true,
  );
})();

// While a dialog is open (a change form being filled in, or this confirmation), live fragments
// wait: swapping them would drop what is typed or detach the form being confirmed. Each one
// that missed an update is refreshed when the last dialog closes.
(() => {
  "use strict";
  document.addEventListener("htmx:beforeRequest", (event) => {
    const element = event.detail.elt;
    if (!element.matches("[data-live]") || !document.querySelector("dialog[open]")) return;
    event.preventDefault();
    element.dataset.liveMissed = "1";
  });
  document.addEventListener(
    "close",
    () => {
      if (document.querySelector("dialog[open]")) return;
      for (const element of document.querySelectorAll("[data-live-missed]")) {
        delete element.dataset.liveMissed;
        element.dispatchEvent(new CustomEvent("live"));
      }
    },
    true,
  );
})();

// Change dialogs open with HTML invoker commands (commandfor + command="show-modal" / "close");
// browsers from before them (Firefox < 144, Safari < 26.2) get the same from this fallback.
(() => {
  "use strict";
  if ("command" in HTMLButtonElement.prototype) return;
  document.addEventListener("click", (event) => {
    const button = event.target.closest("button[commandfor]");
    const dialog = button && document.getElementById(button.getAttribute("commandfor"));
    if (!(dialog instanceof HTMLDialogElement)) return;
    const command = button.getAttribute("command");
    if (command === "show-modal") dialog.showModal();
    else if (command === "close") dialog.close();
  });
})();
