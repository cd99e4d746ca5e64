/* My day: live first-response (SLA) timers.

   The server renders each timer with its deadline (data-sla-deadline), its own clock
   (data-server-now) and a text that reads right without JavaScript. This script counts
   down every second from the server's clock, not the browser's: the difference between
   the two is measured when a timer is first seen, so a wrong computer clock does not
   lie. Past the deadline the timer turns red, says "Overdue by …" and becomes the row's
   overdue badge; the row gets the overdue look. The texts come from the script tag's
   data-text-* attributes (translated by the server). Rows that HTMX adds later ("Show
   more") are picked up on the next tick. */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script) return;
  var texts = {
    left: script.getAttribute("data-text-left") || "{time} left",
    overdue: script.getAttribute("data-text-overdue") || "Overdue by {time}",
    days: script.getAttribute("data-text-days") || "{n} d"
  };
  var SOON_MS = 5 * 60 * 1000;

  function pad(n) {
    return n < 10 ? "0" + n : String(n);
  }

  // 04:59 · 1:04:59 · 2 d 01:04:59
  function clock(totalSeconds) {
    var s = totalSeconds;
    var days = Math.floor(s / 86400);
    s -= days * 86400;
    var hours = Math.floor(s / 3600);
    s -= hours * 3600;
    var minutes = Math.floor(s / 60);
    var seconds = s - minutes * 60;
    var text = pad(minutes) + ":" + pad(seconds);
    if (days) return texts.days.replace("{n}", days) + " " + pad(hours) + ":" + text;
    return hours ? hours + ":" + text : text;
  }

  // The red timer is the row's overdue badge (as the server renders a late one).
  function markRowOverdue(timer) {
    timer.setAttribute("data-overdue", "");
    var row = timer.closest(".followup-row");
    if (!row || row.classList.contains("overdue-row")) return;
    row.classList.add("overdue-row");
    var due = row.querySelector(".due");
    if (due) due.classList.add("overdue");
  }

  function update(timer, clientNow) {
    if (timer._slaDeadline === undefined) {
      timer._slaDeadline = Date.parse(timer.getAttribute("data-sla-deadline"));
      var serverNow = Date.parse(timer.getAttribute("data-server-now"));
      timer._slaOffset = isNaN(serverNow) ? 0 : serverNow - clientNow;
    }
    if (isNaN(timer._slaDeadline)) return;
    var left = timer._slaDeadline - (clientNow + timer._slaOffset);
    var label = timer.querySelector(".sla-text") || timer;
    if (left > 0) {
      label.textContent = texts.left.replace("{time}", clock(Math.ceil(left / 1000)));
      timer.classList.toggle("sla-soon", left <= SOON_MS);
    } else {
      label.textContent = texts.overdue.replace("{time}", clock(Math.floor(-left / 1000)));
      timer.classList.remove("sla-soon");
      timer.classList.add("sla-late");
      markRowOverdue(timer);
    }
  }

  function tick() {
    var now = Date.now();
    var timers = document.querySelectorAll(".sla-timer[data-sla-deadline]");
    for (var i = 0; i < timers.length; i++) update(timers[i], now);
    // Wake just after the next whole second, so the seconds change evenly.
    setTimeout(tick, 1000 - (Date.now() % 1000) + 20);
  }

  tick();
})();
