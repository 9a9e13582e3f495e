// The operator dashboard: polls /dashboard/data with the operator token and draws plain SVG charts.
"use strict";

const TOKEN_KEY = "hardtech-operator-token";
const POLL_MS = Number(new URLSearchParams(location.search).get("poll_ms")) || 5000;
const COLOURS = ["#0969da", "#cf222e", "#1a7f37", "#8250df", "#bf8700", "#e16f24", "#1b7c83", "#6e7781"];
const SVG = "http://www.w3.org/2000/svg";

// The token is typed into the form and kept in this tab's sessionStorage; it is never read from
// or put into the address, where it would land in history and proxy logs.
function savedToken() {
  return sessionStorage.getItem(TOKEN_KEY);
}

function element(tag, attributes, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

function drawChart(svg, seriesList) {
  svg.replaceChildren();
  const width = svg.clientWidth || 480, height = svg.clientHeight || 220;
  const pad = { left: 48, right: 8, top: 8, bottom: 20 };
  const points = seriesList.flatMap(s => s.points.filter(p => p[1] !== null));
  if (points.length === 0) {
    svg.appendChild(element("text", { x: width / 2, y: height / 2, "text-anchor": "middle" }, "暂无数据 No data yet"));
    return;
  }
  const xs = points.map(p => p[0]), ys = points.map(p => p[1]);
  const x0 = Math.min(...xs), x1 = Math.max(...xs, x0 + 1);
  const yMax = Math.max(...ys, 1);
  const x = t => pad.left + (t - x0) / (x1 - x0) * (width - pad.left - pad.right);
  const y = v => height - pad.bottom - v / yMax * (height - pad.top - pad.bottom);
  svg.appendChild(element("line", { x1: pad.left, y1: y(0), x2: width - pad.right, y2: y(0), stroke: "#8c959f" }));
  svg.appendChild(element("line", { x1: pad.left, y1: pad.top, x2: pad.left, y2: y(0), stroke: "#8c959f" }));
  svg.appendChild(element("text", { x: pad.left - 4, y: pad.top + 8, "text-anchor": "end" }, formatNumber(yMax)));
  svg.appendChild(element("text", { x: pad.left - 4, y: y(0), "text-anchor": "end" }, "0"));
  svg.appendChild(element("text", { x: pad.left, y: height - 4 }, new Date(x0 * 1000).toLocaleTimeString()));
  svg.appendChild(element("text", { x: width - pad.right, y: height - 4, "text-anchor": "end" },
    new Date(x1 * 1000).toLocaleTimeString()));
  seriesList.forEach((series, index) => {
    const colour = COLOURS[index % COLOURS.length];
    const path = series.points.filter(p => p[1] !== null).map(p => `${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`);
    if (path.length === 0) return;
    const line = element("polyline", { points: path.join(" "), fill: "none", stroke: colour, "stroke-width": 1.5,
      class: "series", "data-name": series.name });
    line.appendChild(element("title", {}, series.name));
    svg.appendChild(line);
    svg.appendChild(element("text", { x: width - pad.right, y: pad.top + 10 + 11 * index, "text-anchor": "end",
      fill: colour, style: `fill:${colour}` }, series.name));
  });
}

function formatNumber(value) {
  return value >= 1000 ? value.toFixed(0) : String(Math.round(value * 100) / 100);
}

function fillTable(id, rows) {
  const body = document.querySelector(`#${id} tbody`);
  body.replaceChildren(...rows.map(cells => {
    const row = document.createElement("tr");
    for (const cell of cells) {
      const td = document.createElement("td");
      if (cell && cell.className) { td.className = cell.className; td.textContent = cell.text; }
      else td.textContent = cell === null || cell === undefined ? "–" : String(cell);
      row.appendChild(td);
    }
    return row;
  }));
}

function render(data) {
  const badge = document.getElementById("freshness");
  const at = data.sampled_at ? new Date(data.sampled_at * 1000).toLocaleTimeString() : "–";
  badge.textContent = data.stale ? `数据陈旧 Stale (${data.reason}) · ${at}` : `实时 Live · ${at}`;
  badge.classList.toggle("stale", data.stale);
  fillTable("groups", data.groups.map(g => [g.group, g.state, { className: `status-${g.status}`, text: g.status },
    g.total_lag, g.max_lag_seconds, g.members, g.uncommitted_partitions]));
  drawChart(document.getElementById("chart-lag"), data.group_lag);
  drawChart(document.getElementById("chart-lag-seconds"), data.group_lag_seconds);
  drawChart(document.getElementById("chart-throughput"), data.throughput);
  fillTable("dead-letters", data.dead_letters.map(d => [d.topic, d.size, d.growth]));
  document.getElementById("notification-failures").textContent = data.notification_failures;
  const alerts = document.getElementById("alerts");
  alerts.replaceChildren(...data.alerts.map(a => {
    const item = document.createElement("li");
    item.className = a.severity;
    item.textContent = `${a.message_zh} · ${a.message_en}`;
    return item;
  }));
  if (data.alerts.length === 0) alerts.textContent = "无 None";
}

async function poll(token) {
  let response;
  try {
    response = await fetch("/dashboard/data", { headers: { Authorization: `Bearer ${token}` } });
  } catch (error) {
    document.getElementById("freshness").textContent = `监控服务不可达 Monitor unreachable: ${error}`;
    return true;
  }
  if (response.status === 401 || response.status === 403) {
    sessionStorage.removeItem(TOKEN_KEY);
    showLogin((await response.json()).detail);
    return false;
  }
  render(await response.json());
  return true;
}

function showLogin(reason) {
  document.getElementById("board").hidden = true;
  document.getElementById("login").hidden = false;
  document.getElementById("login-error").textContent = reason ? `令牌无效 Token rejected: ${reason}` : "";
}

async function start(token) {
  document.getElementById("login").hidden = true;
  document.getElementById("board").hidden = false;
  while (await poll(token)) await new Promise(resolve => setTimeout(resolve, POLL_MS));
}

document.getElementById("login").addEventListener("submit", event => {
  event.preventDefault();
  const token = document.getElementById("token").value;
  sessionStorage.setItem(TOKEN_KEY, token);
  start(token);
});

const saved = savedToken();
if (saved) start(saved); else showLogin();
