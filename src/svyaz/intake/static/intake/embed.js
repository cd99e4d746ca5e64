/* Svyaz web-form embed: posts <form data-svyaz-form> with fetch and shows the answer inline.
   Adds the host page's UTM tags, referrer and landing page. No dependencies. */
(function () {
  "use strict";
  var UTM = ["utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content"];

  function hidden(form, name, value) {
    if (!value) return;
    var input = form.querySelector('input[name="' + name + '"]');
    if (!input) {
      input = document.createElement("input");
      input.type = "hidden";
      input.name = name;
      form.appendChild(input);
    }
    input.value = value;
  }

  function clearErrors(form) {
    var spans = form.querySelectorAll("[data-svyaz-error]");
    for (var i = 0; i < spans.length; i++) spans[i].textContent = "";
  }

  function showErrors(form, errors) {
    var rest = [];
    Object.keys(errors || {}).forEach(function (name) {
      var text = [].concat(errors[name]).join(" ");
      var span = form.querySelector('[data-svyaz-error="' + name + '"]');
      if (span) span.textContent = text;
      else rest.push(text);
    });
    return rest.join(" ");
  }

  function setup(form) {
    var params = new URLSearchParams(window.location.search);
    UTM.forEach(function (key) { hidden(form, "_" + key, params.get(key)); });
    hidden(form, "_referrer", document.referrer);
    hidden(form, "_landing_page", window.location.href);
    hidden(form, "_language", navigator.language || "");  // routing by language
    var message = form.querySelector("[data-svyaz-message]");
    var button = form.querySelector('[type="submit"]');

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      clearErrors(form);
      if (button) button.disabled = true;
      fetch(form.action, {
        method: "POST",
        body: new FormData(form),
        headers: { Accept: "application/json" },
        credentials: "omit",
      })
        .then(function (response) {
          return response.json().then(function (data) { return { status: response.status, data: data }; });
        })
        .then(function (answer) {
          var data = answer.data || {};
          if (answer.status === 200 && data.ok) {
            form.reset();
            form.setAttribute("data-svyaz-sent", "true");
            if (message) message.textContent = data.message || "";
            return;
          }
          var rest = showErrors(form, data.errors);
          if (message) message.textContent = [data.message || "", rest].join(" ").trim();
        })
        .catch(function () {
          // The network or our server failed: let the browser post the form itself.
          form.submit();
        })
        .then(function () { if (button) button.disabled = false; });
    });
  }

  function init() {
    var forms = document.querySelectorAll("form[data-svyaz-form]");
    for (var i = 0; i < forms.length; i++) setup(forms[i]);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
