// Drives the map page in headless Chromium for ../map_test.go and prints what it saw as JSON;
// the Go test makes the assertions. Usage: node map.mjs BASE_URL LON LAT OUT_DIR
// (LON, LAT: a point inside a land parcel; screenshots go to OUT_DIR).
import { chromium } from "playwright-core";

const [base, lon, lat, outDir] = process.argv.slice(2);
const out = { consoleErrors: [], tiles: [], glyphs: [], steps: [] };
const step = (s) => out.steps.push(s);

const browser = await chromium.launch({
  executablePath: process.env.HUB_CHROMIUM || "/usr/bin/chromium",
  // Playwright adds --headless, --no-sandbox and a temporary profile of its own. WebGL runs
  // on SwiftShader, which Chromium no longer picks by itself.
  args: ["--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run",
    "--use-angle=swiftshader", "--enable-unsafe-swiftshader"],
  timeout: 20000,
});
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
  page.setDefaultTimeout(20000);
  // The user has given the key of a connected agency on /portal/access (HUB_KEY).
  if (process.env.HUB_KEY) {
    await page.addInitScript((k) => sessionStorage.setItem("hub.accessKey", k), process.env.HUB_KEY);
  }
  page.on("console", (m) => { if (m.type() === "error") out.consoleErrors.push(m.text() + " @ " + (m.location().url || "")); });
  page.on("pageerror", (e) => out.consoleErrors.push("page error: " + e.message));
  // MapLibre cancels the tiles a view no longer needs (net::ERR_ABORTED): not a failure.
  page.on("requestfailed", (r) => {
    const why = (r.failure() || {}).errorText;
    if (why !== "net::ERR_ABORTED") out.consoleErrors.push("request failed: " + r.url() + " " + why);
  });
  page.on("response", (r) => {
    if (r.url().includes("/tiles/WebMercatorQuad/")) out.tiles.push({ url: r.url(), status: r.status() });
    if (r.url().includes("/styles/glyphs/")) out.glyphs.push({ url: r.url(), status: r.status() });
  });
  // Waits until the map has drawn everything it asked for.
  const idle = () => page.evaluate(() => new Promise((done) => {
    const m = window.hubMap;
    m.once("idle", done);
    m.triggerRepaint();
  }));
  const view = () => page.evaluate(() => ({ zoom: window.hubMap.getZoom(), center: window.hubMap.getCenter().toArray() }));

  step("open /map");
  await page.goto(base + "/map", { waitUntil: "load" });
  await page.waitForFunction(() => window.hubMap && window.hubMap.loaded());
  await idle();
  out.province = await view();
  out.layerItems = await page.$$eval("#layers > li", (lis) => lis.map((li) => li.dataset.collection));
  out.keyShown = await page.$eval("#mapkey-id", (el) => (el.closest("[hidden]") ? "" : el.textContent));
  out.legendRows = await page.$$eval(".legend li", (lis) => lis.length);
  // Labels placed on the map (text drawn with the hub's glyphs), by text.
  out.labels = await page.evaluate(() => window.hubMap.queryRenderedFeatures({ layers: ["wards-label", "districts-label"] })
    .map((f) => f.properties.name));
  await page.locator("#map").screenshot({ path: outDir + "/province.png" });

  step("search thanh mien");
  await page.fill("#find-q", "thanh mien");
  await page.press("#find-q", "Enter");
  await page.waitForSelector("#find-results li button");
  out.results = await page.$$eval("#find-results li", (lis) => lis.map((li) => li.textContent));
  await page.waitForFunction(() => !window.hubMap.isMoving());
  await idle();
  out.found = await view();

  step("zoom to a parcel and click it");
  await page.evaluate(([x, y]) => window.hubMap.jumpTo({ center: [x, y], zoom: 16 }), [Number(lon), Number(lat)]);
  await idle();
  out.parcel = await view();
  await page.locator("#map").screenshot({ path: outDir + "/parcels.png" });
  const box = await page.locator("#map canvas").boundingBox();
  await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
  const popup = await page.waitForSelector(".maplibregl-popup", { timeout: 10000 });
  out.popup = {
    title: await popup.$eval("h3", (e) => e.textContent),
    text: await popup.textContent(),
    link: await popup.$eval("a", (a) => a.getAttribute("href")),
  };
  step("done");
} catch (e) {
  out.error = String(e && e.stack || e);
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(out));
