// Optional: pick a range on the calendar by clicking a first and a last night. Without this script
// the range form below the calendar and each night's "Change" link do the same.
(function () {
  "use strict";
  var form = document.getElementById("range-form");
  var hint = document.getElementById("range-hint");
  if (!form) return;
  var start = form.querySelector("input[name=start_date]");
  var end = form.querySelector("input[name=end_date]");
  var cells = Array.prototype.slice.call(document.querySelectorAll("td[data-date]"));
  if (hint) hint.hidden = false;
  var first = null;

  function mark(a, b) {
    cells.forEach(function (cell) {
      var d = cell.getAttribute("data-date");
      cell.classList.toggle("picked", a !== null && d >= a && d <= (b || a));
    });
  }

  cells.forEach(function (cell) {
    cell.addEventListener("click", function (event) {
      if (event.target.closest("a, button, input, select")) return; // the links keep working
      var day = cell.getAttribute("data-date");
      if (first === null || end.value) {
        first = day;
        start.value = day;
        end.value = "";
        mark(day, null);
      } else {
        var a = first < day ? first : day;
        var b = first < day ? day : first;
        start.value = a;
        end.value = b;
        mark(a, b);
        first = null;
        form.querySelector("button[type=submit]").focus();
      }
    });
  });
})();
