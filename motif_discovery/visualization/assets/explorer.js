/* Motif discovery explorer: draws a page from its JSON data block (#explorer-data).
   Every string of the data is inserted as text (text nodes, textContent), never as HTML;
   Plotly figures are drawn from their JSON with Plotly.newPlot. */
(function () {
  "use strict";

  var data = JSON.parse(document.getElementById("explorer-data").textContent);
  var app = document.getElementById("app");
  var mounted = []; /* drawing to do once the sections are in the document */
  var ATTRIBUTES = ["href", "id", "type", "min", "max", "step", "value", "for", "title", "colspan", "start"];

  /* Element `tag` with properties (className, text, style, the attributes above) and
     children (nodes, or strings that become text nodes). */
  function h(tag, props, children) {
    var node = document.createElement(tag);
    props = props || {};
    if (props.className) node.className = props.className;
    if (props.text !== undefined && props.text !== null) node.textContent = String(props.text);
    ATTRIBUTES.forEach(function (name) {
      if (props[name] !== undefined) node.setAttribute(name, String(props[name]));
    });
    if (props.style) Object.keys(props.style).forEach(function (k) { node.style[k] = props.style[k]; });
    (children || []).forEach(function (child) {
      if (child === null || child === undefined) return;
      node.append(child instanceof Node ? child : String(child));
    });
    return node;
  }

  /* Append the children that exist (a section may be absent: null). */
  function appendAll(parent, children) {
    children.forEach(function (child) { if (child) parent.append(child); });
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
    return node;
  }

  /* A number with `digits` significant digits; "–" for a missing value. */
  function fmt(x, digits) {
    if (x === null || x === undefined || x === "") return "–";
    if (typeof x !== "number") return String(x);
    if (Number.isInteger(x)) return String(x);
    return Number(x.toPrecision(digits || 3)).toString();
  }

  function plot(div, figure) {
    if (!window.Plotly) {
      clear(div).append(h("p", { className: "note", text: "Plotly did not load (assets/plotly.min.js is missing)." }));
      return;
    }
    var layout = Object.assign({}, figure.layout || {}, { autosize: true });
    delete layout.width;
    window.Plotly.newPlot(div, figure.data || [], layout, { responsive: true, displaylogo: false });
  }

  /* A titled plot panel, or nothing when the figure is absent. */
  function panel(title, figure, wide) {
    if (!figure) return null;
    var div = h("div", { className: "plot" });
    var box = h("figure", { className: wide ? "panel wide" : "panel" }, [h("figcaption", { text: title }), div]);
    return { box: box, draw: function () { plot(div, figure); } };
  }

  function drawPanels(container, panels) {
    clear(container);
    panels.filter(Boolean).forEach(function (p) { container.append(p.box); });
    panels.filter(Boolean).forEach(function (p) { p.draw(); });
  }

  function notes(list) {
    if (!list || !list.length) return null;
    return h("ul", { className: "notes" }, list.map(function (n) { return h("li", { text: n }); }));
  }

  function swatch(colour) {
    return h("span", { className: "swatch", style: { background: colour } });
  }

  /* The first `shown` items, the rest behind a "more" toggle. */
  function truncatedList(items, shown, tag) {
    var list = h(tag || "ol", { className: "examples" }, items.slice(0, shown));
    if (items.length <= shown) return list;
    var more = h("details", {}, [
      h("summary", { text: (items.length - shown) + " more" }),
      h(tag || "ol", { className: "examples", start: shown + 1 }, items.slice(shown)),
    ]);
    return h("div", {}, [list, more]);
  }

  function exampleItem(example) {
    return h("li", {}, [
      h("span", { className: "p", text: fmt(example.p, 3) }),
      h("span", { className: "continuation", text: example.text }),
      example.family ? h("span", { className: "family", text: example.family }) : null,
    ]);
  }

  function featureTable(features) {
    if (!features.length) return h("span", { className: "note", text: "none" });
    var head = h("tr", {}, ["layer", "pos", "token", "feature", "H_c"].map(function (c) { return h("th", { text: c }); }));
    var rows = features.map(function (f) {
      return h("tr", {}, [
        h("td", { text: fmt(f.layer) }),
        h("td", { text: fmt(f.position) }),
        h("td", {}, [h("code", { text: f.token === null || f.token === undefined ? "" : f.token })]),
        h("td", { text: fmt(f.feature) }),
        h("td", { className: "num", text: fmt(f.H_c, 3) }),
      ]);
    });
    var table = h("table", { className: "features" }, [h("thead", {}, [head]), h("tbody", {}, rows.slice(0, 5))]);
    if (rows.length <= 5) return table;
    var rest = h("table", { className: "features" }, [h("tbody", {}, rows.slice(5))]);
    return h("div", {}, [table, h("details", {}, [h("summary", { text: (rows.length - 5) + " more" }), rest])]);
  }

  /* One row per motif: swatch, prior, size, families, top continuations, top features. */
  function motifTable(motifs) {
    var hasFamilies = motifs.some(function (m) { return m.families; });
    var hasFeatures = motifs.some(function (m) { return m.features; });
    var columns = ["motif", "prior", "size"];
    if (hasFamilies) columns.push("ground-truth families");
    columns.push("top continuations (P_n)");
    if (hasFeatures) columns.push("top features (stage 6)");
    var head = h("tr", {}, columns.map(function (c) { return h("th", { text: c }); }));
    var body = motifs.map(function (m) {
      var cells = [
        h("td", { className: "motif" }, [swatch(m.colour), h("span", { text: m.motif })]),
        h("td", { className: "num", text: fmt(m.prior, 3) }),
        h("td", { className: "num", text: m.size }),
      ];
      if (hasFamilies) {
        var fam = Object.keys(m.families || {}).map(function (name) {
          return h("li", {}, [h("span", { text: name }), h("span", { className: "count", text: m.families[name] })]);
        });
        cells.push(h("td", {}, [h("ul", { className: "families" }, fam)]));
      }
      cells.push(h("td", {}, [truncatedList(m.examples.map(exampleItem), 4)]));
      if (hasFeatures) cells.push(h("td", {}, [m.features ? featureTable(m.features) : h("span", { className: "note", text: "–" })]));
      return h("tr", {}, cells);
    });
    return h("table", { className: "motifs" }, [h("thead", {}, [head]), h("tbody", {}, body)]);
  }

  function chips(pairs) {
    return h("div", { className: "chips" }, pairs.map(function (pair) {
      return h("span", { className: "chip" }, [h("b", { text: pair[0] }), " " + fmt(pair[1], 4)]);
    }));
  }

  function configLabel(c) {
    return "β = " + fmt(c.beta, 4) + ", γ = " + fmt(c.gamma, 3) + "  (K = " + c.K + ")";
  }

  /* ---------- prefix page ---------- */

  function gridSection() {
    var section = h("section", { id: "grid" }, [h("h2", { text: "Motifs at a grid configuration" })]);
    if (!data.configs.length) {
      section.append(h("p", { className: "note", text: "Stage 5 ran no grid configuration on this prefix." }));
      return section;
    }
    var select = h("select", { id: "config-select" }, data.configs.map(function (c, i) {
      return h("option", { value: i, text: configLabel(c) });
    }));
    var scores = h("div", { id: "config-scores" });
    var table = h("div", { id: "config-motifs", className: "table-wrap" });
    var plots = h("div", { id: "config-plots", className: "plots" });
    section.append(
      h("div", { className: "controls" }, [h("label", { for: "config-select", text: "Configuration" }), select]),
      scores, table, plots
    );
    function show(i) {
      var c = data.configs[i];
      var s = c.scores || {};
      var pairs = [["K", c.K]];
      Object.keys(s).forEach(function (k) { pairs.push([k, s[k]]); });
      clear(scores).append(chips(pairs));
      if (!c.eligible) scores.append(h("p", { className: "note", text: "Stages 6 and 7 skip this configuration (K outside 1 < K ≤ K_clamp)." }));
      clear(table).append(motifTable(c.motifs));
      var f = c.figures || {};
      drawPanels(plots, [
        panel("t-SNE of the semantic view (colour: motif)", f.tsne_semantic),
        panel("t-SNE of the attribution view (colour: motif)", f.tsne_attribution),
        panel("Clustering history", f.history),
        panel("Semantic vs attribution: KM-S → RD → KM-A (P-mass)", f.sankey),
        panel("Semantic graph (stage 6)", f.graph, true),
        panel("Steering curves (stage 7c)", f.steering, true),
      ]);
    }
    select.addEventListener("change", function () { show(Number(select.value)); });
    mounted.push(function () { show(0); });
    return section;
  }

  function eventText(event, index, count) {
    var parts = ["event " + (index + 1) + " of " + count, "β = " + fmt(event.beta, 4), "K = " + event.K, event.type];
    (event.children || []).forEach(function (pair) {
      if (pair[1] && pair[1].length > 1) parts.push("motif " + pair[0] + " → " + pair[1].join(", "));
    });
    (event.merges || []).forEach(function (m) { parts.push("merge " + JSON.stringify(m)); });
    return parts.join(" · ");
  }

  function pathSection() {
    var section = h("section", { id: "path" }, [
      h("h2", { text: "The β path: watch the motifs split" }),
      h("p", { className: "lead", text: "Each event is a critical β at which the optimal partition changes. Move the slider to step through them." }),
    ]);
    if (!data.paths.length) {
      section.append(h("p", { className: "note", text: "Stage 5 followed no β path for this prefix." }));
      return section;
    }
    var gammaSelect = h("select", { id: "path-gamma" }, data.paths.map(function (p, i) {
      return h("option", { value: i, text: "γ = " + fmt(p.gamma, 3) });
    }));
    var slider = h("input", { id: "path-slider", type: "range", min: 0, max: 0, step: 1, value: 0 });
    var label = h("div", { id: "path-event", className: "event" });
    var table = h("div", { id: "path-motifs", className: "table-wrap" });
    var plots = h("div", { id: "path-plots", className: "plots" });
    section.append(
      h("div", { className: "controls" }, [
        h("label", { for: "path-gamma", text: "γ" }), gammaSelect,
        h("label", { for: "path-slider", text: "event" }), slider,
      ]),
      label, table, plots
    );
    var current = null;
    function showEvent() {
      var events = current.events;
      var i = Number(slider.value);
      label.textContent = eventText(events[i], i, events.length);
      clear(table).append(motifTable(events[i].motifs));
    }
    function showPath(j) {
      current = data.paths[j];
      slider.max = String(current.events.length - 1);
      slider.value = String(current.events.length - 1);
      showEvent();
      var stop = "stopped: " + (current.stopped || "–") + ", β_end = " + fmt(current.beta_end, 4);
      drawPanels(plots, [panel("Motifs along the β path (P-mass; " + stop + ")", current.figure, true)]);
    }
    slider.addEventListener("input", showEvent);
    gammaSelect.addEventListener("change", function () { showPath(Number(gammaSelect.value)); });
    mounted.push(function () { showPath(0); });
    return section;
  }

  function confusionSection() {
    if (!data.confusion) return null;
    var plots = h("div", { className: "plots" });
    var section = h("section", { id: "confusion" }, [
      h("h2", { text: "Steering confusion (stage 7c)" }),
      h("p", { className: "lead", text: "Slope of each family's change against ε when the features of a planted family or of an RD motif are steered." }),
      plots,
    ]);
    mounted.push(function () { drawPanels(plots, [panel("Confusion", data.confusion, true)]); });
    return section;
  }

  function prefixPage() {
    document.title = data.prefix_id + " · motifs";
    appendAll(app, [
      h("nav", {}, [h("a", { href: "index.html", text: "← all prefixes" })]),
      h("h1", {}, ["Prefix ", h("code", { text: data.prefix_id })]),
      h("blockquote", { className: "prefix-text", text: data.text }),
      h("p", { className: "meta", text: "N = " + data.n + " distinct continuations" +
        (data.label_sets.length ? " · label sets: " + data.label_sets.join(", ") : "") }),
      notes(data.notes),
      gridSection(),
      pathSection(),
      confusionSection(),
      data.graph_validation ? h("section", { id: "graph-validation" }, [
        h("h2", { text: "Graph validation (stage 7a)" }),
        h("p", { className: "lead", text: "Replacement model vs the real model on the most probable continuations, the feature / error / token shares of the attributions, and how stable each motif's attributions are." }),
        jsonView(data.graph_validation),
      ]) : null,
    ]);
  }

  /* ---------- index page ---------- */

  function configKey(c) { return fmt(c.beta, 6) + "/" + fmt(c.gamma, 6); }

  function prefixTable() {
    var keys = [], labels = {};
    data.prefixes.forEach(function (row) {
      row.configs.forEach(function (c) {
        var k = configKey(c);
        if (keys.indexOf(k) < 0) { keys.push(k); labels[k] = "β = " + fmt(c.beta, 4) + ", γ = " + fmt(c.gamma, 3); }
      });
    });
    var head = h("tr", {}, [h("th", { text: "prefix" }), h("th", { text: "text" }), h("th", { text: "N" })]
      .concat(keys.map(function (k) { return h("th", {}, [labels[k], h("br"), h("small", { text: data.truth ? "K · ARI (" + data.truth + ")" : "K" })]); })));
    var body = data.prefixes.map(function (row) {
      var id = row.page ? h("a", { href: row.page, text: row.prefix_id }) : h("span", { text: row.prefix_id, title: "page not built yet" });
      var cells = [h("td", {}, [id]), h("td", { className: "prefix-cell", text: row.text }), h("td", { className: "num", text: fmt(row.n) })];
      keys.forEach(function (k) {
        var c = row.configs.filter(function (x) { return configKey(x) === k; })[0];
        var ari = data.truth ? " · " + fmt(c && c.ARI, 2) : "";
        cells.push(h("td", { className: "num" }, c ? [h("b", { text: c.K }), ari] : ["–"]));
      });
      return h("tr", {}, cells);
    });
    return h("table", { className: "index" }, [h("thead", {}, [head]), h("tbody", {}, body)]);
  }

  function isScalar(v) { return v === null || typeof v !== "object"; }

  /* Any JSON as tables: a list of records as one table, a record of scalars as key/value
     rows, a nested record as headed parts. */
  function jsonView(value, depth) {
    depth = depth || 0;
    if (isScalar(value)) return h("span", { text: fmt(value, 4) });
    if (Array.isArray(value)) {
      var records = value.every(function (v) { return v && typeof v === "object" && !Array.isArray(v); });
      var flat = records && value.every(function (r) {
        return Object.keys(r).every(function (k) { return isScalar(r[k]) || (Array.isArray(r[k]) && r[k].every(isScalar)); });
      });
      if (records && !flat && depth < 3) {
        return h("div", {}, value.map(function (r) {
          var keys = Object.keys(r);
          var head = keys.filter(function (k) { return isScalar(r[k]); }).map(function (k) { return k + " = " + fmt(r[k], 4); });
          var rest = {};
          keys.filter(function (k) { return !isScalar(r[k]); }).forEach(function (k) { rest[k] = r[k]; });
          return h("div", { className: "nested" }, [h("h4", { text: head.join(" · ") }), jsonView(rest, depth + 1)]);
        }));
      }
      if (records) {
        var cols = [];
        value.forEach(function (r) { Object.keys(r).forEach(function (k) { if (cols.indexOf(k) < 0) cols.push(k); }); });
        return h("table", { className: "generic" }, [
          h("thead", {}, [h("tr", {}, cols.map(function (c) { return h("th", { text: c }); }))]),
          h("tbody", {}, value.map(function (r) {
            return h("tr", {}, cols.map(function (c) {
              return h("td", { className: typeof r[c] === "number" ? "num" : "", text: isScalar(r[c]) ? fmt(r[c], 4) : JSON.stringify(r[c]) });
            }));
          })),
        ]);
      }
      return h("span", { text: value.map(function (v) { return isScalar(v) ? fmt(v, 4) : JSON.stringify(v); }).join(", ") });
    }
    var keys = Object.keys(value);
    var scalars = keys.filter(function (k) { return isScalar(value[k]) || (Array.isArray(value[k]) && value[k].every(isScalar)); });
    var nested = keys.filter(function (k) { return scalars.indexOf(k) < 0; });
    var parts = [];
    if (scalars.length) {
      parts.push(h("table", { className: "generic kv" }, [h("tbody", {}, scalars.map(function (k) {
        return h("tr", {}, [h("th", { text: k }), h("td", {}, [jsonView(value[k], depth + 1)])]);
      }))]));
    }
    nested.forEach(function (k) {
      if (depth >= 3) { parts.push(h("p", { text: k + ": " + JSON.stringify(value[k]) })); return; }
      parts.push(h("div", { className: "nested" }, [h("h4", { text: k }), jsonView(value[k], depth + 1)]));
    });
    return h("div", { className: "json-object" }, parts);
  }

  function indexPage() {
    var f = data.figures || {};
    var sweep = h("div", { className: "plots" });
    var steeringPlots = h("div", { className: "plots" });
    var steering = data.steering_summary;
    appendAll(app, [
      h("h1", { text: "Motif discovery explorer" }),
      h("p", { className: "meta", text: "run: " + data.run + " · " + data.prefixes.length + " prefixes" }),
      notes(data.notes),
      h("section", {}, [
        h("h2", { text: "Prefixes" }),
        h("p", { className: "lead", text: "RD's number of motifs K and its adjusted Rand index against the ground truth (where known), per grid configuration. Open a prefix for its motifs, plots and β path." }),
        h("div", { className: "table-wrap" }, [prefixTable()]),
      ]),
      h("section", {}, [h("h2", { text: "β × γ sweep" }), sweep]),
      h("section", { id: "steering" }, [
        h("h2", { text: "Steering validation (stage 7c)" }),
        steering ? h("p", { className: "lead", text: "Mean over motifs, then prefixes, of the correlation between ε and the change of the continuations' mean centred logit, per method, selection and B; unusable motifs (no feature left, constant response) left out or counted as 0." }) : h("p", { className: "note", text: "Stage 7c has not run on this run." }),
        steeringPlots,
        steering ? h("div", { className: "table-wrap" }, [jsonView(steering)]) : null,
      ]),
      h("section", { id: "graph-validation" }, [
        h("h2", { text: "Graph validation (stage 7a)" }),
        data.graph_validation ? jsonView(data.graph_validation) : h("p", { className: "note", text: "Stage 7a has not run on this run." }),
      ]),
    ]);
    mounted.push(function () { drawPanels(sweep, [
      panel("RD's mean K", f.sweep_K),
      panel("RD's mean D_γ", f.sweep_D_gamma),
      panel("D_γ of RD and the baselines", f.sweep_methods, true),
    ]); });
    mounted.push(function () { drawPanels(steeringPlots, [
      panel("Mean Spearman per method, selection and B", f.steering_summary, true),
      panel("Steering confusion, pooled over prefixes", f.confusion, true),
    ]); });
  }

  clear(app);
  if (data.kind === "prefix") prefixPage(); else indexPage();
  mounted.forEach(function (draw) { draw(); });
})();
