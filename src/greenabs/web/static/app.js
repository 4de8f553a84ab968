// greenabs workbench: charts, job progress, and jumping to a problem's line. No other script
// runs on these pages (the Content-Security-Policy allows only the app's own files).
"use strict";

function drawCharts() {
  if (typeof Plotly === "undefined") return;
  document.querySelectorAll(".plot[data-figure]").forEach(function (div) {
    var source = document.getElementById(div.dataset.figure);
    if (!source) return;
    var fig = JSON.parse(source.textContent);
    Plotly.newPlot(div, fig.data || [], fig.layout || {}, { responsive: true, displaylogo: false });
  });
}

function pollJob() {
  var box = document.getElementById("job");
  if (!box || (box.dataset.status !== "queued" && box.dataset.status !== "running")) return;
  var stage = document.getElementById("stage");
  var count = document.getElementById("count");
  var bar = document.getElementById("bar");
  function tick() {
    fetch("/jobs/" + box.dataset.job + "/status", { credentials: "same-origin" })
      .then(function (r) {
        if (r.status === 404) {  // the server no longer knows the job (it restarted): stop
          stage.textContent = "This job is no longer known to the server (it may have restarted).";
          document.getElementById("cancel").hidden = true;
          bar.hidden = true;
          return null;
        }
        if (!r.ok) throw new Error("status " + r.status);
        return r.json();
      })
      .then(function (job) {
        if (job === null) return;
        box.dataset.status = job.status;
        stage.textContent = job.stage;
        if (job.total) {
          bar.max = job.total;
          bar.value = job.done;
          count.textContent = job.done.toLocaleString() + " / " + job.total.toLocaleString();
        }
        if (job.cancelled || (job.status !== "running" && job.status !== "queued")) {
          document.getElementById("cancel").hidden = true;
        }
        if (job.status === "done" && job.run_id) {
          window.location.assign("/runs/" + job.run_id);
        } else if (job.status === "cancelled") {
          document.getElementById("cancelled").hidden = false;
          bar.hidden = true;
        } else if (job.status === "failed") {
          var list = document.getElementById("job-problems");
          list.textContent = "";
          job.problems.forEach(function (p) {
            var li = document.createElement("li");
            if (p.where) {
              var code = document.createElement("code");
              code.className = "field";
              code.textContent = p.where;
              li.appendChild(code);
              li.appendChild(document.createTextNode(" "));
            }
            var span = document.createElement("span");
            span.className = "reason";
            span.textContent = p.reason;
            li.appendChild(span);
            list.appendChild(li);
          });
          document.getElementById("failed").hidden = false;
          bar.hidden = true;
        } else {
          window.setTimeout(tick, 400);
        }
      })
      .catch(function () { window.setTimeout(tick, 2000); });
  }
  tick();
}

function jumpToLine(line) {
  var area = document.getElementById("text");
  if (!area) return;
  var lines = area.value.split("\n");
  var start = 0;
  for (var i = 0; i < line - 1 && i < lines.length; i++) start += lines[i].length + 1;
  var end = start + (lines[line - 1] || "").length;
  area.focus();
  area.setSelectionRange(start, end);
  var height = area.scrollHeight / Math.max(lines.length, 1);
  area.scrollTop = Math.max(0, (line - 5) * height);
}

function problemLinks() {
  document.querySelectorAll("[data-line]").forEach(function (el) {
    el.addEventListener("click", function (ev) {
      ev.preventDefault();
      jumpToLine(parseInt(el.dataset.line, 10));
    });
  });
}

document.addEventListener("DOMContentLoaded", function () {
  drawCharts();
  pollJob();
  problemLinks();
});
