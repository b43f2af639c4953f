/* The pass page's print button. Keeping the pass for no signal is kept.js's. Optional: without
   JavaScript the pass still shows and prints from the browser's menu. */
(function () {
  'use strict';
  var printButton = document.getElementById('print-pass');
  if (printButton && typeof window.print === 'function') {
    printButton.hidden = false;
    printButton.addEventListener('click', function () { window.print(); });
    var hint = document.querySelector('.print-hint');
    if (hint) hint.hidden = true;
  }
}());
