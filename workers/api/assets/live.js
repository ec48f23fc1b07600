// Keeps the day's grid current without a reload: on any change to the agenda (a booking
// by WhatsApp, a block, a move, a handoff) the grid is fetched again and swapped in
// place. The hours and columns stay, so nothing shifts but what changed. Without this
// script the page is the same, only as of its last load.
(function () {
  "use strict";
  var agenda = document.getElementById("agenda");
  if (!agenda || !window.EventSource || !window.fetch) return;
  var part = agenda.getAttribute("data-part");
  var timer = null;
  function refresh() {
    if (timer) return;
    // Several events of one change arrive together: one fetch for all of them.
    timer = setTimeout(function () {
      timer = null;
      fetch(part, { credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.text() : null; })
        .then(function (html) {
          if (html === null) return;
          agenda.innerHTML = html;
          agenda.setAttribute("data-refreshed", String(Date.now()));
        })
        .catch(function () {});
    }, 100);
  }
  var events = new EventSource(agenda.getAttribute("data-feed"));
  [
    "appointment.booked", "appointment.cancelled", "appointment.rescheduled",
    "appointment.status_changed", "appointment.held", "appointment.hold_ended",
    "time_off.changed", "conversation.handed_off",
    "conversation.changed"
  ].forEach(function (kind) { events.addEventListener(kind, refresh); });
  // A closed stream is a session that ran out: the page renews it on load.
  events.onerror = function () {
    if (events.readyState === EventSource.CLOSED) setTimeout(function () { location.reload(); }, 5000);
  };
  // The line at the present minute moves.
  setInterval(refresh, 60000);
})();
