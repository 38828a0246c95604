package web_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/haiduong/hub/access"
	"github.com/haiduong/hub/internal/testdb"
	"github.com/haiduong/hub/layers"
	"github.com/haiduong/hub/sample"
	"github.com/haiduong/hub/server"
	"github.com/haiduong/hub/web"
)

// accessDriver walks the access page in Chromium for TestAccessPageInChromium and prints what
// it saw as JSON; the Go test makes the assertions. It runs from testdata (where
// playwright-core is installed) with its inputs in the environment.
const accessDriver = `
import { chromium } from "playwright-core";

const env = process.env;
const base = env.HUB_BASE, entry = env.HUB_ENTRY;
const out = { consoleErrors: [], requests: [], steps: [] };
const step = (s) => out.steps.push(s);
const browser = await chromium.launch({
  executablePath: env.HUB_CHROMIUM || "/usr/bin/chromium",
  // Playwright adds --headless, --no-sandbox and a temporary profile of its own.
  args: ["--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
  timeout: 20000,
});
try {
  const page = await browser.newPage();
  page.setDefaultTimeout(20000);
  page.on("console", (m) => { if (m.type() === "error") out.consoleErrors.push(m.text() + " @ " + (m.location().url || "")); });
  page.on("pageerror", (e) => out.consoleErrors.push("page error: " + e.message));
  page.on("request", (r) => out.requests.push({ url: r.url(), method: r.method(), auth: r.headers()["authorization"] || "" }));
  const text = (sel) => page.textContent(sel);
  const signIn = async (key, agency) => {
    await page.fill("#key", key);
    await page.click("#key-form button[type=submit]");
    await page.waitForSelector("#whoami-text[data-agency=\"" + agency + "\"]");
  };
  const forget = async () => {
    await page.click("#key-forget");
    await page.waitForSelector("#signed-in", { state: "hidden" });
  };

  step("open the page");
  await page.goto(base + "/portal/access", { waitUntil: "load" });
  await page.waitForSelector("#f-entry option[value=\"" + entry + "\"]", { state: "attached" });
  out.navLink = await page.locator("header nav a[href=\"/portal/access\"]").count();
  out.entryOption = await text("#f-entry option[value=\"" + entry + "\"]");

  step("a wrong key");
  await page.fill("#key", env.HUB_WRONG_KEY);
  await page.click("#key-form button[type=submit]");
  await page.waitForSelector("#whoami .error");
  out.badKey = await text("#whoami");
  out.badKeyKept = await page.evaluate(() => sessionStorage.length);

  step("the consumer pastes its key");
  await signIn(env.HUB_CONSUMER_KEY, env.HUB_CONSUMER);
  out.consumerWho = await text("#whoami");
  out.keyInputAfter = await page.inputValue("#key");
  out.pageURL = page.url();
  out.storage = await page.evaluate((k) => ({ session: sessionStorage.getItem("hub.accessKey") === k, local: localStorage.length }), env.HUB_CONSUMER_KEY);
  out.appPrefilled = await page.inputValue("#f-app");

  step("choose the entry");
  await page.selectOption("#f-entry", entry);
  await page.waitForSelector("#f-field-list input.field");
  out.entryInfo = await text("#f-entry-info");
  out.fields = await page.$$eval("#f-field-list input.field", (bs) => bs.map((b) => ({ name: b.value, disabled: b.disabled, personal: b.dataset.personal === "true" })));
  out.agreementDisabled = await page.isDisabled("#f-agreement");

  step("file with an unknown application");
  await page.fill("#f-app", "khong-co-ung-dung");
  await page.fill("#f-purpose", env.HUB_PURPOSE);
  await page.check("#f-field-list input.field[value=tax_code]");
  await page.check("#f-field-list input.field[value=name]");
  await page.selectOption("#f-frequency", "daily");
  await page.click("#f-submit");
  await page.waitForSelector("#file-result .error");
  out.fileError = await text("#file-result");

  step("file the request");
  await page.fill("#f-app", env.HUB_APP);
  await page.click("#f-submit");
  await page.waitForSelector("#file-result .ok");
  out.fileOK = await text("#file-result");
  const mine = await page.waitForSelector("#mine-list li[data-kind=requests]");
  out.requestID = await mine.getAttribute("data-id");
  out.mineStatus = await mine.getAttribute("data-status");
  out.mineText = await mine.textContent();

  step("propose an agreement for specific data");
  await page.selectOption("#f-entry", "ho-tich");
  await page.waitForSelector("#f-field-list input.field[value=child_name]");
  out.agreementOffered = !(await page.isDisabled("#f-agreement")) && !(await page.isChecked("#f-agreement"));
  out.personalForRequest = !(await page.isDisabled("#f-field-list input.field[value=child_name]"));
  await page.check("#f-agreement");
  out.personalForAgreement = !(await page.isDisabled("#f-field-list input.field[value=child_name]"));
  out.frequencyHidden = !(await page.isVisible("#f-frequency"));
  for (const f of ["registration_no", "child_name", "birth_date"]) await page.check("#f-field-list input.field[value=" + f + "]");
  await page.fill("#f-purpose", "Xác minh khai sinh khi giải quyết thủ tục hành chính");
  await page.check("#f-unmask");
  await page.selectOption("#f-row-field", "commune_code");
  await page.fill("#f-row-values", " 10507\n\n10510 ");
  await page.fill("#f-starts", env.HUB_STARTS);
  await page.fill("#f-ends", env.HUB_ENDS);
  await page.fill("#f-retention", "Lưu 30 ngày, sau đó xóa vĩnh viễn và lập biên bản");
  await page.click("#f-submit");
  await page.waitForSelector("#file-result .ok");
  out.agreementOK = await text("#file-result");
  const ag = await page.waitForSelector("#mine-list li[data-kind=agreements]");
  out.agreementText = await ag.textContent();

  step("the owner opens its queue");
  await forget();
  out.storageAfterForget = await page.evaluate(() => sessionStorage.length);
  await signIn(env.HUB_OWNER_KEY, env.HUB_OWNER);
  out.formAfterSwitch = (await page.inputValue("#f-purpose")) + (await page.inputValue("#f-entry")) + (await page.inputValue("#f-app"));
  const item = "#queue-list li[data-kind=requests][data-id=\"" + out.requestID + "\"]";
  await page.waitForSelector(item);
  out.queueText = await text(item);
  out.queueBold = await page.locator(item + " b").count();
  out.queueButtons = await page.$$eval(item + " button", (bs) => bs.map((b) => b.dataset.action));

  step("refuse without a reason");
  await page.click(item + " button[data-action=refuse]");
  await page.waitForSelector(item + " .result .error");
  out.refuseError = await text(item + " .result");

  step("approve");
  await page.click(item + " button[data-action=approve]");
  await page.waitForSelector(item + "[data-status=approved]");
  out.listsStatus = await text("#lists-status");

  step("the consumer sees it approved");
  await forget();
  await signIn(env.HUB_CONSUMER_KEY, env.HUB_CONSUMER);
  const approved = "#mine-list li[data-kind=requests][data-id=\"" + out.requestID + "\"][data-status=approved]";
  await page.waitForSelector(approved);
  out.approvedStatus = await text(approved + " .status");
  out.approvedButtons = await page.$$eval(approved + " button", (bs) => bs.map((b) => b.dataset.action));

  step("reload: the tab keeps the key");
  await page.reload({ waitUntil: "load" });
  await page.waitForSelector("#whoami-text[data-agency=\"" + env.HUB_CONSUMER + "\"]");
  await page.waitForSelector(approved);

  // Every form control has a label and every button a text.
  out.unlabelled = await page.$$eval("input:not([type=hidden]), select, textarea",
    (cs) => cs.filter((c) => !c.labels || c.labels.length === 0).map((c) => c.id || c.outerHTML));
  out.mute = await page.$$eval("button", (bs) => bs.filter((b) => !b.textContent.trim()).map((b) => b.outerHTML));
  step("done");
} catch (e) {
  out.error = String(e && e.stack || e);
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(out));
`

// accessResult is what accessDriver reports.
type accessResult struct {
	ConsoleErrors []string
	Requests      []struct{ URL, Method, Auth string }
	Steps         []string
	Error         string

	BadKey     string
	BadKeyKept int

	NavLink                             int
	EntryOption                         string
	ConsumerWho, KeyInputAfter, PageURL string
	Storage                             struct {
		Session bool
		Local   int
	}
	AppPrefilled string
	EntryInfo    string
	Fields       []struct {
		Name               string
		Disabled, Personal bool
	}
	AgreementDisabled bool
	FileError, FileOK string
	RequestID         string
	MineStatus        string
	MineText          string

	AgreementOffered, PersonalForRequest, PersonalForAgreement, FrequencyHidden bool
	AgreementOK, AgreementText                                                  string

	StorageAfterForget int
	FormAfterSwitch    string
	QueueText          string
	QueueBold          int
	QueueButtons       []string
	RefuseError        string
	ListsStatus        string

	ApprovedStatus  string
	ApprovedButtons []string
	Unlabelled      []string
	Mute            []string
}

// TestAccessPageInChromium walks Decree 47/2020's request life cycle through the portal in
// headless Chromium against the real hub: a commune pastes its API key and files a request for
// a "default" entry (a wrong application first: the server's answer is shown as it is), the
// entry's owner approves it from its queue, and the commune then sees it approved. The key
// must travel only in the Authorization header of the access API, and server text must never
// become markup.
func TestAccessPageInChromium(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node not found: %v; %s", err, installHint)
	}
	if _, err := os.Stat("testdata/node_modules/playwright-core/package.json"); err != nil {
		t.Fatalf("%v; %s", err, installHint)
	}
	chromium := "/usr/bin/chromium"
	if _, err := os.Stat(chromium); err != nil {
		t.Fatalf("%v; %s", err, installHint)
	}

	ctx := context.Background()
	pool := testdb.Pool(t)
	opt := sample.Options{Parcels: 2000, Seed: 1} // what the map test loads: built once per package database
	if loaded, err := sample.Loaded(ctx, pool, opt); err != nil {
		t.Fatal(err)
	} else if !loaded {
		if err := sample.Build(ctx, pool, opt); err != nil {
			t.Fatal(err)
		}
	}
	reg, err := layers.Load(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(server.New(pool, reg, server.Config{Version: "test"}))
	defer srv.Close()

	// A commune with an application and a key; the owner of the business register with a key.
	// The suffix keeps a rerun (-count) from colliding with the agencies of the last run.
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	const entry = "dang-ky-doanh-nghiep" // default sharing; the enterprises collection has a personal field
	suffix := strconv.FormatInt(time.Now().UnixNano()%1_000_000_000, 36)
	consumer, app := "ubnd-xa-thanh-mien-"+suffix, "mot-cua-thanh-mien-"+suffix
	must(access.AddAgency(ctx, pool, consumer, "UBND xã Thanh Miện "+suffix, "Thanh Mien commune"))
	must(access.AddApplication(ctx, pool, app, consumer, "Một cửa điện tử xã Thanh Miện"))
	_, consumerKey, err := access.CreateKey(ctx, pool, access.NewKey{Agency: consumer, Application: app, Label: "portal test"})
	must(err)
	var owner string
	must(pool.QueryRow(ctx, `SELECT owner_id FROM catalog_entries WHERE id = $1`, entry).Scan(&owner))
	_, ownerKey, err := access.CreateKey(ctx, pool, access.NewKey{Agency: owner, Label: "portal test"})
	must(err)
	const purpose = "Tra cứu doanh nghiệp khi cấp phép <b>một cửa</b>"
	const wrongKey = "hub_aaaaaaaa_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" // well formed, never issued
	starts, ends := time.Now().Format(time.DateOnly), time.Now().AddDate(1, 0, 0).Format(time.DateOnly)

	bctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(bctx, node, "--input-type=module")
	cmd.Dir = "testdata" // where playwright-core is resolved from
	cmd.Stdin = strings.NewReader(accessDriver)
	cmd.Env = append(os.Environ(), "HUB_CHROMIUM="+chromium, "HUB_BASE="+srv.URL, "HUB_ENTRY="+entry,
		"HUB_CONSUMER="+consumer, "HUB_CONSUMER_KEY="+consumerKey, "HUB_APP="+app,
		"HUB_OWNER="+owner, "HUB_OWNER_KEY="+ownerKey, "HUB_PURPOSE="+purpose, "HUB_STARTS="+starts, "HUB_ENDS="+ends, "HUB_WRONG_KEY="+wrongKey)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	raw, err := cmd.Output()
	if err != nil {
		t.Fatalf("access driver: %v\n%s\n%s", err, stderr.String(), raw)
	}
	var res accessResult
	if err := json.Unmarshal(raw, &res); err != nil {
		t.Fatalf("access driver output: %v: %s", err, raw)
	}
	if res.Error != "" {
		t.Fatalf("in the browser, after %v: %s\nconsole errors: %q", res.Steps, res.Error, res.ConsoleErrors)
	}
	// Chromium logs every error status as a console error: the two refusals asked for on
	// purpose (the wrong key, the unknown application) are expected, anything else (a script
	// error, a request the page's policy blocked) is not.
	for _, refusal := range []string{"401 (Unauthorized) @ " + srv.URL + "/access/grants", "400 (Bad Request) @ " + srv.URL + "/access/requests"} {
		if i := slices.Index(res.ConsoleErrors, "Failed to load resource: the server responded with a status of "+refusal); i >= 0 {
			res.ConsoleErrors = slices.Delete(res.ConsoleErrors, i, i+1)
		}
	}
	if len(res.ConsoleErrors) > 0 {
		t.Errorf("console errors:\n%s", strings.Join(res.ConsoleErrors, "\n"))
	}

	// The page is in the portal's navigation; the entry list shows the categories.
	if res.NavLink != 1 {
		t.Errorf("the header links /portal/access %d times", res.NavLink)
	}
	if !strings.Contains(res.EntryOption, "Cơ sở dữ liệu về đăng ký doanh nghiệp") || !strings.Contains(res.EntryOption, "Chia sẻ mặc định") {
		t.Errorf("entry option %q: want its name and category", res.EntryOption)
	}

	// A wrong key is refused with the server's reason and not kept.
	if !strings.Contains(res.BadKey, "Khóa bị từ chối") || !strings.Contains(res.BadKey, "unknown API key") || res.BadKeyKept != 0 {
		t.Errorf("a wrong key: the page says %q and keeps %d items in sessionStorage", res.BadKey, res.BadKeyKept)
	}

	// The key is taken, kept in the tab only, and named back with the agency.
	if !strings.Contains(res.ConsumerWho, consumer) || !strings.Contains(res.ConsumerWho, app) {
		t.Errorf("after pasting the key the page says %q; want the agency %s and application %s", res.ConsumerWho, consumer, app)
	}
	if res.KeyInputAfter != "" || !res.Storage.Session || res.Storage.Local != 0 || strings.Contains(res.PageURL, "hub_") {
		t.Errorf("key handling: input %q, in sessionStorage %v, localStorage items %d, URL %s", res.KeyInputAfter, res.Storage.Session, res.Storage.Local, res.PageURL)
	}
	if res.AppPrefilled != app {
		t.Errorf("application prefilled %q, want the key's %s", res.AppPrefilled, app)
	}
	if res.StorageAfterForget != 0 || res.FormAfterSwitch != "" {
		t.Errorf("after forgetting the key: %d items in sessionStorage, the next agency's form holds %q",
			res.StorageAfterForget, res.FormAfterSwitch)
	}
	keys := []string{consumerKey, ownerKey, wrongKey}
	if !slices.ContainsFunc(res.Requests, func(r struct{ URL, Method, Auth string }) bool { return r.Auth != "" }) {
		t.Error("no request carried the key in its Authorization header")
	}
	for _, r := range res.Requests {
		if !strings.HasPrefix(r.URL, srv.URL+"/") {
			t.Errorf("the page called another origin: %s %s", r.Method, r.URL)
		}
		if slices.ContainsFunc(keys, func(k string) bool { return strings.Contains(r.URL, k) }) {
			t.Errorf("a key is in the URL %s", r.URL)
		}
		if r.Auth != "" && !strings.HasPrefix(r.URL, srv.URL+"/access/") {
			t.Errorf("the key was sent to %s, which needs none", r.URL)
		}
		if r.Auth != "" && !slices.Contains(keys, strings.TrimPrefix(r.Auth, "Bearer ")) {
			t.Errorf("Authorization %q on %s", r.Auth, r.URL)
		}
	}

	// Fields: the personal one is offered only for an agreement; this entry has none.
	var sawPersonal, sawTaxCode bool
	for _, f := range res.Fields {
		switch {
		case f.Personal:
			sawPersonal = true
			if !f.Disabled {
				t.Errorf("personal field %s is offered for a request", f.Name)
			}
		case f.Name == "tax_code":
			sawTaxCode = !f.Disabled
		}
	}
	if !sawPersonal || !sawTaxCode {
		t.Errorf("fields %+v: want tax_code offered and the personal legal_representative shown but not offered", res.Fields)
	}
	// The entry is shared by default but holds personal data: an agreement is offered for it.
	if res.AgreementDisabled {
		t.Error("no agreement is offered for an entry shared by default that holds personal data")
	}
	if !strings.Contains(res.EntryInfo, "Chia sẻ mặc định") {
		t.Errorf("entry info %q lacks the category", res.EntryInfo)
	}

	// The server's refusal is shown as it said it; then the request goes through.
	if !strings.Contains(res.FileError, `has no application "khong-co-ung-dung"`) {
		t.Errorf("the refusal shown: %q", res.FileError)
	}
	if !strings.Contains(res.FileOK, "Đã gửi yêu cầu số "+res.RequestID) || res.MineStatus != "submitted" || !strings.Contains(res.MineText, "Chờ phê duyệt") {
		t.Errorf("after filing: %q; my list: %s %q", res.FileOK, res.MineStatus, res.MineText)
	}

	// The owner's queue shows the request, its purpose as text (not markup), and decides.
	if !strings.Contains(res.QueueText, purpose) || !strings.Contains(res.QueueText, consumer) || res.QueueBold != 0 {
		t.Errorf("queue item (%d <b> elements): %q", res.QueueBold, res.QueueText)
	}
	if !slices.Equal(res.QueueButtons, []string{"approve", "refuse"}) {
		t.Errorf("queue buttons %v", res.QueueButtons)
	}
	if !strings.Contains(res.RefuseError, "Cần nêu lý do") {
		t.Errorf("refusing without a reason says %q", res.RefuseError)
	}
	if !strings.Contains(res.ListsStatus, "Đã phê duyệt") {
		t.Errorf("after approving: %q", res.ListsStatus)
	}
	if !strings.Contains(res.ApprovedStatus, "Đã phê duyệt") || !slices.Equal(res.ApprovedButtons, []string{"withdraw"}) {
		t.Errorf("the consumer's approved request: %q, buttons %v", res.ApprovedStatus, res.ApprovedButtons)
	}
	if len(res.Unlabelled) > 0 || len(res.Mute) > 0 {
		t.Errorf("controls without a label %q, buttons without text %q", res.Unlabelled, res.Mute)
	}

	// An agreement for the civil register (default and specific): offered, not chosen for the
	// entry; its personal fields only once it is; filed with every Art. 38 item.
	if !res.AgreementOffered || res.PersonalForRequest || !res.PersonalForAgreement || !res.FrequencyHidden {
		t.Errorf("agreement form: offered %v, personal field for a request %v, for an agreement %v, frequency hidden %v",
			res.AgreementOffered, res.PersonalForRequest, res.PersonalForAgreement, res.FrequencyHidden)
	}
	if !strings.Contains(res.AgreementOK, "Đã gửi đề nghị thỏa thuận số") || !strings.Contains(res.AgreementText, "commune_code ∈ {10507, 10510}") ||
		!strings.Contains(res.AgreementText, starts+" → "+ends) {
		t.Errorf("after proposing the agreement: %q; my list: %q", res.AgreementOK, res.AgreementText)
	}
	var agFields []string
	var unmask bool
	var rows, agStarts, agEnds, retention, agStatus string
	must(pool.QueryRow(ctx, `SELECT fields, unmask_personal, row_filter::text, starts_on::text, ends_on::text, retention, status
FROM agreements WHERE agency_id = $1`, consumer).Scan(&agFields, &unmask, &rows, &agStarts, &agEnds, &retention, &agStatus))
	if !slices.Equal(agFields, []string{"registration_no", "child_name", "birth_date"}) || !unmask || rows != `{"commune_code": ["10507", "10510"]}` ||
		agStarts != starts || agEnds != ends || !strings.HasPrefix(retention, "Lưu 30 ngày") || agStatus != access.Submitted {
		t.Errorf("agreement in the database: fields %v, unmask %v, rows %s, %s to %s, retention %q, %s", agFields, unmask, rows, agStarts, agEnds, retention, agStatus)
	}

	// The database holds exactly the one request, approved by the owner.
	var n int
	var id int64
	var status, decidedBy, gotPurpose, frequency, gotApp string
	var fields []string
	must(pool.QueryRow(ctx, `SELECT count(*) OVER (), id, status, COALESCE(decided_by, ''), purpose, frequency, fields, application_id
FROM access_requests WHERE agency_id = $1`, consumer).Scan(&n, &id, &status, &decidedBy, &gotPurpose, &frequency, &fields, &gotApp))
	if n != 1 || strconv.FormatInt(id, 10) != res.RequestID || status != access.Approved || decidedBy != "agency:"+owner ||
		gotPurpose != purpose || frequency != "daily" || gotApp != app || !slices.Equal(fields, []string{"tax_code", "name"}) {
		t.Errorf("in the database: %d requests; #%d %s by %q, purpose %q, frequency %q, application %s, fields %v",
			n, id, status, decidedBy, gotPurpose, frequency, gotApp, fields)
	}
}

// TestAccessPageFormats: the page is HTML by default with a policy that keeps scripts and
// calls on the hub, its links as JSON on ?f=json, and any other parameter is refused.
func TestAccessPageFormats(t *testing.T) {
	h := web.HandleAccess()
	for _, c := range []struct {
		url, accept string
		status      int
		ctype       string
	}{
		{"/portal/access", "*/*", 200, "text/html"},
		{"/portal/access?f=html", "application/json", 200, "text/html"},
		{"/portal/access?f=json", "text/html", 200, "application/json"},
		{"/portal/access?f=xml", "", 400, "application/json"},
		{"/portal/access?key=hub_x", "", 400, "application/json"},
	} {
		req := httptest.NewRequest("GET", c.url, nil)
		req.Header.Set("Accept", c.accept)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != c.status || !strings.HasPrefix(rec.Header().Get("Content-Type"), c.ctype) {
			t.Errorf("%s (Accept %s): %d %s, want %d %s", c.url, c.accept, rec.Code, rec.Header().Get("Content-Type"), c.status, c.ctype)
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/portal/access", nil))
	if csp := rec.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "connect-src 'self'") || !strings.Contains(csp, "default-src 'self'") {
		t.Errorf("Content-Security-Policy %q", csp)
	}
	for _, want := range []string{`<label for="key">`, `id="key" type="password"`, `id="f-entry"`, `id="mine-list"`, `id="queue-list"`, `/static/access.js`} {
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("the access page lacks %s", want)
		}
	}
	if strings.Contains(rec.Body.String(), `name="key"`) {
		t.Error("the key input has a name: a form submitted without the script would send it")
	}
}
