// The planners' map (/map): the hub's default style (/styles/default) over its own vector
// tiles, with a layer list and legend built from that style, popups with each feature's
// attributes, and a commune search. Everything comes from the hub, the fonts of the labels
// too (/styles/glyphs): no base map, no CDN.
(function () {
  "use strict";
  const PROVINCE = [[106.12, 20.68], [106.62, 21.24]]; // Hải Dương
  const panel = {
    layers: document.getElementById("layers"),
    find: document.getElementById("find"),
    query: document.getElementById("find-q"),
    results: document.getElementById("find-results"),
    error: document.getElementById("map-error"),
  };

  // The API key an agency's user gave on /portal/access (kept for the tab only): sent with
  // every request to the hub, tiles included, so the map shows what the agency may read. It
  // goes in a header, never in a URL that caches or logs would keep.
  const key = sessionStorage.getItem("hub.accessKey");
  const auth = (url) =>
    key && new URL(url, location.href).origin === location.origin ? { Authorization: "Bearer " + key } : {};

  // The key box: a planner gives the agency's key here (or on /portal/access); the map reloads
  // to show what that agency may read. Only the key's public id is shown back.
  const keyForm = document.getElementById("mapkey");
  if (key) {
    document.getElementById("mapkey-enter").hidden = true;
    document.getElementById("mapkey-using").hidden = false;
    document.getElementById("mapkey-id").textContent = key.slice(0, 12);
  }
  keyForm.addEventListener("submit", (e) => {
    e.preventDefault();
    const v = document.getElementById("mapkey-in").value.trim();
    if (v) {
      sessionStorage.setItem("hub.accessKey", v);
      location.reload();
    }
  });
  document.getElementById("mapkey-forget").addEventListener("click", () => {
    sessionStorage.removeItem("hub.accessKey");
    location.reload();
  });

  const getJSON = (url) =>
    fetch(url, { headers: { Accept: "application/json", ...auth(url) } }).then((r) => {
      if (!r.ok) throw new Error(url + ": HTTP " + r.status);
      return r.json();
    });

  // h builds an element; children are nodes or text (never parsed as HTML: values are data).
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") el.className = v;
      else el.setAttribute(k, v);
    }
    for (const c of children) if (c !== null && c !== undefined) el.append(c);
    return el;
  }
  const en = (text) => (text ? h("small", null, text) : null);

  function fail(err) {
    panel.error.hidden = false;
    panel.error.textContent = "Không tải được bản đồ — the map could not load: " + err.message;
    console.error(err);
  }

  Promise.all([getJSON("/styles/default"), getJSON("/collections")])
    .then(([style, cols]) => start(style, Object.fromEntries(cols.collections.map((c) => [c.id, c]))))
    .catch(fail);

  function start(style, collections) {
    const map = new maplibregl.Map({
      container: "map",
      style,
      bounds: PROVINCE,
      fitBoundsOptions: { padding: 10 },
      hash: true, // #zoom/lat/lon: a view can be linked (and the tests open one)
      transformRequest: (url) => ({ url, headers: auth(url) }),
      // The layers' credits are long: folded behind (i) once the map is moved.
      attributionControl: { compact: true },
      dragRotate: false,
      pitchWithRotate: false,
      touchPitch: false,
    });
    window.hubMap = map;
    map.touchZoomRotate.disableRotation();
    map.addControl(new maplibregl.NavigationControl({ showCompass: false }), "top-right");
    map.addControl(new maplibregl.ScaleControl({ unit: "metric" }), "bottom-left");
    map.on("error", (e) => console.error(e.error || e));

    // The style's layers by collection, ordered by each collection's topmost layer (the
    // boundaries' clickable fills lie at the bottom, their outlines on top).
    const groups = new Map();
    for (const l of style.layers) {
      const id = l["source-layer"];
      if (!id) continue;
      const ls = groups.get(id) || [];
      groups.delete(id);
      groups.set(id, [...ls, l]);
    }
    layerList(map, groups, collections);
    popups(map, groups, collections);
    search(map, collections);
  }

  // --- layer list and legend ---------------------------------------------------------------

  const colourOf = (l) => (l.paint || {})[l.type + "-color"];
  const opacityOf = (l) => (l.paint || {})[l.type + "-opacity"];

  function swatch(type, colour) {
    const s = h("span", { class: "swatch " + type, "aria-hidden": "true" });
    if (type === "line") s.style.borderTopColor = colour;
    else s.style.backgroundColor = colour;
    return s;
  }

  // legend lists the classes of a layer coloured by ["match", ["get", field], …] or by
  // ["step", …] (a choropleth), labelled by
  // the style layer's metadata "hub:legend" ({"LUC,LUK": ["Đất trồng lúa", "Rice land"]}).
  // A palette already shown (parcels, their overview and the zoning plans share the land-use
  // colours) is referred to rather than repeated.
  const shown = new Map();
  function legend(layers, title) {
    const l = layers.find((l) => l.metadata && l.metadata["hub:legend"] && Array.isArray(colourOf(l)));
    if (!l) return null;
    const e = colourOf(l);
    const labels = l.metadata["hub:legend"];
    const key = JSON.stringify([e.slice(2), labels]);
    if (shown.has(key)) {
      const [vi, english] = shown.get(key);
      return h("p", { class: "legend" }, `Màu như lớp ${vi} `, en(`colours as for ${english}`));
    }
    shown.set(key, title);
    const ul = h("ul", { class: "legend" });
    const row = (colour, label) => ul.append(h("li", null, swatch(l.type, colour), h("span", null, label[0], " ", en(label[1]))));
    if (e[0] === "step") {
      // A choropleth: ["step", value, c0, s1, c1, …, sn, cn] reads as classes of values,
      // with the unit from "hub:legend" ({"unit": ["doanh nghiệp", "enterprises"]}) and,
      // when the first class stands for missing values, its label ("below").
      const [vi, english] = labels.unit || ["", ""];
      const num = (v) => Number(v).toLocaleString("vi-VN");
      const stops = e.filter((_, i) => i >= 3 && i % 2 === 1);
      row(e[2], labels.below || [`dưới ${num(stops[0])} ${vi}`, `below ${num(stops[0])} ${english}`]);
      stops.forEach((s, k) => {
        const next = stops[k + 1];
        row(e[4 + 2 * k], next === undefined ? [`từ ${num(s)} ${vi}`, `${num(s)} or more`] : [`${num(s)}–${num(next)} ${vi}`, `${num(s)}–${num(next)} ${english}`]);
      });
      return ul;
    }
    for (let i = 2; i + 1 < e.length; i += 2) row(e[i + 1], labels[[].concat(e[i]).join(",")] || [String(e[i]), ""]);
    row(e[e.length - 1], labels["*"] || ["Khác", "Other"]);
    return ul;
  }

  function layerList(map, groups, collections) {
    const items = [];
    // Topmost first, as drawn.
    for (const [id, layers] of [...groups].reverse()) {
      const c = collections[id] || { title: id };
      const box = h("input", { type: "checkbox" });
      box.checked = layers.some((l) => (l.layout || {}).visibility !== "none");
      box.addEventListener("change", () => {
        for (const l of layers) map.setLayoutProperty(l.id, "visibility", box.checked ? "visible" : "none");
      });
      const leg = legend(layers, [c.title, c.titleEn || c.title]);
      // A layer without classes gets one swatch beside its name.
      const plain = leg ? null : layers.find((l) => typeof colourOf(l) === "string" && opacityOf(l) !== 0);
      const [lo, hi] = [c.minZoom || 0, c.maxZoom ?? 22];
      const li = h("li", { "data-collection": id },
        h("label", null, box, " ", plain ? swatch(plain.type, colourOf(plain)) : null, " ", c.title, " ", en(c.titleEn)),
        h("small", { class: "zoomhint" }, `Hiện ở mức thu phóng ${lo}–${hi} — shown at zoom ${lo}–${hi}`),
        leg);
      items.push([li, lo, hi]);
      panel.layers.append(li);
    }
    // Greyed out, with its zoom range, when the layer has nothing to draw at this zoom.
    const onZoom = () => {
      const z = map.getZoom();
      for (const [li, lo, hi] of items) li.classList.toggle("outofrange", z < lo || z >= hi + 1);
    };
    map.on("zoomend", onZoom);
    onZoom();
  }

  // --- popups ------------------------------------------------------------------------------

  const queryables = {};
  // fieldsOf gives a collection's field titles (Vietnamese title, English description).
  function fieldsOf(id) {
    if (!queryables[id]) {
      queryables[id] = getJSON(`/collections/${encodeURIComponent(id)}/queryables`)
        .then((q) => q.properties || {})
        .catch(() => ({})); // titles are a nicety: the popup still shows the values
    }
    return queryables[id];
  }

  function formatValue(v, schema) {
    if (v === null || v === undefined || v === "") return "—";
    if (typeof v === "number" && schema && schema.type === "number") {
      return v.toLocaleString("vi-VN", { maximumFractionDigits: 2 });
    }
    return String(v);
  }

  const itemURL = (f) => `/collections/${encodeURIComponent(f.sourceLayer)}/items/${encodeURIComponent(f.id)}?f=html`;
  const nameOf = (f) => {
    const p = f.properties;
    return p.name || p.commune || p.road_no || p.zone_code || p.unit_code || (p.so_thua !== undefined ? `Thửa ${p.so_thua}, tờ ${p.so_to}` : `#${f.id}`);
  };

  function popups(map, groups, collections) {
    const ids = [...groups.values()].flat().map((l) => l.id);
    let popup = null;
    map.on("click", async (e) => {
      // One entry per feature, topmost first (a parcel's fill and outline are one feature).
      const seen = new Set();
      const hits = map.queryRenderedFeatures(e.point, { layers: ids }).filter((f) => {
        const key = f.sourceLayer + "/" + f.id;
        if (seen.has(key) || f.id === undefined) return false;
        seen.add(key);
        return true;
      });
      if (popup) popup.remove();
      if (!hits.length) return;
      const [top, ...others] = hits;
      const c = collections[top.sourceLayer] || { title: top.sourceLayer };
      const fields = await fieldsOf(top.sourceLayer);
      const rows = Object.entries(top.properties).map(([k, v]) => {
        const q = fields[k] || {};
        return h("tr", null, h("th", { scope: "row", title: k }, q.title || k, " ", en(q.description)), h("td", null, formatValue(v, q)));
      });
      const content = h("div", { class: "popup" },
        h("h3", null, c.title, " ", en(c.titleEn)),
        h("table", null, h("tbody", null, ...rows)),
        h("a", { href: itemURL(top) }, "Xem đối tượng ", en("Feature page")));
      if (others.length) {
        content.append(h("div", { class: "also" }, "Tại đây còn có ", en("Also here"),
          h("ul", null, ...others.slice(0, 6).map((f) =>
            h("li", null, h("a", { href: itemURL(f) }, nameOf(f)), " ", en((collections[f.sourceLayer] || {}).title || f.sourceLayer))))));
      }
      popup = new maplibregl.Popup({ maxWidth: "24rem" }).setLngLat(e.lngLat).setDOMContent(content).addTo(map);
    });
    // A pointer over anything that answers a click.
    map.on("mousemove", (e) => {
      map.getCanvas().style.cursor = map.queryRenderedFeatures(e.point, { layers: ids }).length ? "pointer" : "";
    });
  }

  // --- commune search ----------------------------------------------------------------------

  // fold makes names comparable the way ACCENTI/CASEI do: no accents, no case, đ as d.
  const fold = (s) => s.normalize("NFD").replace(/[\u0300-\u036f]/g, "").replace(/đ/gi, "d").toLowerCase().trim();
  const bare = (s) => fold(s).replace(/^(xa|phuong|thi tran)\s+/, "");

  function bboxOf(geometry) {
    const b = [Infinity, Infinity, -Infinity, -Infinity];
    const walk = (c) => {
      if (typeof c[0] === "number") {
        b[0] = Math.min(b[0], c[0]); b[1] = Math.min(b[1], c[1]);
        b[2] = Math.max(b[2], c[0]); b[3] = Math.max(b[3], c[1]);
      } else c.forEach(walk);
    };
    walk(geometry.coordinates);
    return [[b[0], b[1]], [b[2], b[3]]];
  }

  function search(map, collections) {
    // The found area is outlined above everything else.
    const empty = { type: "FeatureCollection", features: [] };
    const outline = () => {
      if (map.getSource("found")) return;
      map.addSource("found", { type: "geojson", data: empty });
      map.addLayer({ id: "found-line", type: "line", source: "found", paint: { "line-color": "#D81B60", "line-width": 3 } });
    };
    map.isStyleLoaded() ? outline() : map.once("load", outline);

    // Post-2025 wards first, then the communes before the merger.
    const sources = [
      ["wards", "từ 1/7/2025", "from 1 July 2025"],
      ["communes", "đến 1/7/2025", "until 1 July 2025"],
    ].filter(([id]) => collections[id]);

    const show = (li, f) => {
      for (const x of panel.results.children) x.classList.toggle("active", x === li);
      outline();
      map.getSource("found").setData(f);
      map.fitBounds(bboxOf(f.geometry), { padding: 40, maxZoom: 15 });
    };

    panel.find.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      // The words are data: quotes doubled for the CQL2 string, LIKE wildcards dropped.
      const words = panel.query.value.replace(/[%_]/g, " ").replace(/\s+/g, " ").trim().replace(/'/g, "''");
      if (!words) return;
      panel.results.replaceChildren(h("li", null, "Đang tìm… ", en("searching…")));
      const filter = `CASEI(ACCENTI(name)) LIKE casei(accenti('%${words}%'))`;
      let found;
      try {
        found = (await Promise.all(sources.map(([id, vi, english]) =>
          getJSON(`/collections/${id}/items?limit=20&filter=${encodeURIComponent(filter)}`)
            .then((fc) => fc.features.map((f) => ({ f, vi, english })))))).flat();
      } catch (err) {
        panel.results.replaceChildren(h("li", null, "Lỗi tìm kiếm ", en("search failed: " + err.message)));
        return;
      }
      // An exact name first ("thanh mien" → Xã Thanh Miện before Xã Bắc Thanh Miện), then shorter names.
      const q = bare(words);
      const rank = (r) => (bare(r.f.properties.name || "") === q ? 0 : 1);
      found.sort((a, b) => rank(a) - rank(b) || (a.f.properties.name || "").length - (b.f.properties.name || "").length);
      if (!found.length) {
        panel.results.replaceChildren(h("li", null, "Không tìm thấy ", en("nothing found")));
        return;
      }
      panel.results.replaceChildren(...found.map((r) => {
        const p = r.f.properties;
        const btn = h("button", { type: "button" }, p.name);
        const li = h("li", null, btn, " ", en((p.district ? p.district + ", " : "") + r.vi + " — " + r.english));
        btn.addEventListener("click", () => show(li, r.f));
        return li;
      }));
      show(panel.results.firstElementChild, found[0].f);
    });
  }
})();
