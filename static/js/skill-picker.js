// Skill picker: a searchable, keyboard-usable multi-select over the skill vocabulary.
//
// Progressive enhancement of a text input of ";"-separated skills (input[data-skill-picker]):
// without this script people type codes or labels in any language, and the server resolves
// them. With it, the input is hidden but still submitted, and kept in sync with the chosen
// skills, shown as removable tags. The combobox follows the ARIA pattern: type to filter,
// ArrowDown / ArrowUp to move, Enter to choose (or to add what was typed as a custom skill),
// Escape to close, Backspace in an empty box removes the last skill. Options are filtered by
// the field chosen in the select named by data-field-select. The vocabulary (labels in the
// reader's language) and the texts come from <script type="application/json"> blocks, so
// the page needs no inline script and no CDN.
(function () {
  "use strict";
  var data = document.getElementById("skill-vocabulary");
  if (!data) { return; }
  var config = JSON.parse(data.textContent);
  var vocabulary = config.skills;
  var texts = config.texts;
  var byKey = {};
  var byCode = {};
  vocabulary.forEach(function (skill) {
    byCode[skill.code] = skill;
    skill.keys.forEach(function (key) { if (!(key in byKey)) { byKey[key] = skill; } });
  });
  var MAX_OPTIONS = 60;

  // The same key as the server's skill_key: NFKC, no diacritics, lower case, letters and
  // digits only ("Hàn điện" -> "handien").
  function key(text) {
    return text.normalize("NFKC").replace(/đ/g, "d").replace(/Đ/g, "D").normalize("NFD")
      .replace(/[\u0300-\u036f]/g, "").toLowerCase().replace(/[^\p{L}\p{N}]/gu, "");
  }

  function format(template, value) { return template.replace("%(value)s", value); }

  function split(value) {
    return value.split(/[;,；，、]/).map(function (s) { return s.trim(); })
      .filter(function (s) { return s; });
  }

  function enhance(input, index) {
    var fieldSelect = document.getElementById(input.dataset.fieldSelect || "");
    var chosen = [];  // codes, or custom skills as typed
    split(input.value).forEach(function (part) {
      var skill = byKey[key(part)];
      var token = skill ? skill.code : part;
      if (chosen.indexOf(token) === -1) { chosen.push(token); }
    });

    var box = document.createElement("div");
    box.className = "skill-picker";
    var tags = document.createElement("ul");
    tags.className = "skill-tags";
    tags.setAttribute("aria-label", texts.chosen);
    var search = document.createElement("input");
    var listId = input.id + "-options";
    search.type = "text";
    search.id = input.id + "-search";
    search.className = "skill-search";
    search.autocomplete = "off";
    search.placeholder = texts.placeholder;
    search.setAttribute("role", "combobox");
    search.setAttribute("aria-autocomplete", "list");
    search.setAttribute("aria-expanded", "false");
    search.setAttribute("aria-controls", listId);
    ["aria-describedby", "aria-invalid"].forEach(function (name) {
      if (input.hasAttribute(name)) { search.setAttribute(name, input.getAttribute(name)); }
    });
    var list = document.createElement("ul");
    list.id = listId;
    list.className = "skill-options";
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", texts.options);
    list.hidden = true;
    var status = document.createElement("p");
    status.className = "visually-hidden";
    status.setAttribute("aria-live", "polite");
    box.append(tags, search, list, status);

    input.removeAttribute("list");
    input.hidden = true;
    input.after(box);
    var label = document.querySelector("label[for='" + input.id + "']");
    if (label) { label.htmlFor = search.id; }

    var options = [];  // what the list shows: {code, label} or {custom}
    var active = -1;

    function sync() {
      input.value = chosen.join("; ");
      tags.replaceChildren();
      chosen.forEach(function (token) {
        var skill = byCode[token];
        var name = skill ? skill.label : token;
        var item = document.createElement("li");
        item.className = "tag" + (skill ? "" : " skill-custom");
        item.dataset.skill = token;
        item.append(document.createTextNode(name));
        if (!skill) {
          var mark = document.createElement("small");
          mark.textContent = " (" + texts.custom + ")";
          item.append(mark);
        }
        var remove = document.createElement("button");
        remove.type = "button";
        remove.className = "skill-remove";
        remove.textContent = "×";
        remove.setAttribute("aria-label", format(texts.remove, name));
        remove.addEventListener("click", function () {
          chosen.splice(chosen.indexOf(token), 1);
          sync();
          status.textContent = format(texts.removed, name);
          search.focus();
        });
        item.append(remove);
        tags.append(item);
      });
      tags.hidden = chosen.length === 0;
    }

    function field() { return fieldSelect ? fieldSelect.value : ""; }

    function render() {
      var query = key(search.value);
      var current = field();
      options = vocabulary.filter(function (skill) {
        if (chosen.indexOf(skill.code) !== -1) { return false; }
        if (current && skill.fields.indexOf(current) === -1) { return false; }
        return !query || skill.keys.some(function (k) { return k.indexOf(query) !== -1; });
      }).slice(0, MAX_OPTIONS);
      var typed = search.value.trim();
      var exact = typed ? byKey[key(typed)] : null;
      if (exact && options.indexOf(exact) === -1 && chosen.indexOf(exact.code) === -1) {
        options.push(exact);  // named exactly, though of another field
      } else if (typed && !exact && chosen.indexOf(typed) === -1) {
        options.push({custom: typed});
      }
      list.replaceChildren();
      options.forEach(function (option, i) {
        var item = document.createElement("li");
        item.id = listId + "-" + i;
        item.setAttribute("role", "option");
        item.setAttribute("aria-selected", "false");
        item.textContent = option.custom ? format(texts.add_custom, option.custom) : option.label;
        if (option.custom) { item.className = "skill-custom"; }
        item.addEventListener("mousedown", function (event) {
          event.preventDefault();  // keep the focus in the search box
          choose(i);
        });
        list.append(item);
      });
      active = typed && options.length ? 0 : -1;
      highlight();
      open(options.length > 0);
      status.textContent = options.length ? "" : texts.none;
    }

    function open(show) {
      list.hidden = !show;
      search.setAttribute("aria-expanded", show ? "true" : "false");
      if (!show) { active = -1; search.removeAttribute("aria-activedescendant"); }
    }

    function highlight() {
      Array.prototype.forEach.call(list.children, function (item, i) {
        var on = i === active;
        item.setAttribute("aria-selected", on ? "true" : "false");
        item.classList.toggle("active", on);
        if (on) { item.scrollIntoView({block: "nearest"}); }
      });
      if (active >= 0) {
        search.setAttribute("aria-activedescendant", listId + "-" + active);
      } else {
        search.removeAttribute("aria-activedescendant");
      }
    }

    function choose(i) {
      var option = options[i];
      if (!option) { return; }
      var token = option.custom || option.code;
      if (chosen.indexOf(token) === -1) { chosen.push(token); }
      sync();
      status.textContent = format(texts.added, option.custom || option.label);
      search.value = "";
      render();
      open(false);
      search.focus();
    }

    search.addEventListener("input", render);
    search.addEventListener("focus", render);
    search.addEventListener("blur", function () { open(false); });
    search.addEventListener("keydown", function (event) {
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        if (list.hidden) { render(); }
        if (!options.length) { return; }
        var step = event.key === "ArrowDown" ? 1 : -1;
        active = (active + step + options.length) % options.length;
        if (active < 0) { active = 0; }
        highlight();
      } else if (event.key === "Enter") {
        if (!list.hidden && active >= 0) {
          event.preventDefault();  // choose, do not submit the form
          choose(active);
        } else if (search.value.trim()) {
          event.preventDefault();
        }
      } else if (event.key === "Escape") {
        if (!list.hidden) { event.preventDefault(); open(false); }
      } else if (event.key === "Backspace" && !search.value && chosen.length) {
        var last = chosen.pop();
        sync();
        status.textContent = format(texts.removed, byCode[last] ? byCode[last].label : last);
      }
    });
    if (fieldSelect) {
      fieldSelect.addEventListener("change", function () {
        if (document.activeElement === search) { render(); }
      });
    }
    sync();
    return index;
  }

  document.querySelectorAll("input[data-skill-picker]").forEach(enhance);
})();
