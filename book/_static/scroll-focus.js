// A box that scrolls sideways (a wide figure or table on a phone, a long equation) can be
// reached with the keyboard: it gets tabindex=0 and a label while it overflows, none when
// it fits (the axe rule scrollable-region-focusable).
(function () {
  const BOXES = ".bd-article .cell_output, .bd-article mjx-container[display='true']";
  function mark() {
    document.querySelectorAll(BOXES).forEach((box) => {
      if (box.scrollWidth > box.clientWidth + 1) {
        box.tabIndex = 0;
        box.setAttribute("role", "region");
        box.setAttribute("aria-label", "wide content: scroll sideways");
      } else if (box.getAttribute("aria-label") === "wide content: scroll sideways") {
        box.removeAttribute("tabindex");
        box.removeAttribute("role");
        box.removeAttribute("aria-label");
      }
    });
  }
  window.addEventListener("load", mark);
  const later = () => window.requestAnimationFrame(mark);
  window.addEventListener("resize", later);
  // Hidden cells and solutions that open can hold wide boxes too.
  document.addEventListener("click", () => window.setTimeout(mark, 50));
  document.addEventListener("toggle", later, true);
})();
