// Upload with a progress bar: the browser sends the file; a worker then streams it to the host.
(function () {
  const form = document.getElementById("upload-form");
  if (!form) return;
  const bar = document.getElementById("upload-progress");
  const status = document.getElementById("upload-status");
  form.addEventListener("submit", function (event) {
    if (!form.querySelector("input[type=file]").files.length) return;
    event.preventDefault();
    const request = new XMLHttpRequest();
    request.open("POST", location.pathname);
    bar.hidden = false;
    request.upload.addEventListener("progress", function (e) {
      if (e.lengthComputable) {
        bar.value = Math.round((100 * e.loaded) / e.total);
        status.textContent = interpolate(gettext("%(percent)s sent"), { percent: `${bar.value}%` }, true);
      }
    });
    request.addEventListener("load", function () {
      // The server answers with the page: redirected on success, the form with errors otherwise.
      document.open();
      document.write(request.responseText);
      document.close();
      history.replaceState(null, "", request.responseURL);
    });
    request.addEventListener("error", function () {
      status.textContent = gettext("The upload was interrupted; nothing was kept.");
    });
    request.send(new FormData(form));
  });
})();
