/* keyscope's result views: sortable tables, charts (Apache ECharts) and downloads.
 *
 * A classic script (not a module) so that the console and the self-contained HTML report
 * (`keyscope rdb report --html`) share it as is: the report inlines this file next to
 * echarts.min.js. Every key name is user data: it only ever goes through textContent, and
 * where ECharts takes HTML (tooltip formatters) through escapeHTML.
 */
(function (global) {
  "use strict";

  var TYPE_COLORS = {
    string: "#4e79a7", list: "#f28e2b", set: "#59a14f", zset: "#e15759",
    hash: "#76b7b2", stream: "#b07aa1", module: "#9c755f",
  };
  var charts = [];

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      var value = attrs[name];
      if (value === null || value === undefined) return;
      if (name === "text") node.textContent = String(value);
      else if (name === "onclick") node.addEventListener("click", value);
      else node.setAttribute(name, String(value));
    });
    (children || []).forEach(function (child) {
      if (child) node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  /* Text for a place that parses HTML (an ECharts tooltip): every markup character escaped. */
  function escapeHTML(value) {
    return String(value === null || value === undefined ? "" : value).replace(/[&<>"'`=\/]/g, function (c) {
      return "&#" + c.charCodeAt(0) + ";";
    });
  }

  function formatNumber(value) {
    return typeof value === "number" ? value.toLocaleString("en-US") : value === null || value === undefined ? "" : String(value);
  }

  function formatBytes(n) {
    if (typeof n !== "number") return "";
    var units = ["B", "KiB", "MiB", "GiB", "TiB"];
    var i = 0;
    while (Math.abs(n) >= 1024 && i < units.length - 1) { n /= 1024; i += 1; }
    return (i === 0 ? n : n.toFixed(1)) + " " + units[i];
  }

  /* A table whose column headers sort it (click again to reverse); setRows() refills it. */
  function sortableTable(columns, rows, testid) {
    var state = { key: null, dir: 1 };
    var tbody = el("tbody");
    var headRow = el("tr");
    var table = el("table", { class: "data sortable", "data-testid": testid || null }, [
      el("thead", {}, [headRow]), tbody,
    ]);
    function fill() {
      var sorted = rows.slice();
      table.setAttribute("data-rows", String(rows.length));
      if (state.key !== null) {
        sorted.sort(function (a, b) {
          var x = a[state.key], y = b[state.key];
          if (typeof x === "number" && typeof y === "number") return (x - y) * state.dir;
          return String(x === undefined || x === null ? "" : x).localeCompare(String(y === undefined || y === null ? "" : y)) * state.dir;
        });
      }
      tbody.textContent = "";
      sorted.forEach(function (row) {
        tbody.appendChild(el("tr", {}, columns.map(function (c) {
          var value = row[c.key];
          var shown = c.format ? c.format(value, row) : formatNumber(value);
          return el("td", { class: c.numeric ? "num" : null, title: c.numeric ? formatNumber(value) : null, text: shown });
        })));
      });
      Array.prototype.forEach.call(headRow.children, function (th, i) {
        var c = columns[i];
        th.setAttribute("aria-sort", state.key === c.key ? (state.dir > 0 ? "ascending" : "descending") : "none");
      });
    }
    columns.forEach(function (c) {
      headRow.appendChild(el("th", {
        class: c.numeric ? "num" : null, scope: "col", "data-key": c.key,
        onclick: function () {
          state.dir = state.key === c.key ? -state.dir : (c.numeric ? -1 : 1);
          state.key = c.key;
          fill();
        },
      }, [c.label]));
    });
    fill();
    table.setRows = function (newRows) { rows = newRows; fill(); };
    return table;
  }

  /* A <select> that shows only the rows of one type in a sortable table (downloads keep all). */
  function typeFilter(table, rows, testid) {
    var types = [];
    rows.forEach(function (r) { if (types.indexOf(r.type) < 0) types.push(r.type); });
    types.sort();
    var select = el("select", { "data-testid": testid || "type-filter" },
      [el("option", { value: "", text: "all types (" + rows.length + ")" })].concat(types.map(function (t) {
        var n = rows.filter(function (r) { return r.type === t; }).length;
        return el("option", { value: t, text: t + " (" + n + ")" });
      })));
    select.addEventListener("change", function () {
      table.setRows(select.value ? rows.filter(function (r) { return r.type === select.value; }) : rows);
    });
    return el("label", { class: "filter" }, ["Type ", select]);
  }

  /* CSV as keyscope writes it everywhere (domain/csvcells.py): a text cell that would start a
   * formula (= + - @ tab CR) gets a leading ', NUL is written \x00, rows end in CRLF. */
  var FORMULA_START = /^[=+\-@\t\r]/;
  var NAME_FIELDS = ["name", "key", "key_prefix"];

  function textCell(value) {
    if (value === null || value === undefined) return "";
    if (typeof value !== "string") return String(value);
    var text = value.replace(/\u0000/g, "\\x00");
    return FORMULA_START.test(text) ? "'" + text : text;
  }

  function quoteCell(text) {
    return /[",\r\n]/.test(text) ? '"' + text.replace(/"/g, '""') + '"' : text;
  }

  function base64OfText(text) {
    var bytes = new TextEncoder().encode(text), binary = "";
    for (var i = 0; i < bytes.length; i += 1) binary += String.fromCharCode(bytes[i]);
    return btoa(binary);
  }

  /* A row's cells; a name cell that got the ' has its key's bytes in its base64 column. */
  function rowCells(columns, row) {
    var cells = {};
    columns.forEach(function (c) { cells[c.key] = textCell(row[c.key]); });
    NAME_FIELDS.forEach(function (field) {
      var b64 = field + "_base64";
      if (!(field in cells) || !(b64 in cells) || row[field] === null || row[field] === undefined) return;
      var given = row[b64];
      if (!given && cells[field] !== String(row[field])) given = base64OfText(String(row[field]));
      cells[b64] = given ? textCell(given) : "";
    });
    return columns.map(function (c) { return quoteCell(cells[c.key]); });
  }

  /* CSV columns: the table's, with the base64 column after a name column (always: see rowCells). */
  function withBase64Columns(columns) {
    var out = [];
    columns.forEach(function (c) {
      out.push(c);
      if (NAME_FIELDS.indexOf(c.key) >= 0 && !columns.some(function (d) { return d.key === c.key + "_base64"; })) {
        out.push({ key: c.key + "_base64" });
      }
    });
    return out;
  }

  function toCSV(columns, rows) {
    var all = withBase64Columns(columns);
    var lines = [all.map(function (c) { return quoteCell(textCell(c.key)); }).join(",")];
    rows.forEach(function (row) { lines.push(rowCells(all, row).join(",")); });
    return lines.join("\r\n") + "\r\n";
  }

  function download(filename, text, mime) {
    var url = URL.createObjectURL(new Blob([text], { type: mime }));
    var a = el("a", { href: url, download: filename });
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(function () { URL.revokeObjectURL(url); }, 1000);
  }

  /* CSV of the rows shown, JSON of the API's own answer; testids "<prefix>download-csv|json". */
  function downloadButtons(basename, json, csvColumns, csvRows, prefix) {
    prefix = prefix || "";
    return el("div", { class: "downloads" }, [
      el("button", {
        type: "button", class: "secondary", "data-testid": prefix + "download-csv",
        onclick: function () { download(basename + ".csv", toCSV(csvColumns, csvRows), "text/csv"); },
      }, ["Download CSV"]),
      el("button", {
        type: "button", class: "secondary", "data-testid": prefix + "download-json",
        onclick: function () { download(basename + ".json", JSON.stringify(json, null, 2) + "\n", "application/json"); },
      }, ["Download JSON"]),
    ]);
  }

  /* One chart in a titled card; the card's data-rendered becomes "true" once drawn. */
  function chart(parent, title, option, testid, wide) {
    var box = el("div", { class: "chart" });
    var card = el("figure", { class: "card chart-card" + (wide ? " wide" : ""), "data-testid": testid || null, "data-rendered": "false" }, [
      el("figcaption", { text: title }), box,
    ]);
    parent.appendChild(card);
    if (typeof global.echarts === "undefined") {
      box.appendChild(el("p", { class: "muted", text: "The chart library did not load." }));
      return card;
    }
    var instance = global.echarts.init(box, null, { renderer: "canvas" });
    instance.on("finished", function () { card.setAttribute("data-rendered", "true"); });
    option.animation = false;
    option.textStyle = { fontFamily: "system-ui, sans-serif" };
    instance.setOption(option);
    charts.push(instance);
    return card;
  }

  function disposeCharts() {
    charts.forEach(function (c) { c.dispose(); });
    charts = [];
  }

  /* Category labels turned when side by side they would not fit (about 7 px a character in
   * a bar slot of a ~360 px plot): "1K-4K4K-16K…" never runs together. */
  function labelRotation(labels) {
    var longest = labels.reduce(function (n, l) { return Math.max(n, String(l).length); }, 0);
    return labels.length * (longest * 7 + 12) > 340 ? 35 : 0;
  }

  function barOption(labels, values, opts) {
    opts = opts || {};
    var rotate = opts.rotate !== undefined ? opts.rotate : labelRotation(labels);
    return {
      grid: { left: 16, right: 24, top: 16, bottom: 12, containLabel: true },
      tooltip: { trigger: "axis", valueFormatter: opts.bytes ? formatBytes : formatNumber },
      xAxis: { type: "category", data: labels, axisLabel: { rotate: rotate, interval: 0, hideOverlap: true } },
      yAxis: { type: "value", minInterval: opts.bytes ? 0 : 1, axisLabel: { formatter: opts.bytes ? formatBytes : formatNumber, hideOverlap: true } },
      series: [{
        type: "bar", data: values.map(function (v, i) {
          return { value: v, itemStyle: { color: TYPE_COLORS[labels[i]] || opts.color || "#4e79a7" } };
        }),
      }],
    };
  }

  function pieOption(items, bytes) {
    return {
      tooltip: { trigger: "item", valueFormatter: bytes ? formatBytes : formatNumber },
      legend: { type: "scroll", bottom: 0 },
      series: [{
        type: "pie", radius: ["30%", "56%"], top: 0, bottom: 28, avoidLabelOverlap: true,
        data: items.map(function (d) { return { name: d.name, value: d.value, itemStyle: { color: TYPE_COLORS[d.name] } }; }),
        label: { formatter: "{b} {d}%", overflow: "none" }, labelLine: { length: 8, length2: 6 },
      }],
    };
  }

  function stackedOption(categories, seriesList, bytes) {
    return {
      // The legend on a line of its own above the plot, clear of the y-axis labels.
      grid: { left: 16, right: 24, top: 44, bottom: 12, containLabel: true },
      legend: { type: "scroll", top: 0, left: "center" },
      tooltip: { trigger: "axis", valueFormatter: bytes ? formatBytes : formatNumber },
      xAxis: { type: "category", data: categories, axisLabel: { rotate: labelRotation(categories), interval: 0, hideOverlap: true } },
      yAxis: { type: "value", minInterval: 1, axisLabel: { formatter: formatNumber, hideOverlap: true } },
      series: seriesList.map(function (s) {
        return { name: s.name, type: "bar", stack: "all", data: s.data, itemStyle: { color: TYPE_COLORS[s.name] } };
      }),
    };
  }

  /* One bar per type of a figure summed over keys; types without it are left out. */
  function typeSumOption(keys, types, field, bytes, color) {
    var total = {};
    keys.forEach(function (k) {
      if (typeof k[field] === "number") total[k.type] = (total[k.type] || 0) + k[field];
    });
    var shown = types.filter(function (t) { return total[t] !== undefined; });
    return barOption(shown, shown.map(function (t) { return total[t]; }), { bytes: bytes, color: color });
  }

  /* Size buckets of powers of four, for big/hot keys whose sizes are bytes or element counts. */
  function sizeBuckets(values) {
    var edges = [0, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, Infinity];
    var names = ["<1K", "1K-4K", "4K-16K", "16K-64K", "64K-256K", "256K-1M", "1M-4M", "4M-16M", ">=16M"];
    var counts = names.map(function () { return 0; });
    values.forEach(function (v) {
      for (var i = 0; i < names.length; i += 1) {
        if (v >= edges[i] && v < edges[i + 1]) { counts[i] += 1; break; }
      }
    });
    var last = counts.length;
    while (last > 1 && counts[last - 1] === 0) last -= 1;
    var first = 0;
    while (first < last - 1 && counts[first] === 0) first += 1;
    return { names: names.slice(first, last), counts: counts.slice(first, last) };
  }

  function section(title, children, testid) {
    return el("section", { class: "result-section", "data-testid": testid || null }, [el("h3", { text: title })].concat(children));
  }

  /* A big-key or hot-key analysis (DCS ScanTask with keys). */
  function renderScanResult(root, task, kind) {
    var keys = (task.keys || []).map(function (k) {
      var row = Object.assign({}, k);
      if (row.shard === undefined) row.shard = "";
      return row;
    });
    var columns = [
      { key: "name", label: "Key" }, { key: "type", label: "Type" },
      { key: "shard", label: "Shard" }, { key: "db", label: "DB", numeric: true },
      { key: "size", label: "Size", numeric: true }, { key: "unit", label: "Unit" },
    ];
    var withMemory = keys.some(function (k) { return typeof k.memory_bytes === "number"; });
    if (withMemory) columns.push({ key: "memory_bytes", label: "Memory", numeric: true, format: formatBytes });
    var measured = task.measured || {};
    if (kind === "hotkey") {
      // The counter, the node it was seen on, and the HOTKEYS shares where the server measured them.
      var has = function (key) { return keys.some(function (k) { return k[key] !== undefined && k[key] !== null; }); };
      if (has("freq") || !has("net_share")) columns.push({ key: "freq", label: "LFU freq", numeric: true });
      columns.push({ key: "node", label: "Node" });
      if (has("net_share")) columns.push({ key: "net_share", label: "Network share", numeric: true, format: percent });
      if (has("cpu_share")) columns.push({ key: "cpu_share", label: "CPU share", numeric: true, format: percent });
    }
    var grid = el("div", { class: "chart-grid" });
    root.appendChild(grid);
    var perType = {};
    keys.forEach(function (k) { perType[k.type] = (perType[k.type] || 0) + 1; });
    var types = Object.keys(perType).sort();
    chart(grid, "Keys per type", barOption(types, types.map(function (t) { return perType[t]; })), "chart-type-count");
    if (withMemory) {
      chart(grid, "Memory per type (MEMORY USAGE)", typeSumOption(keys, types, "memory_bytes", true), "chart-type-memory");
    }
    var collectionKeys = keys.filter(function (k) { return k.unit !== "byte"; });
    chart(grid, "Elements per type (collections)", typeSumOption(collectionKeys, types, "size", false), "chart-type-size");
    // Each histogram only where it has keys: an empty one would show a lone "<1K" at 0.
    var stringSizes = keys.filter(function (k) { return k.unit === "byte"; }).map(function (k) { return k.size; });
    var collectionSizes = collectionKeys.map(function (k) { return k.size; });
    if (stringSizes.length) {
      var strings = sizeBuckets(stringSizes);
      chart(grid, "Size histogram: strings (bytes)", barOption(strings.names, strings.counts, { color: TYPE_COLORS.string }), "chart-size-strings");
    }
    if (collectionSizes.length) {
      var collections = sizeBuckets(collectionSizes);
      chart(grid, "Size histogram: collections (elements)", barOption(collections.names, collections.counts, { color: TYPE_COLORS.hash }), "chart-size-collections");
    }
    if (kind === "hotkey" && keys.some(function (k) { return typeof k.freq === "number"; })) {
      var freqEdges = [0, 32, 64, 96, 128, 160, 192, 224, 256];
      var freqNames = freqEdges.slice(0, -1).map(function (e, i) { return e + "-" + (freqEdges[i + 1] - 1); });
      var freqCounts = freqNames.map(function (_, i) {
        return keys.filter(function (k) { return k.freq >= freqEdges[i] && k.freq < freqEdges[i + 1]; }).length;
      });
      chart(grid, "LFU frequency", barOption(freqNames, freqCounts, { color: "#e15759" }), "chart-freq");
    }
    var base = "keyscope-" + kind + "-" + task.id;
    var table = sortableTable(columns, keys, "keys-table");
    root.appendChild(section(kind === "hotkey" ? "Hot keys" : "Big keys", [
      kind === "hotkey" ? el("p", { class: "muted", "data-testid": "hot-floor", text: hotFloor(measured) }) : null,
      el("div", { class: "toolbar" }, [typeFilter(table, keys), downloadButtons(base, task, columns, keys)]),
      table,
    ], "keys-section"));
  }

  function percent(value) {
    return typeof value === "number" ? (value * 100).toFixed(1) + "%" : "";
  }

  /* How the hot keys were told apart: the LFU floor per node, the HOTKEYS window. */
  function hotFloor(measured) {
    var parts = (measured.lfu || []).map(function (f) {
      return f.node + ": counters from " + f.min_freq + " (~" + measured.min_accesses + " accesses at lfu-log-factor " +
        f.lfu_log_factor + ", -1 per " + f.lfu_decay_time + " idle min)";
    });
    if (measured.tracked_nodes && measured.tracked_nodes.length) {
      parts.push("HOTKEYS " + measured.window_s + " s on " + measured.tracked_nodes.join(", ") + ": from " +
        percent(measured.min_share) + " of the network bytes");
    }
    return parts.length ? "Hot from: " + parts.join("; ") : "";
  }

  /* Prefixes of one type nested under the longest listed prefix they extend ("user:session"
   * inside "user", whose keys include it), so no memory is drawn twice; what a parent holds
   * beyond its listed children is its own "(other keys)" tile. */
  function prefixTree(prefixes) {
    var byType = {};
    prefixes.forEach(function (p) { (byType[p.type] = byType[p.type] || []).push(p); });
    function extendsPrefix(name, parent) {
      return name.length > parent.length && name.slice(0, parent.length) === parent && !/[A-Za-z0-9]/.test(name.charAt(parent.length));
    }
    return Object.keys(byType).sort().map(function (type) {
      var list = byType[type].slice().sort(function (a, b) { return a.key_prefix.length - b.key_prefix.length; });
      var nodes = [];
      var roots = [];
      list.forEach(function (p) {
        var node = { name: p.key_prefix, value: p.bytes, num: p.num, children: [] };
        var parent = null;
        nodes.forEach(function (n) {
          if (extendsPrefix(p.key_prefix, n.name) && (!parent || n.name.length > parent.name.length)) parent = n;
        });
        (parent ? parent.children : roots).push(node);
        nodes.push(node);
      });
      nodes.forEach(function (n) {
        if (!n.children.length) { delete n.children; return; }
        var inChildren = n.children.reduce(function (sum, c) { return sum + c.value; }, 0);
        if (n.value > inChildren) n.children.push({ name: n.name + " (other keys)", value: n.value - inChildren });
      });
      return { name: type, itemStyle: { color: TYPE_COLORS[type] }, children: roots };
    });
  }

  /* An offline (RDB) analysis: the DCS detail, plus keyscope's distributions when present. */
  function renderOfflineReport(root, report, name) {
    root.appendChild(el("div", { class: "totals" }, [
      el("div", { class: "stat" }, [el("span", { class: "stat-value", "data-testid": "total-keys", text: formatNumber(report.total_num) }), el("span", { class: "stat-label", text: "keys" })]),
      el("div", { class: "stat" }, [el("span", { class: "stat-value", "data-testid": "total-bytes", text: formatBytes(report.total_bytes) }), el("span", { class: "stat-label", text: "memory" })]),
      el("div", { class: "stat" }, [el("span", { class: "stat-value", text: formatNumber((report.type_num || []).length) }), el("span", { class: "stat-label", text: "types" })]),
    ]));
    var grid = el("div", { class: "chart-grid" });
    root.appendChild(grid);
    var typeBytes = (report.type_bytes || []).map(function (t) { return { name: t.type, value: t.bytes }; });
    var typeNum = (report.type_num || []).map(function (t) { return { name: t.type, value: t.num }; });
    chart(grid, "Memory per type", pieOption(typeBytes, true), "chart-type-memory");
    chart(grid, "Keys per type", barOption(typeNum.map(function (d) { return d.name; }), typeNum.map(function (d) { return d.value; })), "chart-type-count");
    var hist = report.size_histograms || [];
    if (hist.length) {
      var ranges = [];
      hist.forEach(function (h) { h.buckets.forEach(function (b) { if (ranges.indexOf(b.range) < 0) ranges.push(b.range); }); });
      var series = hist.map(function (h) {
        var byRange = {};
        h.buckets.forEach(function (b) { byRange[b.range] = b.num; });
        return { name: h.type, data: ranges.map(function (r) { return byRange[r] || 0; }) };
      });
      var used = ranges.map(function (_, i) { return series.some(function (s) { return s.data[i] > 0; }); });
      var lo = used.indexOf(true), hi = used.lastIndexOf(true);
      if (lo >= 0) {
        ranges = ranges.slice(lo, hi + 1);
        series.forEach(function (s) { s.data = s.data.slice(lo, hi + 1); });
      }
      chart(grid, "Key size histogram (keys per memory range, bytes)", stackedOption(ranges, series, false), "chart-size-histogram");
    }
    var ttl = report.ttl_distribution || [];
    if (ttl.length) {
      chart(grid, "TTL distribution (keys)", barOption(ttl.map(function (t) { return t.bucket; }), ttl.map(function (t) { return t.num; }), { color: "#59a14f" }), "chart-ttl");
    }
    var tree = prefixTree(report.largest_key_prefixes || []);
    if (tree.length) {
      chart(grid, "Key prefixes by memory (colour: type, as in the charts above; click to zoom)", {
        // The formatter's string is HTML to ECharts: the prefix (user data) is escaped.
        tooltip: { formatter: function (info) { return escapeHTML(info.name + ": " + formatBytes(info.value) + (info.data && info.data.num !== undefined ? " in " + formatNumber(info.data.num) + " keys" : "")); } },
        series: [{
          name: "all types", type: "treemap", data: tree, roam: false, nodeClick: "zoomToNode",
          top: 8, bottom: 36, left: 8, right: 8,
          breadcrumb: { show: true, bottom: 4 }, label: { show: true, formatter: "{b}" },
          levels: [
            { itemStyle: { borderWidth: 0, gapWidth: 4 }, upperLabel: { show: false } },
            // A prefix with longer ones inside it names itself in a band above them.
            { itemStyle: { borderWidth: 3, gapWidth: 1, borderColor: "#fff" }, upperLabel: { show: true, height: 18, color: "#1d2330" } },
            { itemStyle: { borderWidth: 1, gapWidth: 1, borderColor: "rgba(255,255,255,.6)" }, upperLabel: { show: true, height: 16, color: "#1d2330" } },
            { itemStyle: { borderWidth: 1, borderColor: "rgba(255,255,255,.4)" } },
          ],
        }],
      }, "chart-prefix-treemap", true);
    }
    var keyColumns = [
      { key: "key", label: "Key" }, { key: "db", label: "DB", numeric: true }, { key: "type", label: "Type" },
      { key: "bytes", label: "Bytes", numeric: true }, { key: "num_of_elem", label: "Elements", numeric: true },
    ];
    var prefixColumns = [
      { key: "key_prefix", label: "Prefix" }, { key: "type", label: "Type" },
      { key: "bytes", label: "Bytes", numeric: true }, { key: "num", label: "Keys", numeric: true },
    ];
    var base = "keyscope-offline-" + (name || report.id || "report");
    var advice = report.recommendations || [];
    if (advice.length) {
      var adviceColumns = [
        { key: "title", label: "Recommendation" },
        { key: "setting", label: "Setting", format: function (v) { return v ? Object.keys(v).map(function (k) { return k + " " + v[k]; }).join(", ") : ""; } },
        { key: "keys_affected", label: "Keys", numeric: true },
        { key: "bytes_saved", label: "Saves (estimated)", numeric: true, format: function (v) { return formatBytes(v); } },
        { key: "example_keys", label: "Example keys", format: function (v) { return (v || []).join("  "); } },
      ];
      root.appendChild(section("Recommendations", [
        el("p", { class: "muted", text: "Computed over every key; savings estimated with keyscope's memory model." }),
        sortableTable(adviceColumns, advice, "recommendations-table"),
      ], "recommendations"));
    }
    var largest = report.largest_keys || [];
    var largestTable = sortableTable(keyColumns, largest, "largest-keys-table");
    root.appendChild(section("Largest keys", [
      el("div", { class: "toolbar" }, [typeFilter(largestTable, largest), downloadButtons(base, report, keyColumns, largest)]),
      largestTable,
    ], "largest-keys"));
    root.appendChild(section("Largest key prefixes", [
      downloadButtons(base + "-prefixes", report.largest_key_prefixes || [], prefixColumns, report.largest_key_prefixes || [], "prefixes-"),
      sortableTable(prefixColumns, report.largest_key_prefixes || [], "prefixes-table"),
    ], "prefixes"));
    var typeRows = (report.type_bytes || []).map(function (t) {
      var n = (report.type_num || []).filter(function (x) { return x.type === t.type; })[0];
      return { type: t.type, bytes: t.bytes, num: n ? n.num : 0 };
    });
    var typeColumns = [
      { key: "type", label: "Type" }, { key: "bytes", label: "Bytes", numeric: true }, { key: "num", label: "Keys", numeric: true },
    ];
    root.appendChild(section("Types", [
      downloadButtons(base + "-types", { type_bytes: report.type_bytes || [], type_num: report.type_num || [] }, typeColumns, typeRows, "types-"),
      sortableTable(typeColumns, typeRows, "types-table"),
    ], "types"));
  }

  global.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });

  global.KeyscopeView = {
    el: el, escapeHTML: escapeHTML, formatNumber: formatNumber, formatBytes: formatBytes, sortableTable: sortableTable,
    toCSV: toCSV, download: download, downloadButtons: downloadButtons, typeFilter: typeFilter,
    chart: chart, disposeCharts: disposeCharts,
    renderScanResult: renderScanResult, renderOfflineReport: renderOfflineReport,
  };
})(window);
