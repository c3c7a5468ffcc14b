/**
 * The report page's only script, inline (no network, no modules): draws the coverage heatmap on a
 * canvas — 200 processors × 3,650 days is 730,000 cells, too many for DOM nodes but one paint for a
 * canvas — folds days into weeks or months as `--grid` does (each column its worst state), and shows a
 * tooltip per cell. It publishes what it painted on the canvas's data attributes and
 * `window.dagReport.cellCenter(processor, date)`, which tests and benchmarks use to hover a cell.
 * Plain ES2017 in a string: the project's TypeScript has no DOM types, and the page must not need a
 * bundler. No backquotes inside.
 */
export const HEATMAP_SCRIPT = String.raw`
(function () {
  'use strict';
  var started = performance.now();
  var data = JSON.parse(document.getElementById('dag-data').textContent);
  var MS = 86400000;
  var SEVERITY = ' =SMBX';
  var NAMES = { ' ': 'no partition expected', '=': 'fresh', 'S': 'stale', 'M': 'missing', 'B': 'blocked', 'X': 'failed in its last run' };
  var COLORS = { '=': '#3fa34d', 'S': '#2d9cdb', 'M': '#e2b93b', 'B': '#a64ac9', 'X': '#d64545' };
  var MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  function iso(day) { return new Date(day * MS).toISOString().slice(0, 10); }

  // Columns: [first, last] day offsets from the range's start; weeks start on Monday, months on the 1st.
  var columns = [];
  for (var i = 0; i < data.days; i++) {
    var day = data.startDay + i;
    var opens = data.unit === 'day' || (data.unit === 'week' ? ((day + 3) % 7 + 7) % 7 === 0 : new Date(day * MS).getUTCDate() === 1);
    if (columns.length > 0 && !opens) columns[columns.length - 1][1] = i; else columns.push([i, i]);
  }
  var columnOf = new Int32Array(data.days);
  columns.forEach(function (c, index) { for (var d = c[0]; d <= c[1]; d++) columnOf[d] = index; });

  var frame = document.getElementById('heatmap-frame');
  var wrap = document.getElementById('heatmap-scroll');
  var canvas = document.getElementById('heatmap');
  var names = document.getElementById('heatmap-names');
  var tip = document.getElementById('tip');
  var available = Math.max(600, wrap.clientWidth - 8);
  var cw = Math.max(3, Math.min(18, Math.floor(available / Math.max(1, columns.length))));
  var lettered = cw >= 11;
  var RH = lettered ? 18 : 14;
  var HEADER = 30;
  var width = columns.length * cw;
  var height = HEADER + data.rows.length * RH;
  canvas.width = width;
  canvas.height = height;
  canvas.style.width = width + 'px';
  canvas.style.height = height + 'px';
  var g = canvas.getContext('2d');

  // Axis: month names (with the year on the first and on January), day numbers on Mondays when days fit.
  g.fillStyle = '#555';
  g.font = '11px system-ui, sans-serif';
  g.textBaseline = 'alphabetic';
  var free = 0;
  var lastMonth = -1;
  columns.forEach(function (c, index) {
    var date = new Date((data.startDay + c[1]) * MS);
    var month = date.getUTCFullYear() * 12 + date.getUTCMonth();
    if (month !== lastMonth) {
      lastMonth = month;
      var text = data.unit === 'month' ? (date.getUTCMonth() === 0 || index === 0 ? String(date.getUTCFullYear()) : '') : MONTHS[date.getUTCMonth()] + (date.getUTCMonth() === 0 || index === 0 ? ' ' + date.getUTCFullYear() : '');
      var x = index * cw;
      if (text && x >= free) { g.fillText(text, x, 12); free = x + g.measureText(text).width + 6; }
    }
    if (data.unit === 'day' && cw >= 9) {
      var first = new Date((data.startDay + c[0]) * MS);
      if (first.getUTCDay() === 1) g.fillText(String(first.getUTCDate()), index * cw, 26);
    }
  });

  // Cells: each column shows its worst state; counts of what was painted go on the canvas for tests.
  var painted = 0;
  var count = { '=': 0, 'S': 0, 'M': 0, 'B': 0, 'X': 0 };
  var gap = cw >= 6 ? 1 : 0;
  g.textAlign = 'center';
  g.textBaseline = 'middle';
  g.font = 'bold 10px system-ui, sans-serif';
  var worst = new Array(columns.length);
  data.rows.forEach(function (row, r) {
    for (var k = 0; k < columns.length; k++) worst[k] = 0;
    for (var d = 0; d < data.days; d++) {
      var rank = SEVERITY.indexOf(row.cells.charAt(d));
      var col = columnOf[d];
      if (rank > worst[col]) worst[col] = rank;
    }
    var y = HEADER + r * RH;
    for (var c = 0; c < columns.length; c++) {
      if (worst[c] === 0) continue;
      var letter = SEVERITY.charAt(worst[c]);
      painted++;
      count[letter]++;
      g.fillStyle = COLORS[letter];
      g.fillRect(c * cw, y, cw - gap, RH - gap);
      if (lettered) { g.fillStyle = '#fff'; g.fillText(letter, c * cw + (cw - gap) / 2, y + (RH - gap) / 2 + 1); }
    }
    var label = document.createElement('div');
    label.textContent = row.name;
    label.title = row.name + ' (' + row.table + '): ' + row.counts.fresh + '/' + row.counts.expected + ' fresh, ' + row.counts.build + ' to build, ' + row.counts.blocked + ' blocked';
    label.style.height = RH + 'px';
    label.style.lineHeight = RH + 'px';
    names.appendChild(label);
  });
  names.style.paddingTop = HEADER + 'px';
  canvas.dataset.unit = data.unit;
  canvas.dataset.columns = String(columns.length);
  canvas.dataset.rows = String(data.rows.length);
  canvas.dataset.painted = String(painted);
  canvas.dataset.fresh = String(count['=']);
  canvas.dataset.stale = String(count.S);
  canvas.dataset.missing = String(count.M);
  canvas.dataset.blocked = String(count.B);
  canvas.dataset.failed = String(count.X);

  function tipText(r, c) {
    var row = data.rows[r];
    var span = columns[c];
    if (span[0] === span[1]) {
      var letter = row.cells.charAt(span[0]);
      var note = row.notes[span[0]];
      var lines = [row.name + ' · ' + iso(data.startDay + span[0])];
      if (note) lines.push(note); else lines.push(letter === 'X' || letter === '=' || letter === ' ' ? NAMES[letter] : NAMES[letter] + (data.notesCapped ? ' (details left out of this large page: dag explain ' + row.name + ' ' + iso(data.startDay + span[0]) + ')' : ''));
      return lines.join('\n');
    }
    var out = [row.name + ' · ' + iso(data.startDay + span[0]) + '..' + iso(data.startDay + span[1])];
    var shown = 0, others = 0, fresh = 0, expected = 0;
    for (var d = span[0]; d <= span[1]; d++) {
      var cell = row.cells.charAt(d);
      if (cell === ' ') continue;
      expected++;
      if (cell === '=') { fresh++; continue; }
      if (shown >= 8) { others++; continue; }
      shown++;
      var first = (row.notes[d] || NAMES[cell]).split('\n');
      out.push(iso(data.startDay + d) + ': ' + first.join('; '));
    }
    if (others > 0) out.push('(+' + others + ' more)');
    out.push(expected === 0 ? 'no partition expected' : fresh + '/' + expected + ' fresh');
    return out.join('\n');
  }

  function cellAt(clientX, clientY) {
    var rect = canvas.getBoundingClientRect();
    var c = Math.floor((clientX - rect.left) / cw);
    var r = Math.floor((clientY - rect.top - HEADER) / RH);
    if (c < 0 || c >= columns.length || r < 0 || r >= data.rows.length) return null;
    return { r: r, c: c };
  }

  canvas.addEventListener('mousemove', function (event) {
    var begun = performance.now();
    var at = cellAt(event.clientX, event.clientY);
    if (!at) { tip.hidden = true; return; }
    tip.textContent = tipText(at.r, at.c);
    tip.hidden = false;
    var left = event.clientX + 14;
    var top = event.clientY + 14;
    if (left + tip.offsetWidth > window.innerWidth - 4) left = Math.max(4, event.clientX - tip.offsetWidth - 14);
    if (top + tip.offsetHeight > window.innerHeight - 4) top = Math.max(4, event.clientY - tip.offsetHeight - 14);
    tip.style.left = left + 'px';
    tip.style.top = top + 'px';
    tip.dataset.ms = (performance.now() - begun).toFixed(2);
  });
  canvas.addEventListener('mouseleave', function () { tip.hidden = true; });

  window.dagReport = {
    /** Scrolls the cell of processor and ISO date into view; its centre in viewport coordinates. */
    cellCenter: function (processor, date) {
      var r = -1;
      data.rows.forEach(function (row, index) { if (row.name === processor) r = index; });
      var offset = Math.round(Date.parse(date + 'T00:00:00Z') / MS) - data.startDay;
      if (r < 0 || offset < 0 || offset >= data.days) return null;
      var c = columnOf[offset];
      // Three scrollers: the canvas's (across), the heatmap's (down), the page's.
      wrap.scrollLeft = Math.max(0, c * cw - wrap.clientWidth / 2);
      frame.scrollTop = Math.max(0, HEADER + r * RH - frame.clientHeight / 2);
      var before = canvas.getBoundingClientRect();
      window.scrollTo(0, Math.max(0, before.top + window.scrollY + HEADER + r * RH - window.innerHeight / 2));
      var rect = canvas.getBoundingClientRect();
      return { x: rect.left + c * cw + (cw - gap) / 2, y: rect.top + HEADER + r * RH + (RH - gap) / 2 };
    },
    renderMs: performance.now() - started,
  };
  document.documentElement.dataset.renderMs = window.dagReport.renderMs.toFixed(1);
  performance.mark('dag-report-drawn');
})();
`;
