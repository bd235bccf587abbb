// The case page (collector workspace). Loaded as a file: the Content Security Policy forbids
// inline script. Everything is delegated from the document, so panels swapped in by htmx
// need no re-binding.
(function () {
  "use strict";

  // The promise fields count only for promise action codes (PTP, PTP2).
  function syncPromiseFields(form) {
    var select = form.querySelector("[data-action-code]");
    var fields = form.querySelector("[data-promise-fields]");
    if (!select || !fields) {
      return;
    }
    var option = select.options[select.selectedIndex];
    var promise = Boolean(option && option.getAttribute("data-category") === "promise");
    fields.classList.toggle("d-none", !promise);
  }

  function syncAll(root) {
    (root || document).querySelectorAll("[data-work-log]").forEach(syncPromiseFields);
  }

  // Choosing a contact point picks the channel it is usually reached by (phone → call,
  // e-mail → e-mail, address → visit); the collector may still change it.
  function pickChannel(form, select) {
    var option = select.options[select.selectedIndex];
    var channel = option && option.getAttribute("data-channel");
    var channels = form.querySelector("select[name=channel]");
    if (channel && channels) {
      channels.value = channel;
    }
  }

  document.addEventListener("change", function (event) {
    var form = event.target.closest && event.target.closest("[data-work-log]");
    if (!form) {
      return;
    }
    if (event.target.matches("[data-action-code]")) {
      syncPromiseFields(form);
    } else if (event.target.matches("[data-contact-point]")) {
      pickChannel(form, event.target);
    }
  });

  // Ctrl+Enter (or Cmd+Enter) in the notes saves the record; Enter elsewhere submits as usual.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Enter" || !(event.ctrlKey || event.metaKey)) {
      return;
    }
    var form = event.target.closest && event.target.closest("[data-work-log]");
    if (form && event.target.tagName === "TEXTAREA") {
      event.preventDefault();
      form.requestSubmit();
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    syncAll(document);
  });
  document.addEventListener("htmx:load", function (event) {
    syncAll(event.target);
  });
})();
