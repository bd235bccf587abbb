// The template editor. Loaded as a file: the Content Security Policy forbids inline script.
// The live preview itself is htmx (hx-post on input, debounced, on the form); this file only
// inserts a variable at the cursor and tells htmx the text changed.
(function () {
  "use strict";

  function insertAtCursor(field, text) {
    var start = field.selectionStart || 0;
    var end = field.selectionEnd || 0;
    field.value = field.value.slice(0, start) + text + field.value.slice(end);
    field.selectionStart = field.selectionEnd = start + text.length;
    field.focus();
    field.dispatchEvent(new Event("input", { bubbles: true }));
  }

  // The last text field of the form the user was in (subject or body); the body by default.
  var lastField = null;
  document.addEventListener("focusin", function (event) {
    if (event.target.matches && event.target.matches("[data-template-field]")) {
      lastField = event.target;
    }
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-insert-variable]");
    if (!button) {
      return;
    }
    var form = button.closest("[data-template-editor]");
    if (!form) {
      return;
    }
    var field = lastField && form.contains(lastField) ? lastField : form.querySelector("[data-template-field=body]");
    if (field) {
      insertAtCursor(field, "${" + button.getAttribute("data-insert-variable") + "}");
    }
  });
})();
