// Trainee form: refresh the skill suggestions when another field is chosen (the page works
// without this).
(function () {
  "use strict";
  var data = document.getElementById("skill-catalogue");
  var select = document.getElementById("field");
  if (!data || !select) { return; }
  var catalogue = JSON.parse(data.textContent);
  var list = document.getElementById("skills-list");
  var hint = document.getElementById("skills-hint");
  var tags = document.getElementById("skills-hint-list");
  select.addEventListener("change", function () {
    var skills = catalogue[select.value] || [];
    list.replaceChildren();
    tags.replaceChildren();
    skills.forEach(function (slug) {
      var option = document.createElement("option");
      option.value = slug;
      list.appendChild(option);
      var tag = document.createElement("span");
      tag.className = "tag";
      tag.textContent = slug;
      tags.appendChild(tag);
    });
    hint.hidden = skills.length === 0;
  });
})();
