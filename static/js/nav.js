// The site menu collapses behind a "Menu" button on narrow screens (templates/base.html).
// Without this script the button stays hidden and the menu open, so nothing is lost; with it,
// the button says whether the menu is open (aria-expanded), Escape closes it and gives the
// focus back to the button. On wide screens the CSS shows the menu whatever the button says.
(function () {
  "use strict";
  var header = document.querySelector(".site-header");
  var button = header && header.querySelector(".menu-toggle");
  var menu = button && document.getElementById(button.getAttribute("aria-controls"));
  if (!menu) {
    return;
  }
  function setOpen(open) {
    button.setAttribute("aria-expanded", open ? "true" : "false");
    header.classList.toggle("menu-open", open);
  }
  button.hidden = false;
  header.classList.add("collapsible");
  setOpen(false);
  button.addEventListener("click", function () {
    setOpen(button.getAttribute("aria-expanded") !== "true");
  });
  header.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && button.getAttribute("aria-expanded") === "true") {
      setOpen(false);
      button.focus();
    }
  });
})();
