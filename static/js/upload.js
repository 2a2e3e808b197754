/* Plan upload: progress bar while the file travels, size check before it leaves.
 *
 * Progressive enhancement: without this script the form posts normally and the server
 * answers with the same page. With it, the file is sent by XMLHttpRequest (fetch cannot
 * report upload progress) and the server's answer replaces the page.
 */
(function () {
  "use strict";

  function setError(form, text) {
    var box = form.querySelector("[data-upload-error]");
    if (!box) return;
    box.textContent = text || "";
    box.hidden = !text;
  }

  function enhanceUpload(form) {
    var input = form.querySelector("input[type=file]");
    var button = form.querySelector("button[type=submit]");
    var progress = form.querySelector("[data-upload-progress]");
    var bar = progress && progress.querySelector("progress");
    var status = progress && progress.querySelector("[data-upload-status]");
    var maxBytes = parseInt(form.getAttribute("data-max-bytes") || "0", 10);

    input.addEventListener("change", function () {
      var file = input.files && input.files[0];
      if (file && maxBytes && file.size > maxBytes) {
        setError(form, file.name + " is " + (file.size / 1048576).toFixed(1) + " MB; the limit is " +
          form.getAttribute("data-max-size") + ".");
      } else {
        setError(form, "");
      }
    });

    form.addEventListener("submit", function (event) {
      var file = input.files && input.files[0];
      if (!file || !window.FormData || !window.XMLHttpRequest) return; // plain post
      event.preventDefault();
      if (maxBytes && file.size > maxBytes) {
        input.dispatchEvent(new Event("change"));
        return;
      }
      setError(form, "");
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.getAttribute("action") || window.location.href);
      xhr.setRequestHeader("X-Requested-With", "XMLHttpRequest");
      progress.hidden = false;
      button.disabled = true;
      bar.value = 0;
      status.textContent = "Uploading " + file.name + "…";
      xhr.upload.addEventListener("progress", function (e) {
        if (!e.lengthComputable) return;
        var pct = Math.round((e.loaded / e.total) * 100);
        bar.value = pct;
        status.textContent = "Uploading " + file.name + ": " + pct + "%";
      });
      xhr.upload.addEventListener("load", function () {
        bar.removeAttribute("value"); // indeterminate while the server checks the file
        status.textContent = "Checking " + file.name + "…";
      });
      xhr.addEventListener("load", function () {
        if (xhr.status >= 400) {
          // Problems: show them above the form and keep the form as it is, so the
          // chosen file stays chosen (fix it and press "Check file" again).
          var doc = new DOMParser().parseFromString(xhr.responseText, "text/html");
          var errors = doc.querySelector(".upload-errors");
          var old = document.querySelector(".upload-errors");
          progress.hidden = true;
          button.disabled = false;
          if (!errors) {
            setError(form, "The server refused the file (HTTP " + xhr.status + ").");
            return;
          }
          var node = document.importNode(errors, true);
          if (old) old.replaceWith(node);
          else form.closest("section").before(node);
          node.scrollIntoView({ block: "start" });
          setError(form, file.name + " is still chosen: fix the file and check it again, or choose another.");
          return;
        }
        // The server answers with a whole page (the preview): show it.
        document.open();
        document.write(xhr.responseText);
        document.close();
      });
      xhr.addEventListener("error", function () {
        progress.hidden = true;
        button.disabled = false;
        setError(form, "The upload failed (network error). Check the connection and try again.");
      });
      xhr.send(new FormData(form));
    });
  }

  function enhanceBusy(form) {
    form.addEventListener("submit", function () {
      var button = form.querySelector("button[type=submit][data-busy-text]");
      if (!button) return;
      // Disable after the submission has been queued; the button carries no value.
      window.setTimeout(function () {
        button.disabled = true;
        button.textContent = button.getAttribute("data-busy-text");
      }, 0);
    });
  }

  document.querySelectorAll("form[data-upload-form]").forEach(enhanceUpload);
  document.querySelectorAll("form[data-busy-form]").forEach(enhanceBusy);
})();
