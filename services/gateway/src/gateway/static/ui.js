// The little JavaScript the UI needs: kanban drag-and-drop, live quote totals, charts,
// questionnaire forms. No page has inline script (the Content-Security-Policy allows none).
// Everything works without it too (forms post as usual); this only makes it quicker.
(function () {
  "use strict";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  // -- kanban ---------------------------------------------------------------------------
  function initBoard(board) {
    var message = document.getElementById("board-message");
    var labels = JSON.parse(board.dataset.labels || "{}");
    var dragged = null;
    board.querySelectorAll(".lead-card").forEach(function (card) {
      card.addEventListener("dragstart", function (e) {
        dragged = card;
        card.classList.add("dragging");
        // Where it may go: the columns of the moves its lead may make.
        var next = (card.dataset.next || "").split(" ");
        board.querySelectorAll(".column").forEach(function (c) {
          c.classList.toggle("allowed", next.indexOf(c.dataset.status) >= 0);
        });
        e.dataTransfer.setData("text/plain", card.dataset.id);
        e.dataTransfer.effectAllowed = "move";
      });
      card.addEventListener("dragend", function () {
        card.classList.remove("dragging");
        board.querySelectorAll(".column").forEach(function (c) { c.classList.remove("allowed"); });
      });
    });
    board.querySelectorAll(".column").forEach(function (column) {
      column.addEventListener("dragover", function (e) { e.preventDefault(); column.classList.add("over"); });
      column.addEventListener("dragleave", function () { column.classList.remove("over"); });
      column.addEventListener("drop", function (e) {
        e.preventDefault();
        column.classList.remove("over");
        var card = dragged;
        if (!card || card.closest(".column") === column) { return; }
        var body = new FormData();
        body.append("to", column.dataset.status);
        fetch("/leads/" + card.dataset.id + "/move", {
          method: "POST",
          body: body,
          headers: { "X-CSRF-Token": csrfToken(), "Accept": "application/json" },
          credentials: "same-origin"
        }).then(function (r) { return r.json(); }).then(function (answer) {
          message.textContent = answer.message || "";
          message.className = answer.ok ? "flash" : "alert";
          if (answer.ok) {
            var from = card.closest(".column");
            column.querySelector(".cards").prepend(card);
            card.dataset.status = column.dataset.status;
            count(from, -1);
            count(column, 1);
            // Its next moves, from the API's answer: the menu offers only those.
            var next = answer.next || [];
            card.dataset.next = next.join(" ");
            card.setAttribute("draggable", next.length ? "true" : "false");
            var form = card.querySelector("form");
            var select = form && form.querySelector("select");
            if (select && next.length) {
              select.innerHTML = "";
              next.forEach(function (s) { select.add(new Option(labels[s] || s, s)); });
            } else if (form) { form.remove(); }
          } else if (answer.redirect) {
            window.location.href = answer.redirect;
          }
        }).catch(function () { message.textContent = "…"; message.className = "alert"; });
      });
    });
  }

  function count(column, delta) {
    var badge = column && column.querySelector("h2 .badge");
    if (!badge) { return; }
    var n = (parseInt(badge.dataset.count, 10) || 0) + delta;
    badge.dataset.count = String(n);
    badge.textContent = badge.textContent.slice(-1) === "+" ? n + "+" : String(n);
  }

  // -- live quote totals ------------------------------------------------------------------
  function parseAmount(text) {
    var cleaned = String(text || "").replace(/[\s.,]/g, "");
    var n = parseInt(cleaned, 10);
    return isNaN(n) ? 0 : n;
  }
  function parsePct(text) {
    var n = parseFloat(String(text || "").replace(",", "."));
    return isNaN(n) ? 0 : n;
  }
  function initQuote(form) {
    var lang = document.documentElement.lang;
    var format = function (n) {
      var s = Math.round(n).toLocaleString(lang === "en" ? "en-US" : "de-DE");
      return lang === "en" ? "₫" + s : s + " ₫";
    };
    var body = form.querySelector("tbody.lines");
    var template = document.getElementById("line-template");
    function recompute() {
      var net = 0, vat = 0, invalid = false;
      body.querySelectorAll("tr.line").forEach(function (row) {
        var select = row.querySelector("select.product");
        var option = select.options[select.selectedIndex];
        var listPrice = option && option.dataset.price ? parseInt(option.dataset.price, 10) : 0;
        var rate = option && option.dataset.vat ? parseFloat(option.dataset.vat) : 0;
        var priceInput = row.querySelector("input.price");
        // A line the API priced (a price list, the list price) shows that price while it
        // keeps its product; saved without a price, the API prices it again.
        if (priceInput.dataset.quotedFor && option && priceInput.dataset.quotedFor === option.value) {
          listPrice = parseInt(priceInput.dataset.quoted, 10) || listPrice;
        }
        priceInput.placeholder = listPrice ? format(listPrice) : "";
        var price = priceInput.value ? parseAmount(priceInput.value) : listPrice;
        var qtyInput = row.querySelector("input.qty"), discInput = row.querySelector("input.disc");
        var qty = Number(qtyInput.value.trim());
        var disc = discInput.value.trim() === "" ? 0 : parsePct(discInput.value);
        // What the API would refuse is marked and left out, and the totals say so, rather
        // than showing a total nobody can quote (a quantity of -5, a 150% discount).
        var bad = [
          mark(qtyInput, !(Number.isInteger(qty) && qty > 0 && qty <= 1000000)),
          mark(discInput, !/^\s*\d+([.,]\d{1,2})?\s*$/.test(discInput.value || "0") || disc > 100),
          mark(priceInput, priceInput.value !== "" && !/^[\d\s.,]+$/.test(priceInput.value))
        ].some(Boolean);
        if (option && option.value && bad) { invalid = true; }
        var lineNet = bad ? 0 : Math.round(qty * price * (1 - disc / 100));
        var lineVat = Math.round(lineNet * rate / 100);
        net += lineNet; vat += lineVat;
        row.querySelector("output.line-total").textContent = option && option.value && !bad ? format(lineNet + lineVat) : "—";
        var vatCell = row.querySelector(".vat-rate");
        if (vatCell) { vatCell.textContent = option && option.value ? rate + "%" : "—"; }
      });
      form.querySelector("#net-total").textContent = invalid ? "—" : format(net);
      form.querySelector("#vat-total").textContent = invalid ? "—" : format(vat);
      form.querySelector("#grand-total").textContent = invalid ? "—" : format(net + vat);
      var warning = form.querySelector("#totals-invalid");
      if (warning) { warning.hidden = !invalid; }
    }
    function mark(input, wrong) {
      // Only what this script marked is unmarked again: the API's own marks stay.
      if (wrong) { input.setAttribute("aria-invalid", "true"); input.dataset.liveInvalid = "1"; }
      else if (input.dataset.liveInvalid) { input.removeAttribute("aria-invalid"); delete input.dataset.liveInvalid; }
      return wrong;
    }
    function renumber() {
      body.querySelectorAll("tr.line").forEach(function (row, i) {
        row.querySelectorAll("[data-name]").forEach(function (input) {
          input.name = "lines." + i + "." + input.dataset.name;
          input.id = "lines-" + i + "-" + input.dataset.name;
        });
        row.querySelectorAll("label[data-for]").forEach(function (label) {
          label.htmlFor = "lines-" + i + "-" + label.dataset.for;
        });
      });
    }
    form.addEventListener("input", recompute);
    form.addEventListener("change", recompute);
    form.addEventListener("click", function (e) {
      if (e.target.matches("button.remove-line")) {
        e.preventDefault();
        if (body.querySelectorAll("tr.line").length > 1) { e.target.closest("tr").remove(); }
        renumber(); recompute();
      }
    });
    var add = form.querySelector("button.add-line");
    if (add && template) {
      add.addEventListener("click", function (e) {
        e.preventDefault();
        body.appendChild(template.content.cloneNode(true));
        renumber(); recompute();
        var rows = body.querySelectorAll("tr.line");
        rows[rows.length - 1].querySelector("select").focus();
      });
    }
    renumber(); recompute();
  }

  // -- questionnaires --------------------------------------------------------------------
  // Each criterion shows only the part its answer type uses (both post anyway).
  function initCriterion(box) {
    function show() {
      var chosen = box.querySelector("input.criterion-type:checked");
      var type = chosen ? chosen.value : "options";
      box.querySelector(".options-part").hidden = type !== "options";
      box.querySelector(".range-part").hidden = type !== "range";
    }
    box.querySelectorAll("input.criterion-type").forEach(function (r) { r.addEventListener("change", show); });
    show();
  }

  // -- charts -----------------------------------------------------------------------------
  function initChart(canvas) {
    if (typeof Chart === "undefined") { return; }
    var source = document.getElementById(canvas.dataset.chart);
    if (!source) { return; }
    var config = JSON.parse(source.textContent);
    var palette = ["#0b5cad", "#d9822b", "#1c6b37", "#8e44ad", "#b3261e", "#00838f", "#6d4c41", "#546e7a"];
    (config.data.datasets || []).forEach(function (d, i) {
      d.backgroundColor = d.backgroundColor || palette[i % palette.length];
    });
    config.options = config.options || {};
    config.options.animation = false;
    // Axis ticks and tooltips in the page's language: "0,8" on a Vietnamese page, as its tables say.
    config.options.locale = document.documentElement.lang === "vi" ? "vi-VN" : "en-US";
    new Chart(canvas, config);
  }

  // -- searching a long list (ui/pickers.py) ---------------------------------------------
  // One listener for every search box, those of quote lines added later included. A box
  // names its select (`data-picker-for`) or searches for the one in its `.picker-scope`.
  function pickerSelect(box) {
    if (box.dataset.pickerFor) { return document.getElementById(box.dataset.pickerFor); }
    var scope = box.closest(".picker-scope");
    return scope ? scope.querySelector("select") : null;
  }
  function fillPicker(box, matches) {
    var select = pickerSelect(box);
    var status = box.parentNode.querySelector(".picker-status");
    if (!select) { return; }
    // Keep the blank choice and the one picked; the matches replace the rest.
    var keep = Array.prototype.filter.call(select.options, function (o) { return o.value === "" || o.selected && o.value; });
    select.innerHTML = "";
    keep.forEach(function (o) { select.appendChild(o); });
    matches.forEach(function (m) {
      if (keep.some(function (o) { return o.value === m.value; })) { return; }
      var option = document.createElement("option");
      option.value = m.value;
      option.textContent = m.text;
      // What the form needs of a choice besides its value (a product's price and VAT rate).
      Object.keys(m.data || {}).forEach(function (k) { option.dataset[k] = m.data[k]; });
      select.appendChild(option);
    });
    if (matches.length && !select.value) {
      select.value = matches[0].value;
      select.dispatchEvent(new Event("change", { bubbles: true }));
    }
    if (status) {
      status.textContent = matches.length ? status.dataset.found.replace("{count}", matches.length) : status.dataset.none;
    }
  }
  var pickerTimers = new WeakMap(), pickerAsked = new WeakMap();
  document.addEventListener("input", function (e) {
    var box = e.target;
    if (!box.matches || !box.matches("input.picker-search")) { return; }
    clearTimeout(pickerTimers.get(box));
    var q = box.value.trim();
    if (q.length < 2) { return; }
    pickerTimers.set(box, setTimeout(function () {
      var mine = (pickerAsked.get(box) || 0) + 1;
      pickerAsked.set(box, mine);
      fetch(box.dataset.source + "?q=" + encodeURIComponent(q), { headers: { accept: "application/json" }, credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : []; })
        .then(function (matches) { if (mine === pickerAsked.get(box)) { fillPicker(box, matches); } })
        .catch(function () {});
    }, 250));
  });

  function init() {
    document.querySelectorAll(".board").forEach(initBoard);
    document.querySelectorAll("form.quote-builder").forEach(initQuote);
    document.querySelectorAll("canvas[data-chart]").forEach(initChart);
    document.querySelectorAll(".questionnaire-form fieldset.criterion").forEach(initCriterion);
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
