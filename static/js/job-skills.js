// Job order form: suggested skills follow the chosen field, and a click adds one to its list.
// The form works without this: people can type the skills.
(function () {
  "use strict";
  var data = document.getElementById("skill-catalogue");
  var select = document.getElementById("field");
  if (!data || !select) { return; }
  var catalogue = JSON.parse(data.textContent);
  var hints = document.querySelectorAll(".skill-hints");
  function add(input, slug) {
    var parts = input.value.split(/[;,]/).map(function (s) { return s.trim(); })
      .filter(function (s) { return s; });
    if (parts.indexOf(slug) === -1) { parts.push(slug); }
    input.value = parts.join("; ");
    input.focus();
  }
  function render() {
    var skills = catalogue[select.value] || [];
    hints.forEach(function (hint) {
      var box = hint.querySelector(".skill-buttons");
      box.replaceChildren();
      skills.forEach(function (slug) {
        var button = document.createElement("button");
        button.type = "button";
        button.className = "tag";
        button.dataset.skill = slug;
        button.textContent = slug;
        box.appendChild(button);
      });
      hint.hidden = skills.length === 0;
    });
  }
  hints.forEach(function (hint) {
    hint.addEventListener("click", function (event) {
      var slug = event.target.dataset && event.target.dataset.skill;
      if (slug) { add(document.getElementById(hint.dataset.target), slug); }
    });
  });
  select.addEventListener("change", render);
})();
