// Show the fields that the chosen source uses, and the size fields only for a custom size.
(function () {
  const switcher = document.getElementById("host-switch");
  if (switcher) {
    // Choosing another host (or Any host) loads its choices; the button stays for no script.
    switcher.querySelector("select").addEventListener("change", function () {
      switcher.submit();
    });
  }
  const form = document.getElementById("guest-create");
  if (!form) return;
  function update() {
    const source = (form.querySelector("input[name=source]:checked") || {}).value;
    form.querySelectorAll("[data-sources]").forEach(function (field) {
      field.hidden = !field.dataset.sources.split(" ").includes(source);
    });
    const custom = !form.querySelector("select[name=flavor]").value;
    ["vcpus", "memory_mib", "disk_gib"].forEach(function (name) {
      form.querySelector(`[data-field=${name}]`).hidden = !custom;
    });
  }
  form.addEventListener("change", update);
  update();
})();
