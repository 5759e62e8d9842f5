// nakama-py console: confirmations, table filters and the status page's live chart. No build step, no CDN.
"use strict";

document.addEventListener("submit", (event) => {
  const button = event.submitter;
  const question = button && button.dataset.confirm;
  if (question && !window.confirm(question)) event.preventDefault();
});

document.querySelectorAll("input[data-filter]").forEach((input) => {
  const rows = document.querySelectorAll(`#${input.dataset.filter} tbody tr`);
  input.addEventListener("input", () => {
    const needle = input.value.toLowerCase();
    rows.forEach((row) => { row.hidden = needle !== "" && !row.textContent.toLowerCase().includes(needle); });
  });
});

function drawRates(canvas, points) {
  const ctx = canvas.getContext("2d");
  const width = canvas.width, height = canvas.height, pad = 28;
  ctx.clearRect(0, 0, width, height);
  const top = Math.max(1, ...points.map((p) => p.rate));
  ctx.strokeStyle = "#dde1e8"; ctx.fillStyle = "#5c6577"; ctx.font = "11px sans-serif";
  for (let i = 0; i <= 4; i++) {
    const y = pad / 2 + (height - pad) * i / 4;
    ctx.beginPath(); ctx.moveTo(pad, y); ctx.lineTo(width, y); ctx.stroke();
    ctx.fillText((top * (4 - i) / 4).toFixed(top < 8 ? 1 : 0), 2, y + 4);
  }
  if (points.length < 2) return;
  ctx.strokeStyle = "#3b5bdb"; ctx.lineWidth = 2; ctx.beginPath();
  points.forEach((p, i) => {
    const x = pad + (width - pad) * i / (points.length - 1);
    const y = pad / 2 + (height - pad) * (1 - p.rate / top);
    if (i === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
  });
  ctx.stroke();
}

function fillRoutes(routes) {
  const body = document.querySelector("#routes tbody");
  if (!body) return;
  const rows = Object.entries(routes).map(([route, r]) => {
    const row = document.createElement("tr");
    [route, r.count, r.errors, r.mean_ms].forEach((value) => {
      const cell = document.createElement("td");
      cell.textContent = String(value);
      row.appendChild(cell);
    });
    return row;
  });
  if (rows.length) body.replaceChildren(...rows);
}

function setField(name, value) {
  document.querySelectorAll(`[data-field="${name}"]`).forEach((el) => { el.textContent = String(value); });
}

const statusData = document.getElementById("status-data");
const rateChart = document.getElementById("rate-chart");
if (statusData && rateChart) {
  let last = JSON.parse(statusData.textContent);
  const points = [];
  const refresh = async () => {
    try {
      const reply = await fetch("/status.json", { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (!reply.ok) return;
      const now = await reply.json();
      const seconds = Math.max(0.001, now.time - last.time);
      points.push({ rate: Math.max(0, (now.requests_total - last.requests_total) / seconds) });
      if (points.length > 90) points.shift();
      setField("uptime_sec", now.uptime_sec); setField("requests_total", now.requests_total);
      setField("pool.size", now.pool.size); setField("pool.available", now.pool.available);
      setField("pool.waiting", now.pool.waiting);
      setField("cluster.node_count", now.cluster.nodes.length);
      setField("sockets", now.sockets); setField("sessions", now.sessions); setField("presences", now.presences);
      fillRoutes(now.routes);
      last = now;
      drawRates(rateChart, points);
    } catch (error) {
      // The server may be restarting; the next tick tries again.
    }
  };
  drawRates(rateChart, points);
  window.setInterval(refresh, 2000);
}
