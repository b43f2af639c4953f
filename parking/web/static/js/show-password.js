// The switch beside each password field: shows what was typed, then hides it again. Without this
// script the button stays hidden and the field is an ordinary password field.
(function () {
  "use strict";
  document.querySelectorAll("button.show-password").forEach(function (button) {
    var field = document.getElementById(button.getAttribute("aria-controls"));
    var word = button.querySelector(".show-password-word");
    if (!field || !word) return;
    var showWord = word.textContent;
    var hideWord = button.getAttribute("data-hide");
    button.hidden = false;
    button.addEventListener("click", function () {
      var shown = field.type === "password";
      field.type = shown ? "text" : "password";
      word.textContent = shown ? hideWord : showWord;
    });
  });
  // Hidden again when the form is sent, so the browser does not keep it as a visible field's value.
  document.querySelectorAll("form").forEach(function (form) {
    form.addEventListener("submit", function () {
      form.querySelectorAll("button.show-password").forEach(function (button) {
        var field = document.getElementById(button.getAttribute("aria-controls"));
        if (field && field.type === "text") button.click();
      });
    });
  });
})();
