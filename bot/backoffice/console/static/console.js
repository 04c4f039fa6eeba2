// 信访工作台: small progressive enhancements. Every page works without this file.
(function () {
  "use strict";

  // Forms (or their buttons) with data-confirm ask before they are sent.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var button = event.submitter;
    var question = (button && button.getAttribute("data-confirm")) || form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
      return;
    }
    // one click, one submission: disable the pressed button until the next page loads
    if (button && !form.hasAttribute("data-allow-repeat")) {
      window.setTimeout(function () { button.disabled = true; }, 0);
    }
  });

  // After a failed submission, move keyboard focus to the message so it is read out first.
  document.addEventListener("DOMContentLoaded", function () {
    var alert = document.querySelector("[role=alert]");
    if (alert) {
      alert.setAttribute("tabindex", "-1");
      alert.focus();
    }
    // the new API token: select it on focus so it can be copied at once
    var token = document.getElementById("new-token");
    if (token) {
      token.setAttribute("tabindex", "0");
      token.addEventListener("focus", function () {
        var range = document.createRange();
        range.selectNodeContents(token);
        var selection = window.getSelection();
        selection.removeAllRanges();
        selection.addRange(range);
      });
    }
  });
})();
