// Show only the connection fields that the chosen transport uses.
(function () {
  const select = document.querySelector("select[name=transport]");
  if (!select) return;
  function update() {
    document.querySelectorAll("[data-transports]").forEach(function (field) {
      field.hidden = !field.dataset.transports.split(" ").includes(select.value);
    });
  }
  select.addEventListener("change", update);
  update();
})();
