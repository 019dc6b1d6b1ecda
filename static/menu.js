// The menu form. "Clear form" leaves nothing chosen, also on a form shown again with the
// customer's choices after a refusal (where a plain reset would bring those choices back). One
// click sends one order: the button waits, as in the original, until the next page comes.
(function () {
  "use strict";
  const form = document.querySelector("form.menu");
  if (!form) return;
  const submits = form.querySelectorAll("button[type=submit]");

  form.addEventListener("reset", function (event) {
    event.preventDefault();
    form.querySelectorAll("input").forEach(function (input) { input.checked = false; });
  });
  form.addEventListener("submit", function () {
    submits.forEach(function (button) { button.disabled = true; button.classList.add("waiting"); });
  });
  // Back from the next page, the browser may show this one as it was left: waiting.
  window.addEventListener("pageshow", function () {
    submits.forEach(function (button) { button.disabled = false; button.classList.remove("waiting"); });
  });
})();
