// Draws the page's features on a small MapLibre map (no base map: the hub needs no
// outside tile server) and fills the property table of a single feature.
(function () {
  const fc = typeof features === "object" ? features : { type: "FeatureCollection", features: [] };
  const props = document.getElementById("props");
  if (props && fc.features.length === 1) {
    for (const [k, v] of Object.entries(fc.features[0].properties || {})) {
      const tr = props.insertRow();
      tr.insertCell().textContent = k;
      tr.insertCell().textContent = v === null ? "" : String(v);
    }
  }
  const el = document.getElementById("map");
  if (!el || typeof maplibregl === "undefined") return;
  let bounds = null;
  const extend = (c) => {
    if (typeof c[0] === "number") {
      bounds = bounds ? bounds.extend(c) : new maplibregl.LngLatBounds(c, c);
    } else c.forEach(extend);
  };
  fc.features.forEach((f) => f.geometry && extend(f.geometry.coordinates));
  const map = new maplibregl.Map({
    container: el,
    style: { version: 8, sources: {}, layers: [{ id: "bg", type: "background", paint: { "background-color": "#f4f1ea" } }] },
    center: bounds ? bounds.getCenter() : [106.33, 20.94],
    zoom: 9,
    attributionControl: false,
  });
  map.on("load", () => {
    map.addSource("f", { type: "geojson", data: fc });
    map.addLayer({ id: "fill", type: "fill", source: "f", filter: ["==", ["geometry-type"], "Polygon"], paint: { "fill-color": "#3b82c4", "fill-opacity": 0.35 } });
    map.addLayer({ id: "line", type: "line", source: "f", paint: { "line-color": "#0b3f73", "line-width": 1.2 } });
    map.addLayer({ id: "pt", type: "circle", source: "f", filter: ["==", ["geometry-type"], "Point"], paint: { "circle-radius": 5, "circle-color": "#c43b3b" } });
    if (bounds) map.fitBounds(bounds, { padding: 20, maxZoom: 18, duration: 0 });
    el.dataset.ready = "true";
  });
})();
