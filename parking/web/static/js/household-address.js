// Optional: narrow the address pickers to what the estate's list allows (a unit only where the
// chosen building has it, a room only where that building and unit have it), and show another
// garage's list when the garage changes. Without this script every option is offered and the
// server checks the combination.
(function () {
  "use strict";
  var form = document.querySelector("form[data-address-blocks]");
  if (!form) return;
  var blocks = JSON.parse(form.getAttribute("data-address-blocks") || "[]");
  var building = form.querySelector("select[name=building]");
  var unit = form.querySelector("select[name=unit]");
  var room = form.querySelector("select[name=room]");
  var garage = form.querySelector("select[name=garage_id]");

  if (garage && form.hasAttribute("data-address-page")) {
    garage.addEventListener("change", function () {
      if (garage.value === form.getAttribute("data-address-garage")) return;
      window.location.assign(form.getAttribute("data-address-page") + "?garage_id=" + encodeURIComponent(garage.value));
    });
  }
  if (!building || !unit || !room || blocks.length < 2) return;

  function allowed(index, chosen) {
    var values = {};
    blocks.forEach(function (block) {
      for (var i = 0; i < index; i++) {
        if (chosen[i] && block[i].indexOf(chosen[i]) < 0) return;
      }
      block[index].forEach(function (v) { values[v] = true; });
    });
    return values;
  }

  function narrow(select, index, chosen) {
    var ok = allowed(index, chosen);
    Array.prototype.forEach.call(select.options, function (option) {
      var hide = option.value !== "" && !ok[option.value];
      option.hidden = hide;
      option.disabled = hide;
    });
    if (select.value && !ok[select.value]) select.value = "";
  }

  function update() {
    narrow(unit, 1, [building.value]);
    narrow(room, 2, [building.value, unit.value]);
  }

  building.addEventListener("change", update);
  unit.addEventListener("change", update);
  update();
})();
