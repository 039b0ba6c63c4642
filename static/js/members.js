// The members page: copying an invitation's link. The link is in a read-only field beside
// the button, so it can also be selected by hand where the clipboard is not allowed.
(function () {
  "use strict";

  document.addEventListener("click", function (event) {
    const button = event.target.closest("[data-copy-link]");
    if (!button) return;
    const field = button.parentElement.querySelector(".invitation-link");
    field.select();
    const copied = navigator.clipboard ? navigator.clipboard.writeText(field.value) : Promise.reject();
    copied.then(
      () => { button.textContent = "Copied"; },
      () => { button.textContent = "Press Ctrl+C to copy"; },
    );
  });
})();
