// otklik curator pages: keyboard shortcuts and small helpers. The pages work without it.
(function () {
  "use strict";
  function typing(ev) {
    var t = ev.target;
    return t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName));
  }
  function click(id) { var el = document.getElementById(id); if (el && !el.disabled) { el.click(); return true; } return false; }

  document.addEventListener("DOMContentLoaded", function () {
    var page = document.body.getAttribute("data-page");
    var rows = Array.prototype.slice.call(document.querySelectorAll("tr.row"));
    var selected = -1;
    function select(i) {
      if (!rows.length) return;
      selected = Math.max(0, Math.min(rows.length - 1, i));
      rows.forEach(function (r, j) { r.classList.toggle("selected", j === selected); });
      rows[selected].focus();
    }
    rows.forEach(function (r, i) {
      r.addEventListener("click", function (ev) { if (ev.target.tagName !== "A") window.location = r.getAttribute("data-href"); });
      r.addEventListener("keydown", function (ev) { if (ev.key === "Enter") window.location = r.getAttribute("data-href"); });
      r.addEventListener("focus", function () { selected = i; });
    });

    // alternatives fill the correction form's topic
    Array.prototype.forEach.call(document.querySelectorAll("button.alt"), function (b) {
      b.addEventListener("click", function () {
        var sel = document.getElementById("topic");
        var box = document.getElementById("correct-box");
        if (!sel) return;
        sel.value = b.getAttribute("data-topic");
        if (box) box.open = true;
        sel.focus();
      });
    });

    // topic search: hide options that don't match
    var filter = document.getElementById("topic-filter");
    if (filter) {
      filter.addEventListener("input", function () {
        var q = filter.value.trim().toLowerCase();
        var sel = document.getElementById("topic");
        var first = null;
        Array.prototype.forEach.call(sel.querySelectorAll("option"), function (o) {
          var group = o.parentNode.label || "";
          var hit = !q || o.text.toLowerCase().indexOf(q) >= 0 || group.toLowerCase().indexOf(q) >= 0;
          o.hidden = !hit;
          if (hit && !first && o.value) first = o;
        });
        if (q && first) sel.value = first.value;
      });
    }

    // the queue refreshes itself every minute while the curator is not using it
    if (page === "queue") {
      var touched = Date.now();
      ["keydown", "mousemove", "mousedown", "focusin"].forEach(function (t) {
        document.addEventListener(t, function () { touched = Date.now(); }, true);
      });
      setInterval(function () { if (Date.now() - touched > 30000) window.location.reload(); }, 60000);
    }

    document.addEventListener("keydown", function (ev) {
      if (ev.ctrlKey || ev.metaKey || ev.altKey || typing(ev)) return;
      var k = ev.key;
      if (page === "queue") {
        if (k === "j") { select(selected + 1); ev.preventDefault(); }
        else if (k === "k") { select(selected - 1); ev.preventDefault(); }
        else if (k === "n") { window.location = "/curator/next"; }
        else if (k === "/") { var f = document.getElementById("f-region"); if (f) { f.focus(); ev.preventDefault(); } }
      } else if (page === "post") {
        if (k === "a") { if (click("accept")) ev.preventDefault(); }
        else if (k === "n") { if (click("next")) ev.preventDefault(); }
        else if (k === "q") { window.location = "/curator/"; }
        else if (k === "e") {
          var box = document.getElementById("correct-box");
          if (box) { box.open = true; document.getElementById("topic-filter").focus(); ev.preventDefault(); }
        } else if (k === "r") { var rc = document.getElementById("return-comment"); if (rc) { rc.focus(); ev.preventDefault(); } }
      }
    });
  });
})();
