// The access page (/portal/access): an agency files Decree 47/2020 requests (Art. 35, default
// data) and agreements (Art. 38, specific data), follows its own, and an owner decides those
// for its entries, all through the hub's JSON API (/access/…) with the agency's API key.
// The key lives in sessionStorage (gone with the tab) and leaves the page only in the
// Authorization header of calls to /access/ on this hub; public metadata is fetched without it.
// Text from the server is set with textContent, never parsed as HTML.
(function () {
  "use strict";
  const STORE = "hub.accessKey";
  const $ = (id) => document.getElementById(id);
  const el = {
    keyForm: $("key-form"), key: $("key"), forget: $("key-forget"), whoami: $("whoami"), signedIn: $("signed-in"),
    fileForm: $("file-form"), entry: $("f-entry"), entryInfo: $("f-entry-info"), agreement: $("f-agreement"),
    app: $("f-app"), apps: $("f-apps"), purpose: $("f-purpose"), fieldList: $("f-field-list"), frequency: $("f-frequency"),
    requestOnly: $("request-only"), agreementOnly: $("agreement-only"), unmask: $("f-unmask"), rowField: $("f-row-field"),
    rowValues: $("f-row-values"), starts: $("f-starts"), ends: $("f-ends"), retention: $("f-retention"),
    submit: $("f-submit"), fileResult: $("file-result"),
    reload: $("reload"), listsStatus: $("lists-status"), mine: $("mine-list"), queue: $("queue-list"), pending: $("queue-pending"),
  };

  // h builds an element; children are nodes, text or arrays of them (text is never parsed as
  // HTML: values are data).
  function h(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") e.className = v;
      else if (v === true) e.setAttribute(k, "");
      else if (v !== false && v !== null && v !== undefined) e.setAttribute(k, v);
    }
    for (const c of children.flat(Infinity)) if (c !== null && c !== undefined && c !== "") e.append(c);
    return e;
  }
  const bi = (vi, en) => [vi + " ", h("small", null, en)]; // Vietnamese first, English beside

  const CATEGORY = { open: ["Dữ liệu mở", "open"], default: ["Chia sẻ mặc định", "default"], specific: ["Chia sẻ đặc thù", "specific"] };
  const STATUS = {
    submitted: ["Chờ phê duyệt", "submitted"], approved: ["Đã phê duyệt", "approved"], active: ["Đang hiệu lực", "active"],
    expired: ["Hết hạn", "expired"], refused: ["Bị từ chối", "refused"], revoked: ["Đã thu hồi", "revoked"],
  };
  const ACTION = {
    approve: { label: ["Phê duyệt", "Approve"], done: "Đã phê duyệt — approved", reason: false },
    refuse: { label: ["Từ chối", "Refuse"], done: "Đã từ chối — refused", reason: true },
    revoke: { label: ["Thu hồi", "Revoke"], done: "Đã thu hồi — revoked", reason: true },
    withdraw: { label: ["Rút lại", "Withdraw"], done: "Đã rút lại — withdrawn", reason: true, as: "revoke" },
  };
  const chip = (c) => h("span", { class: "cat cat-" + c }, (CATEGORY[c] || [c])[0]);

  // HubError carries the server's own description: it says what to fix, so it is shown verbatim.
  class HubError extends Error {
    constructor(message, status) {
      super(message);
      this.status = status;
    }
  }

  async function call(method, path, body, withKey) {
    const headers = { Accept: "application/json" };
    const key = withKey ? sessionStorage.getItem(STORE) : null;
    if (key) headers.Authorization = "Bearer " + key;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const r = await fetch(path, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "omit", cache: "no-store", referrerPolicy: "no-referrer",
    });
    const text = await r.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch (_) { /* not JSON: reported below */ }
    if (!r.ok) {
      throw new HubError(data && data.description ? data.description : "HTTP " + r.status + ": " + text.slice(0, 300), r.status);
    }
    return data;
  }
  const pub = (path) => call("GET", path, undefined, false);
  const authed = (method, path, body) => call(method, path, body, true);

  function show(box, ok, ...content) {
    box.replaceChildren(h("p", { class: ok ? "ok" : "error", role: ok ? "status" : "alert" }, ...content));
  }
  const errText = (err) => (err instanceof HubError ? err.message : "Lỗi kết nối — connection failed: " + err.message);

  // ---- Public metadata: the catalogue, the agencies, the collections' schemas. ----
  const entries = new Map();
  const agencies = new Map();
  const schemas = new Map();

  const entryName = (id) => (entries.get(id) || { name: id }).name;
  const agencyName = (id) => (agencies.get(id) ? agencies.get(id).name + " (" + id + ")" : id);

  const metadata = Promise.all([pub("/catalog"), pub("/agencies")]).then(([cat, ags]) => {
    for (const a of ags.agencies || []) agencies.set(a.id, a);
    for (const e of cat.entries || []) {
      entries.set(e.id, e);
      const cats = (e.categories || []).map((c) => (CATEGORY[c] || [c])[0]).join(", ");
      el.entry.append(h("option", { value: e.id }, e.number + ". " + e.name + " — " + cats));
    }
  });

  function schema(collection) {
    if (!schemas.has(collection)) {
      schemas.set(collection, pub("/collections/" + encodeURIComponent(collection) + "/schema").catch((err) => {
        schemas.delete(collection);
        throw err;
      }));
    }
    return schemas.get(collection);
  }

  // The fields of a schema that are stored attributes (they carry a sharing category; the
  // feature id and geometry the schema adds do not), in the collection's order.
  const schemaFields = (s) =>
    Object.entries(s.properties || {})
      .filter(([, p]) => p["x-hub-category"])
      .sort(([, a], [, b]) => (a["x-ogc-propertySeq"] || 0) - (b["x-ogc-propertySeq"] || 0))
      .map(([name, p]) => ({ name, title: p.title || name, titleEn: p.description || "", category: p["x-hub-category"], personal: !!p["x-hub-personal"] }));

  // ---- The key. ----
  async function signIn() {
    el.whoami.replaceChildren(h("p", null, ...bi("Đang kiểm tra khóa…", "checking the key…")));
    let who;
    try {
      who = await authed("GET", "/access/grants");
    } catch (err) {
      // Only a refused key is dropped; a hub that cannot check keys now (503) may take it later.
      if (!(err instanceof HubError) || err.status !== 401) return show(el.whoami, false, errText(err));
      sessionStorage.removeItem(STORE);
      signOut();
      return show(el.whoami, false, ...bi("Khóa bị từ chối:", "key refused:"), " ", err.message);
    }
    const p = who.principal || {};
    const grants = who.grants || [];
    el.whoami.replaceChildren(
      h("p", { class: "ok", id: "whoami-text", "data-agency": p.agency || "", "data-kind": p.kind || "" },
        ...(p.kind === "admin" ? bi("Quản trị hệ thống", "operator") : [
          ...bi("Cơ quan:", "agency:"), " ", agencyName(p.agency), " · ",
          ...bi("Ứng dụng của khóa:", "key's application:"), " ", p.application || "—",
        ]), " · ", ...bi("Khóa:", "key:"), " ", p.credential || ""),
      h("p", null, ...bi("Quyền khai thác hiện có:", "current grants:"), " ",
        grants.length ? grants.map((g) => entryName(g.entry) + " (" + g.source + ")").join("; ") : "—"));
    if (!el.app.value && p.application) el.app.value = p.application;
    el.signedIn.hidden = false;
    el.forget.hidden = false;
    await loadLists();
  }

  // signOut leaves nothing of one agency's session for the next key pasted in this tab: not its
  // lists, not a half-filled form, not its application names.
  function signOut() {
    el.signedIn.hidden = true;
    el.forget.hidden = true;
    el.whoami.replaceChildren();
    el.mine.replaceChildren();
    el.queue.replaceChildren();
    el.apps.replaceChildren();
    el.fileForm.reset();
    entryChosen();
    el.fileResult.replaceChildren();
    el.listsStatus.textContent = "";
  }

  el.keyForm.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const key = el.key.value.trim();
    el.key.value = ""; // out of the DOM at once
    if (!key) return;
    sessionStorage.setItem(STORE, key);
    signOut();
    signIn();
  });
  el.forget.addEventListener("click", () => {
    sessionStorage.removeItem(STORE);
    signOut();
    el.key.focus();
  });

  // ---- Filing. ----
  let fieldsLoad = 0; // the latest entry chosen; answers for an earlier one are dropped

  async function entryChosen() {
    const e = entries.get(el.entry.value);
    const load = ++fieldsLoad;
    el.fieldList.replaceChildren();
    el.rowField.replaceChildren(h("option", { value: "" }, "— Mọi bản ghi — all rows —"));
    el.entryInfo.replaceChildren();
    if (!e) {
      el.agreement.disabled = false;
      return modeChanged();
    }
    const cats = e.categories || [];
    el.entryInfo.append(h("p", null, ...bi("Hạng mục:", "categories:"), " ", ...cats.flatMap((c) => [chip(c), " "]),
      "· ", ...bi("Cơ quan quản lý:", "owner:"), " ", e.owner ? e.owner.name : "", " · ", h("a", { href: "/catalog/" + encodeURIComponent(e.id) }, e.nameEn || e.id)));
    if (cats.includes("open") && cats.length === 1) {
      el.entryInfo.append(h("p", { class: "hint" }, ...bi("Dữ liệu mở: không cần yêu cầu.", "Open data needs no request.")));
    }
    // An agreement is for specific data (an entry's, or its personal and specific fields, seen
    // once they are loaded); an entry shared only as specific needs one.
    el.agreement.disabled = !cats.includes("specific");
    el.agreement.checked = cats.includes("specific") && !cats.includes("default");
    modeChanged();

    const collections = (e.connection && e.connection.collections) || [];
    if (!collections.length) {
      el.fieldList.append(h("p", { class: "hint" }, ...bi("Cơ sở dữ liệu này chưa có dữ liệu trong kho.", "This entry has no data in the hub yet.")));
      return;
    }
    let loaded;
    try {
      loaded = await Promise.all(collections.map((c) => schema(c).then((s) => [c, s])));
    } catch (err) {
      if (load === fieldsLoad) show(el.fieldList, false, ...bi("Không tải được danh sách trường:", "cannot load the fields:"), " ", errText(err));
      return;
    }
    if (load !== fieldsLoad) return;
    const rowFields = new Set();
    for (const [c, s] of loaded) {
      const box = h("fieldset", { class: "collection" }, h("legend", null, (s.title || c) + " ", h("small", null, c)));
      for (const f of schemaFields(s)) {
        const id = "fld-" + c + "-" + f.name;
        box.append(h("div", { class: "check" },
          h("input", { type: "checkbox", id, class: "field", value: f.name, "data-personal": f.personal ? "true" : "false", "data-category": f.category }),
          h("label", { for: id }, f.title + " ", h("small", null, (f.titleEn ? f.titleEn + " · " : "") + f.name), " ",
            chip(f.category), f.personal ? [" ", h("span", { class: "tag" }, "dữ liệu cá nhân · personal")] : null)));
        if (!rowFields.has(f.name)) {
          rowFields.add(f.name);
          el.rowField.append(h("option", { value: f.name }, f.title + " (" + f.name + ")"));
        }
      }
      el.fieldList.append(box);
    }
    // An entry shared by default may hold personal data or fields shared only by agreement:
    // those are asked for by an agreement, so it is offered (not chosen).
    if (el.fieldList.querySelector('input.field[data-personal="true"], input.field[data-category="specific"]')) {
      el.agreement.disabled = false;
    }
    modeChanged();
  }

  // modeChanged shows the items of a request or of an agreement. Personal fields and fields
  // shared only by agreement are offered for an agreement only.
  function modeChanged() {
    const agreement = el.agreement.checked;
    el.requestOnly.hidden = agreement;
    el.agreementOnly.hidden = !agreement;
    el.submit.replaceChildren(...(agreement ? bi("Gửi đề nghị thỏa thuận", "Propose the agreement") : bi("Gửi yêu cầu", "Submit the request")));
    for (const box of el.fieldList.querySelectorAll("input.field")) {
      const onlyByAgreement = box.dataset.personal === "true" || box.dataset.category === "specific";
      box.disabled = onlyByAgreement && !agreement;
      if (box.disabled) box.checked = false;
      box.title = box.disabled ? "Chỉ khai thác được theo thỏa thuận — only by agreement" : "";
    }
  }

  // A field may be in several collections of an entry; access is by name, so they go together.
  el.fieldList.addEventListener("change", (ev) => {
    const t = ev.target;
    if (!t.classList || !t.classList.contains("field")) return;
    for (const other of el.fieldList.querySelectorAll("input.field")) if (other.value === t.value) other.checked = t.checked;
  });
  el.entry.addEventListener("change", entryChosen);
  el.agreement.addEventListener("change", modeChanged);

  el.fileForm.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    el.fileResult.replaceChildren(); // an answer on screen is always to the latest submission
    if (!el.entry.value) {
      el.entry.focus();
      return show(el.fileResult, false, ...bi("Chọn một cơ sở dữ liệu.", "Choose a catalogue entry."));
    }
    const fields = [...new Set([...el.fieldList.querySelectorAll("input.field:checked")].map((b) => b.value))];
    const body = { entry: el.entry.value, application: el.app.value.trim(), purpose: el.purpose.value, fields };
    const agreement = el.agreement.checked;
    if (agreement) {
      Object.assign(body, { unmaskPersonal: el.unmask.checked, starts: el.starts.value, ends: el.ends.value, retention: el.retention.value });
      const values = el.rowValues.value.split("\n").map((v) => v.trim()).filter((v) => v);
      if (el.rowField.value || values.length) body.rows = { [el.rowField.value]: values };
    } else {
      body.frequency = el.frequency.value;
    }
    el.submit.disabled = true;
    try {
      const got = await authed("POST", agreement ? "/access/agreements" : "/access/requests", body);
      show(el.fileResult, true, ...(agreement ? bi("Đã gửi đề nghị thỏa thuận số " + got.id + ".", "agreement " + got.id + " proposed.")
        : bi("Đã gửi yêu cầu số " + got.id + ".", "request " + got.id + " filed.")), " ",
      ...bi("Trạng thái:", "status:"), " ", ...statusText(got, agreement));
      await loadLists();
    } catch (err) {
      show(el.fileResult, false, errText(err));
    } finally {
      el.submit.disabled = false;
    }
  });

  // ---- The lists. ----
  const today = () => new Date().toISOString().slice(0, 10);
  const day = (t) => (t ? String(t).slice(0, 10) : "");
  const when = (t) => (t ? new Date(t).toLocaleString("vi-VN") : "");

  // state is an agreement's status by its dates, as the hub derives it (active, expired).
  function state(item, agreement) {
    if (!agreement || item.status !== "approved") return item.status;
    if (today() > day(item.ends)) return "expired";
    if (today() < day(item.starts)) return "approved";
    return "active";
  }
  const statusText = (item, agreement) => bi(...(STATUS[state(item, agreement)] || [item.status, item.status]));

  async function loadLists() {
    el.reload.disabled = true;
    try {
      const got = await authed("GET", "/access/requests");
      for (const v of [got.mine, got.toDecide, got.all]) for (const i of items(v)) if (i.application) addApp(i.application);
      render(el.mine, got.mine ? items(got.mine) : null, false);
      render(el.queue, items(got.toDecide || got.all), true);
    } catch (err) {
      el.listsStatus.textContent = errText(err);
    } finally {
      el.reload.disabled = false;
    }
  }

  function addApp(id) {
    if (![...el.apps.options].some((o) => o.value === id)) el.apps.append(h("option", { value: id }));
  }

  // items joins a view's requests and agreements, newest first.
  function items(view) {
    if (!view) return [];
    const out = [
      ...(view.requests || []).map((r) => Object.assign({ kind: "requests" }, r)),
      ...(view.agreements || []).map((a) => Object.assign({ kind: "agreements" }, a)),
    ];
    return out.sort((a, b) => String(b.submitted).localeCompare(String(a.submitted)));
  }

  function render(list, all, owner) {
    if (all === null) {
      list.replaceChildren(h("li", { class: "empty" }, ...bi("Khóa quản trị không gửi yêu cầu.", "The operator's token files nothing.")));
      return;
    }
    let shown = all;
    if (owner) {
      // What waits for a decision comes first.
      shown = all.filter((i) => !el.pending.checked || i.status === "submitted")
        .sort((a, b) => (b.status === "submitted") - (a.status === "submitted"));
    }
    if (!shown.length) {
      list.replaceChildren(h("li", { class: "empty" }, ...(owner ? bi("Không có mục nào.", "Nothing here.") : bi("Chưa có yêu cầu nào.", "No requests yet."))));
      return;
    }
    list.replaceChildren(...shown.map((i) => card(i, owner)));
  }

  function card(i, owner) {
    const agreement = i.kind === "agreements";
    const st = state(i, agreement);
    const uid = (owner ? "q-" : "m-") + i.kind + "-" + i.id;
    const rows = [
      [["Cơ sở dữ liệu", "entry"], entryName(i.entry) + " (" + i.entry + ")"],
      [["Cơ quan yêu cầu", "requesting agency"], agencyName(i.agency)],
      [["Ứng dụng", "application"], i.application],
      [["Mục đích", "purpose"], i.purpose],
      [["Trường dữ liệu", "fields"], i.fields && i.fields.length ? i.fields.join(", ") : "mọi trường được phép — every field allowed"],
    ];
    if (agreement) {
      rows.push(
        [["Thời hạn", "term"], day(i.starts) + " → " + day(i.ends)],
        [["Dữ liệu cá nhân", "personal data"], i.unmaskPersonal ? "không che — unmasked" : "được che — masked"],
        [["Giới hạn bản ghi", "rows"], i.rows ? Object.entries(i.rows).map(([f, v]) => f + " ∈ {" + v.join(", ") + "}").join("; ") : "mọi bản ghi — all rows"],
        [["Lưu giữ và xóa", "retention"], i.retention]);
    } else if (i.frequency) {
      rows.push([["Tần suất", "frequency"], i.frequency]);
    }
    rows.push([["Gửi lúc", "submitted"], when(i.submitted)]);
    if (i.decided) rows.push([["Quyết định", "decided"], when(i.decided) + (i.decidedBy ? " · " + i.decidedBy : "")]);

    const result = h("p", { class: "result", "aria-live": "polite" });
    const li = h("li", { class: "access-item status-" + st, "data-kind": i.kind, "data-id": String(i.id), "data-status": st },
      h("h3", null, ...(agreement ? bi("Thỏa thuận số " + i.id, "agreement " + i.id) : bi("Yêu cầu số " + i.id, "request " + i.id)),
        " — ", entryName(i.entry)),
      h("p", { class: "status" }, h("span", { class: "badge" }, ...statusText(i, agreement)),
        i.reason ? [" ", ...bi("Lý do:", "reason:"), " ", h("span", { class: "reason" }, i.reason)] : null),
      h("dl", null, ...rows.flatMap(([[vi, en], v]) => [h("dt", null, ...bi(vi, en)), h("dd", null, v || "—")])));

    const actions = owner
      ? (i.status === "submitted" ? ["approve", "refuse"] : i.status === "approved" ? ["revoke"] : [])
      : (i.status === "submitted" || i.status === "approved" ? ["withdraw"] : []);
    if (actions.length) {
      const form = h("form", { class: "actions", method: "post" });
      let reason = null;
      if (actions.some((a) => ACTION[a].reason)) {
        reason = h("input", { id: uid + "-reason", class: "reason-input", autocomplete: "off" });
        form.append(h("label", { for: uid + "-reason" }, owner
          ? bi("Lý do (bắt buộc khi từ chối hoặc thu hồi; bên yêu cầu sẽ thấy)", "Reason (needed to refuse or revoke; the requester sees it)")
          : bi("Lý do rút lại (bắt buộc; cơ quan chủ quản sẽ thấy)", "Why you withdraw (needed; the owner sees it)")), reason);
      }
      for (const a of actions) {
        const b = h("button", { type: "button", class: "action-" + a, "data-action": a }, ...bi(...ACTION[a].label));
        b.addEventListener("click", () => act(i, a, reason, form, result));
        form.append(b);
      }
      li.append(form);
    }
    li.append(result);
    return li;
  }

  async function act(i, a, reason, form, result) {
    const spec = ACTION[a];
    const why = reason ? reason.value.trim() : "";
    if (spec.reason && !why) {
      reason.setAttribute("aria-invalid", "true");
      reason.focus();
      return show(result, false, ...bi("Cần nêu lý do; bên kia sẽ thấy lý do này.", "Give a reason; the other party sees it."));
    }
    const buttons = form.querySelectorAll("button");
    buttons.forEach((b) => (b.disabled = true));
    try {
      await authed("POST", "/access/" + i.kind + "/" + i.id + "/" + (spec.as || a), why ? { reason: why } : undefined);
      el.listsStatus.textContent = (i.kind === "agreements" ? "Thỏa thuận số " : "Yêu cầu số ") + i.id + ": " + spec.done;
      await loadLists();
    } catch (err) {
      show(result, false, errText(err));
      buttons.forEach((b) => (b.disabled = false));
    }
  }

  el.reload.addEventListener("click", loadLists);
  el.pending.addEventListener("change", loadLists);

  // A key from earlier in this tab is used again once the catalogue has names to show.
  metadata
    .catch((err) => show(el.entryInfo, false, ...bi("Không tải được danh mục:", "cannot load the catalogue:"), " ", errText(err)))
    .then(() => {
      if (sessionStorage.getItem(STORE)) signIn();
    });
})();
