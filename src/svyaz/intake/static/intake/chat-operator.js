/* Operators' chat pages: live updates over a WebSocket, polling when there is none.
   The socket only says "something changed"; the HTML comes from the server (rendered and
   escaped there). List mode re-fetches the rows through HTMX; conversation mode appends
   the messages after the last one shown. */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script) return;
  var mode = script.getAttribute("data-mode");
  var target = document.querySelector(script.getAttribute("data-target"));
  var messagesUrl = script.getAttribute("data-messages-url");
  var live = document.getElementById("chat-live");
  var POLL_MS = 3000;
  var pollTimer = null;
  var retry = 1000;
  var busy = false;
  var again = false;
  if (!target) return;

  function setLive(mode) {
    if (!live) return;
    live.setAttribute("data-live", mode);
    var label = live.querySelector("[data-live-label]");
    if (label) label.textContent = script.getAttribute(mode === "websocket" ? "data-text-live" : "data-text-polling");
    live.className = "badge border " + (mode === "websocket" ? "text-bg-success" : "text-bg-light");
  }

  function lastId() {
    var items = target.querySelectorAll("[data-message-id]");
    return items.length ? items[items.length - 1].getAttribute("data-message-id") : "0";
  }

  function scrollDown() { target.scrollTop = target.scrollHeight; }

  function refresh() {
    if (mode === "list") {
      if (window.htmx) window.htmx.trigger(target, "chat-changed");
      return;
    }
    if (busy) { again = true; return; }
    busy = true;
    fetch(messagesUrl + "?after=" + encodeURIComponent(lastId()), {
      credentials: "same-origin", headers: { "HX-Request": "true" }
    }).then(function (response) {
      var status = response.headers.get("X-Chat-Status");
      return response.text().then(function (html) { return { ok: response.ok, html: html, status: status }; });
    }).then(function (answer) {
      if (!answer.ok) return;
      var holder = document.createElement("template");
      holder.innerHTML = answer.html; // server-rendered, escaped by Django's templates
      var added = false;
      Array.prototype.forEach.call(holder.content.querySelectorAll("[data-message-id]"), function (node) {
        if (!document.getElementById(node.id)) { target.appendChild(node); added = true; }
      });
      if (added) scrollDown();
    }).catch(function () { /* offline: the next tick tries again */ }).then(function () {
      busy = false;
      if (again) { again = false; refresh(); }
    });
  }

  function startPolling() {
    setLive("polling");
    if (!pollTimer) pollTimer = window.setInterval(refresh, POLL_MS);
  }

  function stopPolling() {
    if (pollTimer) window.clearInterval(pollTimer);
    pollTimer = null;
  }

  function connect() {
    if (!("WebSocket" in window)) { startPolling(); return; }
    var socket;
    try {
      socket = new WebSocket((window.location.protocol === "https:" ? "wss://" : "ws://") +
        window.location.host + script.getAttribute("data-socket"));
    } catch (e) { startPolling(); return; }
    socket.onopen = function () { stopPolling(); setLive("websocket"); retry = 1000; refresh(); };
    socket.onmessage = function (event) {
      var data;
      try { data = JSON.parse(event.data); } catch (e) { return; }
      if (data.type === "message" || data.type === "changed") refresh();
      if (data.type === "status" && mode === "conversation") window.location.reload();
    };
    socket.onclose = function (event) {
      startPolling();
      if (event.code === 4403) return; // refused (signed out, out of scope): polling only
      window.setTimeout(connect, retry);
      retry = Math.min(retry * 2, 30000);
    };
  }

  document.body.addEventListener("chat-sent", refresh);
  if (mode === "conversation") scrollDown();
  connect();
})();
