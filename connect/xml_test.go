package connect

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/unicode/norm"

	"github.com/haiduong/hub/ingest"
)

// xmlEnterprise is one enterprise of the fake LGSP service.
type xmlEnterprise struct {
	mst, ten, soNha, maXa, ngay, loai string
	daXoa                             bool
}

var xmlEnterprises = []xmlEnterprise{
	{"0800100001", "Công ty TNHH Hải Dương Xanh", "12 Trần Hưng Đạo", "10507", "2024-03-01T08:00:00", "TNHH", false},
	{"0800100002", "Công ty Cổ phần Gốm sứ Chu Đậu", "Thôn Chu Đậu", "10969", "2024-03-02T09:30:00", "CP", false},
	{"0800100003", "Hợp tác xã Vải thiều Thanh Hà", "Xã Thanh Hà", "10801", "2024-03-05T10:00:00", "HTX", false},
	{"0800100004", "Doanh nghiệp tư nhân Bánh đậu xanh Nguyên Hương", "Phố Nguyễn Du", "10510", "2024-02-28T07:15:00", "DNTN", false},
	{"0800100005", "Công ty TNHH Cơ khí Đông Á", "KCN Đại An", "10675", "2024-03-04T16:45:00", "TNHH", true},
	{"0800100006", "Công ty Cổ phần Xi măng Phúc Sơn", "Xã Phúc Sơn", "11002", "2024-03-03T11:11:11", "CP", false},
	{"0800100007", "Chi nhánh Ngân hàng Ưu đãi", "Đường Thanh Niên", "10513", "2024-03-10T00:00:00", "CN", false},
}

const (
	xmlAction = "http://lgsp.haiduong.gov.vn/LayDanhSachDoanhNghiep"
	xmlSecret = `k3y&<"'>`
	xmlReq    = `<tns:LayDanhSachDoanhNghiep xmlns:tns="http://lgsp.haiduong.gov.vn/">` +
		`<tns:Token>{{token}}</tns:Token><tns:TuNgay>{{cursor}}</tns:TuNgay>` +
		`<tns:Trang>{{page}}</tns:Trang><tns:SoBanGhi>{{page_size}}</tns:SoBanGhi></tns:LayDanhSachDoanhNghiep>`
)

// lgsp is a fake SOAP 1.1 service LayDanhSachDoanhNghiep, paged by page number.
type lgsp struct {
	t         *testing.T
	mu        sync.Mutex
	bodies    []string // the request bodies, in order
	pages     []int
	cursors   []string
	fault     int  // the page answered with a SOAP Fault
	faultCode int  // its HTTP status
	broken    int  // the page answered with malformed XML
	noTotal   bool // leave TongSo out
}

type lgspRequest struct {
	Body struct {
		Req struct {
			Token    string `xml:"Token"`
			TuNgay   string `xml:"TuNgay"`
			Trang    int    `xml:"Trang"`
			SoBanGhi int    `xml:"SoBanGhi"`
		} `xml:"LayDanhSachDoanhNghiep"`
	} `xml:"Body"`
}

func (s *lgsp) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	t := s.t
	if r.Method != http.MethodPost {
		t.Errorf("method %s, want POST", r.Method)
	}
	if got := r.Header.Get("SOAPAction"); got != `"`+xmlAction+`"` {
		t.Errorf("SOAPAction %s", got)
	}
	if got := r.Header.Get("Content-Type"); got != "text/xml; charset=utf-8" {
		t.Errorf("Content-Type %s", got)
	}
	if got := r.Header.Get("X-Agency"); got != "so-khdt" {
		t.Errorf("X-Agency header %q", got)
	}
	raw, _ := io.ReadAll(r.Body)
	var req lgspRequest
	if err := xml.Unmarshal(raw, &req); err != nil {
		t.Errorf("posted body is not XML: %v\n%s", err, raw)
	}
	q := req.Body.Req
	if q.Token != xmlSecret {
		t.Errorf("token %q, want %q", q.Token, xmlSecret)
	}
	s.mu.Lock()
	s.bodies = append(s.bodies, string(raw))
	s.pages = append(s.pages, q.Trang)
	s.cursors = append(s.cursors, q.TuNgay)
	s.mu.Unlock()

	if q.Trang == s.fault {
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		w.WriteHeader(s.faultCode)
		fmt.Fprint(w, `<?xml version="1.0" encoding="utf-8"?>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><soap:Fault>
<faultcode>soap:Client</faultcode><faultstring>Mã xác thực không hợp lệ</faultstring>
<detail><MaLoi>AUTH-401</MaLoi></detail></soap:Fault></soap:Body></soap:Envelope>`)
		return
	}
	var list []xmlEnterprise
	for _, e := range xmlEnterprises {
		if e.ngay > q.TuNgay {
			list = append(list, e)
		}
	}
	total := len(list)
	from := (q.Trang - 1) * q.SoBanGhi
	list = list[min(from, len(list)):min(from+q.SoBanGhi, len(list))]

	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <soap:Body>
    <ns2:LayDanhSachDoanhNghiepResponse xmlns:ns2="http://lgsp.haiduong.gov.vn/">
`)
	if !s.noTotal {
		fmt.Fprintf(&b, "      <ns2:TongSo>%d</ns2:TongSo>\n", total)
	}
	b.WriteString("      <ns2:DanhSach>\n")
	for _, e := range list {
		fmt.Fprintf(&b, `        <ns2:DoanhNghiep loai="%s">
          <ns2:MaSoThue>%s</ns2:MaSoThue>
          <ns2:TenDoanhNghiep>%s</ns2:TenDoanhNghiep>
          <ns2:DiaChi ma="30">
            <ns2:SoNha>%s</ns2:SoNha>
            <ns2:MaXa>%s</ns2:MaXa>
          </ns2:DiaChi>
          <ns2:Fax xsi:nil="true"/>
          <ns2:NgayCapNhat>%s</ns2:NgayCapNhat>
          <ns2:DaXoa>%v</ns2:DaXoa>
        </ns2:DoanhNghiep>
`, e.loai, e.mst, xmlEscape(e.ten), xmlEscape(e.soNha), e.maXa, e.ngay, e.daXoa)
		if q.Trang == s.broken {
			b.WriteString("        <ns2:DoanhNghiep><ns2:MaSoThue>0800199999</ns2:TenDoanhNghiep></ns2:DoanhNghiep>\n")
		}
	}
	b.WriteString("      </ns2:DanhSach>\n    </ns2:LayDanhSachDoanhNghiepResponse>\n  </soap:Body>\n</soap:Envelope>\n")
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	io.WriteString(w, b.String())
}

func lgspConfig(url string) Config {
	return Config{
		Endpoint: url + "/lgsp/DoanhNghiepService.asmx",
		Options: map[string]string{
			"soap_action": xmlAction,
			"request":     xmlReq,
			"record":      "Envelope/Body/LayDanhSachDoanhNghiepResponse/DanhSach/DoanhNghiep",
			"paging":      "page",
			"page_size":   "3",
		},
		Headers: map[string]string{"X-Agency": "so-khdt"},
		Secret:  xmlSecret,
		Detect:  Hash,
		Key:     "MaSoThue",
		Mapping: map[string]string{
			"ma_so_thue": "MaSoThue",
			"ten":        "ns2:TenDoanhNghiep",
			"so_nha":     "DiaChi/SoNha",
			"ma_xa":      "DiaChi/MaXa",
			"ma_tinh":    "DiaChi/@ma",
			"loai":       "@loai",
			"fax":        "Fax",
			"ngay":       "NgayCapNhat",
		},
	}
}

// xmlRead opens and reads a source, the features' properties decoded.
func xmlRead(t *testing.T, cfg Config) (*Fetch, []ingest.Feature, []map[string]any, error) {
	t.Helper()
	c, err := Get("xml")
	if err != nil {
		t.Fatal(err)
	}
	f, err := c.Open(context.Background(), cfg)
	if err != nil {
		return nil, nil, nil, err
	}
	var feats []ingest.Feature
	var mu sync.Mutex
	err = f.Read(context.Background(), func(b []ingest.Feature) error {
		mu.Lock()
		defer mu.Unlock()
		feats = append(feats, b...)
		return nil
	})
	var props []map[string]any
	for _, ft := range feats {
		var m map[string]any
		if err := json.Unmarshal(ft.Props, &m); err != nil {
			t.Fatalf("props %s: %v", ft.Props, err)
		}
		props = append(props, m)
	}
	return f, feats, props, err
}

func TestXMLSOAPPages(t *testing.T) {
	svc := &lgsp{t: t, noTotal: true}
	srv := httptest.NewServer(svc)
	defer srv.Close()

	f, feats, props, err := xmlRead(t, lgspConfig(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	if !f.Complete || f.Cursor != "" || len(f.Deleted) != 0 {
		t.Errorf("Complete %v Cursor %q Deleted %v", f.Complete, f.Cursor, f.Deleted)
	}
	// Pages 1 to 3 hold the records; page 4 is empty and ends the run.
	if fmt.Sprint(svc.pages) != "[1 2 3 4]" {
		t.Errorf("pages requested %v", svc.pages)
	}
	for i, body := range svc.bodies {
		for _, want := range []string{
			"<soap:Envelope", "<soap:Body><tns:LayDanhSachDoanhNghiep",
			fmt.Sprintf("<tns:Trang>%d</tns:Trang>", i+1), "<tns:SoBanGhi>3</tns:SoBanGhi>",
			"<tns:TuNgay></tns:TuNgay>", "<tns:Token>k3y&amp;&lt;&#34;&#39;&gt;</tns:Token>",
		} {
			if !strings.Contains(body, want) {
				t.Errorf("request %d lacks %s:\n%s", i+1, want, body)
			}
		}
	}
	if len(feats) != len(xmlEnterprises) {
		t.Fatalf("%d records, want %d", len(feats), len(xmlEnterprises))
	}
	seen := map[string]bool{}
	for i, p := range props {
		mst, _ := p["ma_so_thue"].(string)
		if seen[mst] {
			t.Errorf("record %s read twice", mst)
		}
		seen[mst] = true
		if feats[i].WKB != nil || feats[i].Problem != "" {
			t.Errorf("record %s: geometry %x problem %q", mst, feats[i].WKB, feats[i].Problem)
		}
		if _, ok := p["fax"]; ok {
			t.Errorf("record %s: xsi:nil Fax gave %v", mst, p["fax"])
		}
	}
	for _, e := range xmlEnterprises {
		if !seen[e.mst] {
			t.Errorf("record %s missing", e.mst)
		}
	}
	want := map[string]any{
		"ma_so_thue": "0800100002", "ten": "Công ty Cổ phần Gốm sứ Chu Đậu", "so_nha": "Thôn Chu Đậu",
		"ma_xa": "10969", "ma_tinh": "30", "loai": "CP", "ngay": "2024-03-02T09:30:00",
	}
	if got, _ := json.Marshal(props[1]); string(got) != string(xmlMust(json.Marshal(want))) {
		t.Errorf("record 2:\n got %s\nwant %s", got, xmlMust(json.Marshal(want)))
	}
	keys := f.Keys()
	sort.Strings(keys)
	if fmt.Sprint(keys) != "[loai ma_so_thue ma_tinh ma_xa ngay so_nha ten]" {
		t.Errorf("keys %v", keys)
	}
	if f.Format() != "SOAP" || f.SRID() != 4326 {
		t.Errorf("format %s srid %d", f.Format(), f.SRID())
	}
}

func xmlMust(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

func TestXMLSOAPTotalPath(t *testing.T) {
	svc := &lgsp{t: t}
	srv := httptest.NewServer(svc)
	defer srv.Close()
	cfg := lgspConfig(srv.URL)
	cfg.Options["total_path"] = "//TongSo"
	_, feats, _, err := xmlRead(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(feats) != 7 || fmt.Sprint(svc.pages) != "[1 2 3]" {
		t.Errorf("%d records from pages %v; want 7 from [1 2 3] (the total says when to stop)", len(feats), svc.pages)
	}
}

func TestXMLSOAPWatermark(t *testing.T) {
	svc := &lgsp{t: t, noTotal: true}
	srv := httptest.NewServer(svc)
	defer srv.Close()
	cfg := lgspConfig(srv.URL)
	cfg.Detect = Watermark
	cfg.WatermarkField = "ngay" // a mapped field
	cfg.Tombstone = "DaXoa"     // a path in the record
	cfg.Cursor = "2024-03-02T09:30:00"

	f, _, props, err := xmlRead(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if f.Complete {
		t.Error("a watermark run is not complete")
	}
	for _, c := range svc.cursors {
		if c != cfg.Cursor {
			t.Errorf("{{cursor}} sent as %q, want %q", c, cfg.Cursor)
		}
	}
	var got []string
	for _, p := range props {
		got = append(got, p["ma_so_thue"].(string))
	}
	sort.Strings(got)
	if fmt.Sprint(got) != "[0800100003 0800100006 0800100007]" {
		t.Errorf("records after the cursor: %v", got)
	}
	if fmt.Sprint(f.Deleted) != "[0800100005]" {
		t.Errorf("deleted %v, want the tombstoned 0800100005", f.Deleted)
	}
	if f.Cursor != "2024-03-10T00:00:00" {
		t.Errorf("cursor %q, want the greatest NgayCapNhat", f.Cursor)
	}

	// The watermark as a path in the record, without a mapping: every child is a property.
	cfg.Mapping = nil
	cfg.WatermarkField = "NgayCapNhat"
	cfg.Tombstone = ""
	cfg.Cursor = "2024-03-05T10:00:00"
	f, _, props, err = xmlRead(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(props) != 1 || f.Cursor != "2024-03-10T00:00:00" {
		t.Fatalf("%d records, cursor %q", len(props), f.Cursor)
	}
	want := `{"DaXoa":"false","MaSoThue":"0800100007","NgayCapNhat":"2024-03-10T00:00:00","TenDoanhNghiep":"Chi nhánh Ngân hàng Ưu đãi","loai":"CN"}`
	if got := xmlMust(json.Marshal(props[0])); string(got) != want {
		t.Errorf("unmapped record:\n got %s\nwant %s", got, want)
	}
}

func TestXMLSOAPFault(t *testing.T) {
	for _, c := range []struct {
		page, status int
	}{{1, http.StatusInternalServerError}, {2, http.StatusOK}} {
		svc := &lgsp{t: t, noTotal: true, fault: c.page, faultCode: c.status}
		srv := httptest.NewServer(svc)
		_, _, _, err := xmlRead(t, lgspConfig(srv.URL))
		srv.Close()
		if err == nil {
			t.Fatalf("fault on page %d (HTTP %d): no error", c.page, c.status)
		}
		t.Log(err)
		for _, want := range []string{"SOAP Fault", "soap:Client", "Mã xác thực không hợp lệ", "AUTH-401", fmt.Sprintf("page %d", c.page)} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("fault on page %d (HTTP %d): %q lacks %q", c.page, c.status, err, want)
			}
		}
	}
}

func TestXMLMalformedPage(t *testing.T) {
	svc := &lgsp{t: t, noTotal: true, broken: 2}
	srv := httptest.NewServer(svc)
	defer srv.Close()
	_, _, _, err := xmlRead(t, lgspConfig(srv.URL))
	if err == nil {
		t.Fatal("malformed page 2: no error")
	}
	t.Log(err)
	for _, want := range []string{"page 2", "not well-formed XML", "line 17", "DoanhNghiepService.asmx"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q lacks %q", err, want)
		}
	}
	if fmt.Sprint(svc.pages) != "[1 2]" {
		t.Errorf("pages %v", svc.pages)
	}
}

func TestXMLHTTPStatus(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, "<html><body>Trục liên thông LGSP đang bảo trì"+strings.Repeat(" x", 300)+"</body></html>")
	}))
	defer srv.Close()
	cfg := lgspConfig(srv.URL)
	cfg.Secret = "s"
	_, _, _, err := xmlRead(t, cfg)
	if err == nil {
		t.Fatal("503: no error")
	}
	t.Log(err)
	for _, want := range []string{srv.URL + "/lgsp/DoanhNghiepService.asmx", "503", "LGSP đang bảo trì"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q lacks %q", err, want)
		}
	}
	if len(err.Error()) > 400 {
		t.Errorf("message too long (%d): %s", len(err.Error()), err)
	}
}

// xmlCP1258 spells Vietnamese as Windows-1258 does: â ă ê ô ơ ư đ precomposed, tone marks
// combining.
func xmlCP1258(s string) string {
	var b strings.Builder
	rs := []rune(norm.NFD.String(s))
	for i := 0; i < len(rs); {
		base, tones := []rune{rs[i]}, []rune(nil)
		for i++; i < len(rs) && rs[i] >= 0x300 && rs[i] <= 0x36f; i++ {
			switch rs[i] {
			case 0x302, 0x306, 0x31b:
				base = append(base, rs[i])
			default:
				tones = append(tones, rs[i])
			}
		}
		b.WriteString(norm.NFC.String(string(base)))
		b.WriteString(string(tones))
	}
	return b.String()
}

func TestXMLEncodings(t *testing.T) {
	const name = "Công ty Cổ phần Gốm sứ Chu Đậu – Hải Dương"
	doc := func(decl string) string {
		return decl + "<DanhSach><DoanhNghiep><Ma>1</Ma><Ten>" + name + "</Ten></DoanhNghiep></DanhSach>"
	}
	cp1258 := func(s string) []byte {
		b, err := charmap.Windows1258.NewEncoder().String(xmlCP1258(strings.ReplaceAll(s, "–", "-")))
		if err != nil {
			t.Fatal(err)
		}
		return []byte(b)
	}
	utf16 := func(e unicode.Endianness, bom unicode.BOMPolicy, s string) []byte {
		b, err := unicode.UTF16(e, bom).NewEncoder().String(s)
		if err != nil {
			t.Fatal(err)
		}
		return []byte(b)
	}
	cases := []struct {
		name, contentType string
		body              []byte
		want              string
	}{
		{"windows-1258 declared", "text/xml", cp1258(doc(`<?xml version="1.0" encoding="windows-1258"?>`)), strings.ReplaceAll(name, "–", "-")},
		{"windows-1258 in Content-Type", "text/xml; charset=windows-1258", cp1258(doc("")), strings.ReplaceAll(name, "–", "-")},
		{"UTF-16LE with BOM", "text/xml", utf16(unicode.LittleEndian, unicode.UseBOM, doc(`<?xml version="1.0" encoding="utf-16"?>`)), name},
		{"UTF-16BE with BOM", "application/xml", utf16(unicode.BigEndian, unicode.UseBOM, doc(`<?xml version="1.0" encoding="UTF-16"?>`)), name},
		{"UTF-16LE without BOM", "text/xml", utf16(unicode.LittleEndian, unicode.IgnoreBOM, doc(`<?xml version="1.0" encoding="utf-16"?>`)), name},
		{"UTF-8 declared UTF-16 (.NET StringWriter)", "text/xml; charset=utf-8", []byte(doc(`<?xml version="1.0" encoding="utf-16"?>`)), name},
		{"UTF-8 with BOM", "text/xml", append([]byte{0xEF, 0xBB, 0xBF}, doc(`<?xml version="1.0" encoding="utf-8"?>`)...), name},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", c.contentType)
				w.Write(c.body)
			}))
			defer srv.Close()
			_, _, props, err := xmlRead(t, Config{Endpoint: srv.URL, Options: map[string]string{"record": "DanhSach/DoanhNghiep"}})
			if err != nil {
				t.Fatal(err)
			}
			if len(props) != 1 || props[0]["Ten"] != c.want {
				t.Errorf("got %v, want Ten %q", props, c.want)
			}
		})
	}
}

func TestXMLPlainGET(t *testing.T) {
	var queries []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || r.ContentLength > 0 {
			t.Errorf("%s with %d bytes", r.Method, r.ContentLength)
		}
		queries = append(queries, r.URL.RawQuery)
		w.Header().Set("Content-Type", "application/xml")
		switch r.URL.Query().Get("trang") {
		case "0":
			io.WriteString(w, `<?xml version="1.0"?>
<ketQua xmlns="urn:hd:diem" xmlns:gml="http://www.opengis.net/gml">
  <tongSo>3</tongSo>
  <dulieu>
    <diem id="D1"><ten>Chợ Mới &amp; Bến xe</ten><toaDo><kinhDo>106.3146</kinhDo><viDo>20.9373</viDo></toaDo><ghiChu/></diem>
    <diem id="D2"><ten><![CDATA[Nhà văn hóa <thôn>]]></ten><toaDo><kinhDo>106,3302</kinhDo><viDo>20,9411</viDo></toaDo></diem>
  </dulieu>
</ketQua>`)
		case "1":
			io.WriteString(w, `<ketQua><dulieu><diem id="D3"><ten>Trạm y tế</ten><moTa><dong>không có tọa độ</dong></moTa></diem></dulieu></ketQua>`)
		default:
			io.WriteString(w, `<ketQua><dulieu/></ketQua>`)
		}
	}))
	defer srv.Close()
	cfg := Config{
		Endpoint: srv.URL + "/api/diem?trang={{page}}&so={{page_size}}&tu={{cursor}}",
		Options: map[string]string{
			"record": "//dulieu/diem", "paging": "page", "first_page": "0", "page_size": "2",
			"lon": "toaDo/kinhDo", "lat": "toaDo/viDo", "srid": "4756",
		},
		Cursor: "2024-01-01 00:00",
	}
	f, feats, props, err := xmlRead(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(queries) != "[trang=0&so=2&tu=2024-01-01+00%3A00 trang=1&so=2&tu=2024-01-01+00%3A00 trang=2&so=2&tu=2024-01-01+00%3A00]" {
		t.Errorf("queries %v", queries)
	}
	if len(feats) != 3 || f.SRID() != 4756 || f.Format() != "XML" {
		t.Fatalf("%d features, srid %d, format %s", len(feats), f.SRID(), f.Format())
	}
	if !bytes.Equal(feats[0].WKB, ingest.PointWKB(106.3146, 20.9373)) || !bytes.Equal(feats[1].WKB, ingest.PointWKB(106.3302, 20.9411)) {
		t.Errorf("points %x %x", feats[0].WKB, feats[1].WKB)
	}
	if feats[2].WKB != nil || feats[2].Problem != "" {
		t.Errorf("a record without coordinates: %x %q", feats[2].WKB, feats[2].Problem)
	}
	got := string(xmlMust(json.Marshal(props)))
	want := `[{"ghiChu":"","id":"D1","ten":"Chợ Mới \u0026 Bến xe"},{"id":"D2","ten":"Nhà văn hóa \u003cthôn\u003e"},{"id":"D3","ten":"Trạm y tế"}]`
	if got != want {
		t.Errorf("props\n got %s\nwant %s", got, want)
	}
}

func TestXMLOptionErrors(t *testing.T) {
	base := func() Config {
		return Config{Endpoint: "http://lgsp.example/svc", Detect: Hash, Options: map[string]string{"record": "//Item"}}
	}
	for _, c := range []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"no record", func(c *Config) { delete(c.Options, "record") }, "record is required"},
		{"feed", func(c *Config) { c.Detect = Feed }, "no change feed"},
		{"watermark without field", func(c *Config) { c.Detect = Watermark }, "watermark field"},
		{"paging without {{page}}", func(c *Config) { c.Options["paging"] = "page" }, "{{page}}"},
		{"paging unknown", func(c *Config) { c.Options["paging"] = "offset" }, "none or page"},
		{"soap without request", func(c *Config) { c.Options["soap_action"] = "urn:x" }, "needs the request"},
		{"GET with body", func(c *Config) { c.Options["request"] = "<x/>"; c.Options["method"] = "GET" }, "GET sends no body"},
		{"lon alone", func(c *Config) { c.Options["lon"] = "x" }, "both lon and lat"},
		{"attribute inside", func(c *Config) { c.Mapping = map[string]string{"a": "@x/y"} }, "can only end"},
		{"not http", func(c *Config) { c.Endpoint = "ftp://x/y" }, "http(s)"},
		{"tombstone without key", func(c *Config) { c.Tombstone = "DaXoa" }, "give the key field"},
	} {
		cfg := base()
		c.edit(&cfg)
		_, err := xmlConnector{}.Open(context.Background(), cfg)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error with %q", c.name, err, c.want)
		}
	}
}

func TestXMLRootMismatch(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `<Response><Items><Item><A>1</A></Item></Items></Response>`)
	}))
	defer srv.Close()
	_, _, _, err := xmlRead(t, Config{Endpoint: srv.URL, Options: map[string]string{"record": "Envelope/Body/Items/Item"}})
	if err == nil || !strings.Contains(err.Error(), "root element is <Response>") {
		t.Errorf("a record path from another root: %v", err)
	}
}

func TestXMLPageIgnored(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `<DanhSach><Item><Ma>1</Ma></Item><Item><Ma>2</Ma></Item></DanhSach>`)
	}))
	defer srv.Close()
	_, _, _, err := xmlRead(t, Config{Endpoint: srv.URL + "?p={{ page }}", Options: map[string]string{"record": "DanhSach/Item", "paging": "page"}})
	if err == nil || !strings.Contains(err.Error(), "page 2 holds the same records as page 1") {
		t.Errorf("a service that ignores the page: %v", err)
	}
	t.Log(err)
}

func TestXMLEndpointRedacted(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusForbidden)
	}))
	defer srv.Close()
	_, _, _, err := xmlRead(t, Config{
		Endpoint: strings.Replace(srv.URL, "http://", "http://u:pw123@", 1) + "/svc?apikey=abc123&token={{token}}",
		Secret:   "tok456",
		Options:  map[string]string{"record": "//Item"},
	})
	if err == nil || !strings.Contains(err.Error(), "403") {
		t.Fatalf("403: %v", err)
	}
	t.Log(err)
	for _, secret := range []string{"pw123", "abc123", "tok456"} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("%q shows %s", err, secret)
		}
	}
}

// A service that echoes the token in a SOAP Fault or in the body of an error: the error says
// xxxxx instead, whether the echo is the token as it is or as the request escaped it, and even
// where the message cuts the body.
func TestXMLSecretsScrubbed(t *testing.T) {
	const apiKey = "lgsp-api-k3y"
	var mode string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		sent := string(raw) // the token as the request wrote it: k3y&amp;&lt;&#34;&#39;&gt;
		if i, j := strings.Index(sent, "<tns:Token>"), strings.Index(sent, "</tns:Token>"); i >= 0 && j > i {
			sent = sent[i+len("<tns:Token>") : j]
		}
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		switch mode {
		case "fault":
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprintf(w, `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><soap:Fault>
<faultcode>soap:Client</faultcode><faultstring>Mã xác thực %s không hợp lệ</faultstring>
<detail><MaLoi>AUTH-401</MaLoi><Khoa>%s</Khoa><Goi>%s</Goi></detail></soap:Fault></soap:Body></soap:Envelope>`,
				xmlEscape(xmlSecret), r.Header.Get("X-Api-Key"), sent)
		case "body":
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprintf(w, "<html><body>Token sai: %s; khóa %s; gửi %s</body></html>", xmlSecret, r.Header.Get("X-Api-Key"), sent)
		case "cut": // the token straddles the 200 bytes the message keeps
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprintf(w, "%s%s tail", strings.Repeat(".", 194), sent)
		}
	}))
	defer srv.Close()
	cfg := lgspConfig(srv.URL)
	cfg.Headers["X-Api-Key"] = apiKey
	get, _ := Get("xml")
	for _, c := range []struct{ mode, want string }{{"fault", "AUTH-401"}, {"body", "Token sai"}, {"cut", "...."}} {
		mode = c.mode
		// The connector's own messages, and those of Get's connector.
		for _, conn := range []Connector{xmlConnector{}, get} {
			f, err := conn.Open(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			err = f.Read(context.Background(), func([]ingest.Feature) error { return nil })
			if err == nil {
				t.Fatalf("%s: no error", c.mode)
			}
			t.Log(err)
			msg := err.Error()
			if !strings.Contains(msg, "xxxxx") || !strings.Contains(msg, c.want) {
				t.Errorf("%s: %q lacks xxxxx or %q", c.mode, msg, c.want)
			}
			for _, leak := range []string{xmlSecret, xmlEscape(xmlSecret), "k3y&", apiKey} {
				if strings.Contains(msg, leak) {
					t.Errorf("%s: %q shows %q", c.mode, msg, leak)
				}
			}
		}
	}
}
