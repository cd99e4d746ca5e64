/* The kanban board: drag a card to another stage → POST sales:deal_move.
   A drop on a lost stage asks for the reason first (#lost-modal); cancel puts the card
   back. Errors are shown and the card goes back; success reloads the board's totals. */
(function () {
  "use strict";
  let pending = null;  // {item, from, index, dealId, stageId}

  function csrf() {
    const headers = document.body.getAttribute("hx-headers");
    try { return JSON.parse(headers)["X-CSRFToken"]; } catch (e) { return ""; }
  }

  function putBack(p) {
    const ref = p.from.children[p.index] || null;
    p.from.insertBefore(p.item, ref);
  }

  function showError(text) {
    const box = document.getElementById("board-error");
    if (!box) return;
    box.textContent = text;
    box.classList.remove("d-none");
    setTimeout(() => box.classList.add("d-none"), 6000);
  }

  function reloadBoard() {
    if (window.htmx) {
      htmx.ajax("GET", window.location.href, {target: "#board", swap: "outerHTML"});
    } else {
      window.location.reload();
    }
  }

  async function move(p, extra) {
    const board = document.getElementById("board");
    const url = board.dataset.moveUrl.replace(/\/0\/move\/$/, "/" + p.dealId + "/move/");
    const body = new FormData();
    body.append("stage", p.stageId);
    for (const [k, v] of Object.entries(extra || {})) body.append(k, v);
    let data = {};
    let ok = false;
    try {
      const resp = await fetch(url, {method: "POST", body, credentials: "same-origin",
        headers: {"X-CSRFToken": csrf(), "HX-Request": "true"}});
      ok = resp.ok;
      data = await resp.json().catch(() => ({}));
    } catch (e) {
      data = {errors: {__all__: [e.message]}};
    }
    if (ok) { reloadBoard(); return true; }
    const errors = data.errors || {};
    return Object.values(errors).flat().join(" ") || "Error";
  }

  function init() {
    const board = document.getElementById("board");
    if (!board || !window.Sortable) return;
    board.querySelectorAll(".board-cards").forEach((list) => {
      if (list.dataset.sortable) return;
      list.dataset.sortable = "1";
      Sortable.create(list, {
        // A card the user may not edit (core.scoping "edit" grant) stays where it is.
        group: "deals", animation: 150, draggable: ".board-card:not(.locked)",
        onEnd: async (evt) => {
          if (evt.from === evt.to) return;
          const column = evt.to.closest("[data-stage-id]");
          const p = {item: evt.item, from: evt.from, index: evt.oldIndex,
                     dealId: evt.item.dataset.dealId, stageId: column.dataset.stageId};
          if (column.dataset.stageKind === "lost") {
            pending = p;
            document.getElementById("lost-form").reset();
            document.getElementById("lost-error").textContent = "";
            bootstrap.Modal.getOrCreateInstance(document.getElementById("lost-modal")).show();
            return;
          }
          const result = await move(p);
          if (result !== true) { putBack(p); showError(result); }
        },
      });
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    init();
    const modal = document.getElementById("lost-modal");
    const form = document.getElementById("lost-form");
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      if (!pending) return;
      const reason = form.elements.lost_reason.value;
      if (!reason) { document.getElementById("lost-error").textContent = form.elements.lost_reason.validationMessage || "!"; return; }
      const p = pending;
      const result = await move(p, {lost_reason: reason, lost_comment: form.elements.lost_comment.value});
      if (result === true) {
        pending = null;
        bootstrap.Modal.getOrCreateInstance(modal).hide();
      } else {
        document.getElementById("lost-error").textContent = result;
      }
    });
    modal.addEventListener("hidden.bs.modal", () => {
      if (pending) { putBack(pending); pending = null; }
    });
  });
  // The board is swapped whole after a move or a filter change: wire the new columns.
  document.addEventListener("htmx:afterSettle", init);
})();
