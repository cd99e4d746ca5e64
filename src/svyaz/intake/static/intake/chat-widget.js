/* Svyaz website chat. Embed:
     <script src="https://crm.example.com/intake/chat/widget.js" data-key="KEY" async></script>
   Talks over a WebSocket when the server offers one (uvicorn) and falls back to HTTP
   polling otherwise (the embedded WSGI server, a proxy without WebSocket support).
   Everything the visitor or an operator wrote is shown with textContent: never as HTML.
   No dependencies. */
(function () {
  "use strict";
  var script = document.currentScript ||
    document.querySelector('script[data-key][src*="/intake/chat/widget.js"]');
  if (!script || window.__svyazChat) return;
  window.__svyazChat = true;
  var key = script.getAttribute("data-key");
  var src = new URL(script.src, window.location.href);
  var basePath = src.pathname.replace(/\/intake\/chat\/widget\.js$/, "");
  var api = src.origin + basePath + "/intake/chat/w/" + encodeURIComponent(key) + "/";
  var storeKey = "svyaz-chat:" + src.origin + ":" + key;
  var state = {
    token: null, lastId: 0, seen: {}, socket: null, ready: false, pollTimer: null,
    retry: 1000, config: null, sending: false
  };
  try { state.token = window.localStorage.getItem(storeKey); } catch (e) { /* private mode */ }

  var CSS = [
    "#svyaz-chat{position:fixed;right:20px;bottom:20px;z-index:2147483000;font:14px/1.4 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:#1f2933}",
    "#svyaz-chat *{box-sizing:border-box}",
    "#svyaz-chat-launcher{background:#2b6cb0;color:#fff;border:0;border-radius:24px;padding:12px 20px;font:inherit;font-weight:600;cursor:pointer;box-shadow:0 4px 12px rgba(0,0,0,.2)}",
    "#svyaz-chat-panel{display:none;width:340px;max-width:calc(100vw - 40px);height:460px;max-height:calc(100vh - 40px);background:#fff;border-radius:12px;box-shadow:0 8px 28px rgba(0,0,0,.25);flex-direction:column;overflow:hidden}",
    "#svyaz-chat.svyaz-open #svyaz-chat-panel{display:flex}",
    "#svyaz-chat.svyaz-open #svyaz-chat-launcher{display:none}",
    "#svyaz-chat-head{background:#2b6cb0;color:#fff;padding:10px 14px;display:flex;align-items:center;font-weight:600}",
    "#svyaz-chat-head button{margin-left:auto;background:none;border:0;color:#fff;font-size:20px;cursor:pointer;line-height:1}",
    "#svyaz-chat-messages{flex:1;overflow-y:auto;padding:10px;background:#f5f7fa}",
    ".svyaz-msg{max-width:80%;margin:0 0 8px;padding:7px 10px;border-radius:10px;white-space:pre-wrap;word-wrap:break-word}",
    ".svyaz-msg small{display:block;opacity:.7;font-size:11px}",
    ".svyaz-msg.svyaz-in{margin-left:auto;background:#2b6cb0;color:#fff}",
    ".svyaz-msg.svyaz-out{background:#fff;border:1px solid #dde2e8}",
    "#svyaz-chat-form{border-top:1px solid #dde2e8;padding:8px;display:flex;flex-direction:column;gap:6px}",
    "#svyaz-chat-form input,#svyaz-chat-form textarea{width:100%;border:1px solid #cbd2d9;border-radius:6px;padding:6px 8px;font:inherit}",
    "#svyaz-chat-form textarea{resize:none;height:54px}",
    "#svyaz-chat-form button{align-self:flex-end;background:#2b6cb0;color:#fff;border:0;border-radius:6px;padding:6px 16px;font:inherit;cursor:pointer}",
    "#svyaz-chat-note{font-size:12px;color:#b00020;min-height:0}"
  ].join("\n");

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) { node.setAttribute(name, attrs[name]); });
    if (text != null) node.textContent = text;
    return node;
  }

  var ui = {};

  function t(name) { return (state.config && state.config.texts[name]) || name; }

  function build() {
    var style = el("style");
    style.textContent = CSS;
    document.head.appendChild(style);
    ui.root = el("div", { id: "svyaz-chat", "data-transport": "none" });
    ui.launcher = el("button", { id: "svyaz-chat-launcher", type: "button" }, t("open"));
    ui.panel = el("div", { id: "svyaz-chat-panel", role: "dialog", "aria-label": state.config.title });
    var head = el("div", { id: "svyaz-chat-head" });
    head.appendChild(el("span", {}, state.config.title));
    var close = el("button", { type: "button", "aria-label": t("close") }, "\u00d7");
    head.appendChild(close);
    ui.messages = el("div", { id: "svyaz-chat-messages", "aria-live": "polite" });
    if (state.config.greeting) {
      ui.messages.appendChild(el("div", { "class": "svyaz-msg svyaz-out", "data-greeting": "" }, state.config.greeting));
    }
    ui.form = el("form", { id: "svyaz-chat-form" });
    ui.name = el("input", { name: "name", placeholder: t("name"), maxlength: "200", autocomplete: "name" });
    ui.contact = el("input", { name: "contact", placeholder: t("contact"), maxlength: "254", autocomplete: "email" });
    ui.text = el("textarea", { name: "text", placeholder: t("placeholder"), maxlength: "4000", required: "" });
    ui.note = el("div", { id: "svyaz-chat-note", role: "status" });
    ui.send = el("button", { type: "submit" }, t("send"));
    [ui.name, ui.contact, ui.text, ui.note, ui.send].forEach(function (n) { ui.form.appendChild(n); });
    ui.panel.appendChild(head);
    ui.panel.appendChild(ui.messages);
    ui.panel.appendChild(ui.form);
    ui.root.appendChild(ui.launcher);
    ui.root.appendChild(ui.panel);
    document.body.appendChild(ui.root);
    ui.launcher.addEventListener("click", function () { ui.root.classList.add("svyaz-open"); ui.text.focus(); });
    close.addEventListener("click", function () { ui.root.classList.remove("svyaz-open"); });
    ui.form.addEventListener("submit", function (event) { event.preventDefault(); submit(); });
    ui.text.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); submit(); }
    });
    showContactFields();
  }

  function showContactFields() {
    var show = !state.token;
    ui.name.style.display = show ? "" : "none";
    ui.contact.style.display = show ? "" : "none";
  }

  function note(text) { ui.note.textContent = text || ""; }

  function errorsText(data) {
    if (!data) return t("error");
    if (data.errors) {
      return Object.keys(data.errors).map(function (k) { return [].concat(data.errors[k]).join(" "); }).join(" ");
    }
    return data.error || t("error");
  }

  function addMessage(m) {
    if (!m || state.seen[m.id]) return;
    state.seen[m.id] = true;
    if (m.id > state.lastId) state.lastId = m.id;
    var mine = m.direction === "in";
    var bubble = el("div", { "class": "svyaz-msg " + (mine ? "svyaz-in" : "svyaz-out"), "data-message-id": String(m.id) });
    bubble.appendChild(el("small", {}, mine ? t("you") : (m.author || t("operator"))));
    bubble.appendChild(document.createTextNode(m.text));
    ui.messages.appendChild(bubble);
    ui.messages.scrollTop = ui.messages.scrollHeight;
    if (!mine && !ui.root.classList.contains("svyaz-open")) ui.launcher.textContent = t("open") + " \u2022";
  }

  function setStatus(status) {
    if (status === "closed") note(t("closed"));
  }

  function call(method, path, body) {
    var headers = { Accept: "application/json" };
    if (state.token) headers["X-Svyaz-Visitor"] = state.token;
    if (body) headers["Content-Type"] = "application/json";
    return fetch(api + path, {
      method: method, headers: headers, credentials: "omit", mode: "cors",
      body: body ? JSON.stringify(body) : undefined
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        return { status: response.status, data: data };
      });
    });
  }

  function forget() {
    state.token = null;
    try { window.localStorage.removeItem(storeKey); } catch (e) { /* ignore */ }
    stopPolling();
    if (state.socket) { try { state.socket.close(); } catch (e) { /* ignore */ } }
    showContactFields();
  }

  function submit() {
    var text = ui.text.value.trim();
    if (!text || state.sending) return;
    note("");
    state.sending = true;
    ui.send.disabled = true;
    var done = function () { state.sending = false; ui.send.disabled = false; };
    if (!state.token) {
      call("POST", "start/", {
        text: text, name: ui.name.value, contact: ui.contact.value,
        page: window.location.href, referrer: document.referrer,
        language: navigator.language || ""
      }).then(function (answer) {
        if (answer.status !== 200 || !answer.data.ok) { note(errorsText(answer.data)); return; }
        state.token = answer.data.token;
        try { window.localStorage.setItem(storeKey, state.token); } catch (e) { /* ignore */ }
        ui.text.value = "";
        showContactFields();
        (answer.data.messages || []).forEach(addMessage);
        connect();
      }).catch(function () { note(t("error")); }).then(done);
      return;
    }
    if (state.ready && state.socket) {
      state.socket.send(JSON.stringify({ type: "message", text: text }));
      ui.text.value = "";
      done();
      return;
    }
    call("POST", "send/", { text: text }).then(function (answer) {
      if (answer.status === 404) { forget(); note(t("error")); return; }
      if (answer.status !== 200 || !answer.data.ok) { note(errorsText(answer.data)); return; }
      ui.text.value = "";
      addMessage(answer.data.message);
    }).catch(function () { note(t("error")); }).then(done);
  }

  function poll() {
    if (!state.token) return;
    call("GET", "messages/?after=" + state.lastId).then(function (answer) {
      if (answer.status === 404) { forget(); return; }
      if (answer.status !== 200) return;
      (answer.data.messages || []).forEach(addMessage);
      setStatus(answer.data.status);
    }).catch(function () { /* offline: the next tick tries again */ });
  }

  function startPolling() {
    if (state.pollTimer || !state.token) return;
    ui.root.setAttribute("data-transport", "polling");
    state.pollTimer = window.setInterval(poll, (state.config.poll_seconds || 3) * 1000);
    poll();
  }

  function stopPolling() {
    if (state.pollTimer) window.clearInterval(state.pollTimer);
    state.pollTimer = null;
  }

  function connect() {
    if (!state.token) return;
    if (!("WebSocket" in window)) { startPolling(); return; }
    var socket;
    try {
      socket = new WebSocket((src.protocol === "https:" ? "wss://" : "ws://") + src.host + basePath + state.config.socket_path);
    } catch (e) { startPolling(); return; }
    state.socket = socket;
    socket.onopen = function () { socket.send(JSON.stringify({ type: "hello", token: state.token })); };
    socket.onmessage = function (event) {
      var data;
      try { data = JSON.parse(event.data); } catch (e) { return; }
      if (data.type === "ready") {
        state.ready = true;
        state.retry = 1000;
        stopPolling();
        ui.root.setAttribute("data-transport", "websocket");
        poll(); // catch up with anything sent while the socket was down
        setStatus(data.status);
      } else if (data.type === "message" || data.type === "sent") {
        addMessage(data.message);
      } else if (data.type === "status") {
        setStatus(data.status);
      } else if (data.type === "error") {
        note(errorsText(data));
      }
    };
    socket.onclose = function (event) {
      state.ready = false;
      if (state.socket === socket) state.socket = null;
      if (event.code === 4401) { forget(); return; }
      if (!state.token) return;
      startPolling();
      window.setTimeout(connect, state.retry);
      state.retry = Math.min(state.retry * 2, 30000);
    };
  }

  function init() {
    fetch(api, { headers: { Accept: "application/json" }, credentials: "omit", mode: "cors" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (config) {
        if (!config) return;
        state.config = config;
        build();
        if (state.token) { poll(); connect(); }
      })
      .catch(function () { /* the CRM is unreachable: no chat on this page view */ });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
