package sample_test

import (
	"context"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/text/unicode/norm"

	"github.com/haiduong/hub/catalog"
	"github.com/haiduong/hub/layers"
	"github.com/haiduong/hub/sample"
)

// testResidents keeps the tests quick; the default and a benchmark's million go the same way.
const testResidents = 4000

// recordKeys are the record collections of the sample, their natural key and catalogue entry.
var recordKeys = []struct{ id, key, entry string }{
	{"enterprises", "tax_code", "dang-ky-doanh-nghiep"},
	{"schools", "school_code", "truong-lop-hoc-sinh"},
	{"school-statistics", "stat_id", "truong-lop-hoc-sinh"},
	{"labour-market", "stat_id", "thi-truong-lao-dong"},
	{"cultural-villages", "village_id", "lang-khu-dan-cu-van-hoa"},
	{"birth-registrations", "registration_no", "ho-tich"},
	{"residents", "citizen_id", "dan-cu"},
	{"diplomas", "diploma_no", "van-bang-chung-chi"},
	{"driving-licences", "licence_no", "giay-phep-lai-xe"},
	{"market-prices", "price_id", "quan-ly-gia"},
	{"public-assets", "asset_code", "tai-san-cong"},
	{"admin-succession", "succession_id", ""},
}

// table is the quoted table of a record collection, failing the test when it is missing.
func table(t *testing.T, reg *layers.Registry, id string) string {
	t.Helper()
	l, ok := reg.Get(id)
	if !ok {
		t.Fatalf("record collection %s missing", id)
	}
	return l.QualifiedTable()
}

// recordDigest adds every record collection, in key order, to a digest query.
func recordDigest(t *testing.T, reg *layers.Registry) string {
	var b strings.Builder
	for _, c := range recordKeys {
		key := pgx.Identifier{c.key}.Sanitize()
		b.WriteString(` || (SELECT md5(string_agg(to_jsonb(r)::text, '' ORDER BY r.` + key + `)) FROM ` + table(t, reg, c.id) + ` r)`)
	}
	return b.String()
}

// validTaxCode applies the check digit of Vietnamese tax codes: N10 = 10 − (Σ Ni·Wi mod 11).
func validTaxCode(code string) bool {
	if !regexp.MustCompile(`^[0-9]{10}$`).MatchString(code) {
		return false
	}
	weights := []int{31, 29, 23, 19, 17, 13, 7, 5, 3}
	sum := 0
	for i, w := range weights {
		sum += int(code[i]-'0') * w
	}
	check := 10 - sum%11
	return check < 10 && int(code[9]-'0') == check
}

func TestTaxCodeCheckDigit(t *testing.T) {
	for code, want := range map[string]bool{
		"0100109106": true,  // Viettel
		"0100109107": false, // one digit off
		"0800123456": false,
		"010010910":  false,
	} {
		if got := validTaxCode(code); got != want {
			t.Errorf("validTaxCode(%s) = %v, want %v", code, got, want)
		}
	}
}

// The SQL holds every name and word the records are made of: it must be NFC, as the hub stores text.
func TestRecordsSQLIsNFC(t *testing.T) {
	for _, name := range []string{"records.sql", "records.go"} {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if !norm.NFC.IsNormal(b) {
			t.Errorf("%s is not NFC-normalised", name)
		}
	}
}

func checkRecords(t *testing.T, ctx context.Context, pool *pgxpool.Pool, reg *layers.Registry, q func(string, ...any)) {
	t.Helper()
	count := func(sql string) int64 {
		t.Helper()
		var n int64
		q(sql, &n)
		return n
	}

	// Every collection is a record collection with its natural key, entry and a full schema;
	// personal data is shared only by specific agreement; keys are unique.
	for _, c := range recordKeys {
		l, ok := reg.Get(c.id)
		if !ok {
			t.Errorf("record collection %s missing", c.id)
			continue
		}
		if !l.IsRecord() || l.KeyField != c.key || l.EntryID != c.entry || l.Features == 0 {
			t.Errorf("%s: item type %q, key %q, entry %q, %d records; want records keyed by %s of entry %q", c.id, l.ItemType, l.KeyField, l.EntryID, l.Features, c.key, c.entry)
		}
		for _, f := range l.Fields {
			if f.Title == "" || f.TitleEn == "" || f.Type == "" || !regexp.MustCompile(`^[a-z][a-z0-9_]*$`).MatchString(f.Name) {
				t.Errorf("%s.%s: incomplete field %+v", c.id, f.Name, f)
			}
			if f.Personal && f.Category != "specific" {
				t.Errorf("%s.%s is personal but shared as %q", c.id, f.Name, f.Category)
			}
		}
		if kf, ok := l.Field(c.key); !ok || !kf.Required {
			t.Errorf("%s: key %s is not a required field", c.id, c.key)
		}
		key, tbl := pgx.Identifier{c.key}.Sanitize(), l.QualifiedTable()
		if dup := count(`SELECT count(*) - count(DISTINCT ` + key + `) FROM ` + tbl); dup != 0 {
			t.Errorf("%s: %d duplicate keys", c.id, dup)
		}
	}
	for id, personalFields := range map[string][]string{
		"enterprises":         {"legal_representative"},
		"residents":           {"citizen_id", "full_name", "birth_date", "sex", "ethnicity", "permanent_address"},
		"birth-registrations": {"child_name", "birth_date", "father_name", "father_citizen_id", "mother_name", "mother_citizen_id"},
		"diplomas":            {"holder_name", "holder_citizen_id", "holder_birth_date"},
		"driving-licences":    {"holder_name", "holder_citizen_id", "holder_birth_date"},
	} {
		l, _ := reg.Get(id)
		for _, name := range personalFields {
			if f, ok := l.Field(name); !ok || !f.Personal {
				t.Errorf("%s.%s must be personal data: %+v", id, name, f)
			}
		}
		if f, ok := l.Field("commune_code"); ok && f.Personal {
			t.Errorf("%s.commune_code is not personal data", id)
		}
	}
	if l, ok := reg.Get("admin-succession"); !ok || len(l.Categories) != 1 || l.Categories[0] != "open" {
		t.Errorf("admin-succession must be open data: %+v", l)
	}

	// Sizes.
	for id, want := range map[string]int64{"enterprises": 12000, "residents": testResidents, "birth-registrations": 5000,
		"diplomas": 8000, "driving-licences": 6000, "market-prices": 20 * 12 * 144} {
		if l, _ := reg.Get(id); l.Features != want {
			t.Errorf("%s: %d records, want %d", id, l.Features, want)
		}
	}
	schools, stats := count(`SELECT count(*) FROM `+table(t, reg, "schools")), count(`SELECT count(*) FROM `+table(t, reg, "school-statistics"))
	if schools < 700 || stats != 5*schools {
		t.Errorf("%d schools with %d yearly statistics; want hundreds, five years each", schools, stats)
	}
	if n, want := count(`SELECT count(*) FROM `+table(t, reg, "labour-market")),
		count(`SELECT 10 * (SELECT count(*) FROM data.communes WHERE code IS NOT NULL) + 5 * (SELECT count(*) FROM data.wards)`); n != want {
		t.Errorf("labour-market: %d rows, want %d (coded communes × 10 quarters + wards × 5)", n, want)
	}

	// Tax codes: Hải Dương's prefix 08 and the check digit.
	rows, err := pool.Query(ctx, `SELECT tax_code FROM `+table(t, reg, "enterprises"))
	if err != nil {
		t.Fatal(err)
	}
	codes, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	bad := 0
	for _, c := range codes {
		if !strings.HasPrefix(c, "08") || !validTaxCode(c) {
			if bad++; bad <= 5 {
				t.Errorf("tax code %s fails the check digit or is not of Hải Dương", c)
			}
		}
	}

	// Citizen ids: 12 digits, the century/sex digit and the year of birth agree with the person.
	cid := func(id, birth, female string) string {
		return `(` + id + ` !~ '^[0-9]{12}$' OR substr(` + id + `, 4, 1)::int <> (CASE WHEN ` + birth + ` >= date '2000-01-01' THEN 2 ELSE 0 END) + (` + female + `)::int
		          OR substr(` + id + `, 5, 2) <> lpad((extract(year FROM ` + birth + `)::int % 100)::text, 2, '0'))`
	}
	if n := count(`SELECT count(*) FROM ` + table(t, reg, "residents") + ` WHERE ` + cid("citizen_id", "birth_date", "sex = 'Nữ'")); n != 0 {
		t.Errorf("%d residents whose citizen id disagrees with their birth date or sex", n)
	}
	if n := count(`SELECT count(*) FROM ` + table(t, reg, "birth-registrations") + ` WHERE ` + cid("child_citizen_id", "birth_date", "child_sex = 'Nữ'") +
		` OR mother_citizen_id !~ '^[0-9]{3}[13][0-9]{8}$' OR father_citizen_id !~ '^[0-9]{3}[02][0-9]{8}$'`); n != 0 {
		t.Errorf("%d birth registrations with malformed citizen ids", n)
	}
	// Holders of diplomas and licences are residents.
	for _, id := range []string{"diplomas", "driving-licences"} {
		if n := count(`SELECT count(*) FROM ` + table(t, reg, id) + ` d WHERE NOT EXISTS (SELECT FROM ` + table(t, reg, "residents") +
			` r WHERE r.citizen_id = d.holder_citizen_id AND r.full_name = d.holder_name AND r.birth_date = d.holder_birth_date)`); n != 0 {
			t.Errorf("%s: %d holders who are not residents", id, n)
		}
	}
	if n := count(`SELECT count(*) FROM ` + table(t, reg, "driving-licences") + ` WHERE
	        (licence_class IN ('A1', 'A', 'A2') AND expires_on IS NOT NULL) OR (licence_class IN ('B', 'B2', 'C', 'C1') AND expires_on IS NULL)
	        OR (issued_on >= date '2025-01-01' AND licence_class IN ('A2', 'B2', 'E', 'FC'))
	        OR (issued_on < date '2025-01-01' AND licence_class IN ('A', 'B', 'C1', 'D1', 'D2', 'BE', 'CE', 'DE'))
	        OR expires_on <= issued_on`); n != 0 {
		t.Errorf("%d driving licences of the wrong class for their date or with a wrong expiry", n)
	}

	// Labour market figures add up.
	if n := count(`SELECT count(*) FROM ` + table(t, reg, "labour-market") + ` WHERE employed + unemployed <> labour_force
	        OR unemployment_rate_pct <> round((100.0 * unemployed / labour_force)::numeric, 2) OR labour_force <= 0 OR unemployed < 0`); n != 0 {
		t.Errorf("%d labour-market rows whose figures do not add up", n)
	}

	// Commune codes: before 2025-07-01 the commune of the time, since then the ward; collections
	// without a date of their own name the ward of now.
	for id, date := range map[string]string{"labour-market": "period_start", "cultural-villages": "recognised_on", "birth-registrations": "registered_on"} {
		var before, after, wrong int64
		q(`SELECT count(*) FILTER (WHERE `+date+` < date '2025-07-01'), count(*) FILTER (WHERE `+date+` >= date '2025-07-01'),
		          count(*) FILTER (WHERE CASE WHEN `+date+` < date '2025-07-01'
		                                      THEN commune_code NOT IN (SELECT code FROM data.communes WHERE code IS NOT NULL)
		                                      ELSE commune_code NOT IN (SELECT code FROM data.wards) END)
		   FROM `+table(t, reg, id), &before, &after, &wrong)
		if wrong != 0 || before == 0 || after == 0 {
			t.Errorf("%s: %d rows before 2025-07-01, %d since; %d with a code not of their time", id, before, after, wrong)
		}
	}
	for _, id := range []string{"enterprises", "schools", "residents", "market-prices"} {
		if n := count(`SELECT count(*) FROM ` + table(t, reg, id) + ` WHERE commune_code NOT IN (SELECT code FROM data.wards)`); n != 0 {
			t.Errorf("%s: %d rows whose commune code is not a ward of now", id, n)
		}
	}

	// Public land and buildings stand on generated parcels.
	var linked, unlinked int64
	q(`SELECT count(*) FILTER (WHERE p.parcel_code IS NOT NULL), count(*) FILTER (WHERE a.parcel_code IS NOT NULL AND p.parcel_code IS NULL)
	   FROM `+table(t, reg, "public-assets")+` a LEFT JOIN data.land_parcels p ON p.parcel_code = a.parcel_code`, &linked, &unlinked)
	if linked == 0 || unlinked != 0 {
		t.Errorf("public assets: %d on parcels, %d naming a parcel that does not exist", linked, unlinked)
	}
	if n := count(`SELECT count(*) - count(DISTINCT parcel_code) FROM data.land_parcels`); n != 0 {
		t.Errorf("%d duplicate parcel codes", n)
	}

	// Succession: every coded commune went somewhere, mostly into one ward, and the shares
	// (those of at least 5%) cover nearly all of it.
	var orphans, split, badSum int64
	q(`SELECT (SELECT count(*) FROM data.communes c WHERE c.code IS NOT NULL AND NOT EXISTS (SELECT FROM `+table(t, reg, "admin-succession")+` s WHERE s.old_code = c.code)),
	          count(*) FILTER (WHERE top <= 50), count(*) FILTER (WHERE total < 85 OR total > 100.01)
	   FROM (SELECT old_code, max(share_pct) AS top, sum(share_pct) AS total FROM `+table(t, reg, "admin-succession")+` GROUP BY old_code) s`, &orphans, &split, &badSum)
	if orphans != 0 || split > 5 || badSum != 0 {
		t.Errorf("succession: %d communes without successor, %d without a main successor, %d whose shares do not add up", orphans, split, badSum)
	}

	// Text is NFC, names look Vietnamese.
	if n := count(`SELECT count(*) FROM ` + table(t, reg, "residents") + ` WHERE full_name IS NOT NFC NORMALIZED OR full_name !~ '^[^ ]+ [^ ]+( [^ ]+)+$'`); n != 0 {
		t.Errorf("%d resident names not NFC or not family, middle and given name", n)
	}
}

// checkCatalogue: the catalogue says which entries the sample connected, and why the e-mail
// system has no data; Loaded recognises this sample and no other.
func checkCatalogue(t *testing.T, ctx context.Context, pool *pgxpool.Pool, opt sample.Options) {
	t.Helper()
	entries, err := catalog.NewStore(pool).List(ctx, catalog.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]catalog.Entry{}
	for _, e := range entries {
		byID[e.ID] = e
		if (e.Connection.Status == catalog.Connected) != (len(e.Connection.Collections) > 0) {
			t.Errorf("entry %s: status %s with collections %v", e.ID, e.Connection.Status, e.Connection.Collections)
		}
	}
	if c := byID["dang-ky-doanh-nghiep"].Connection; c.Status != catalog.Connected ||
		!slices.Contains(c.Collections, "enterprises") || !slices.Contains(c.Collections, "enterprises-by-ward") {
		t.Errorf("enterprises entry: %+v", c)
	}
	if c := byID["thu-dien-tu-cong-vu"].Connection; c.Status != catalog.NotConnected || c.Note == "" {
		t.Errorf("e-mail system entry: %+v", c)
	}
	if ok, err := sample.Loaded(ctx, pool, opt); err != nil || !ok {
		t.Errorf("Loaded after Build = %v, %v", ok, err)
	}
	bigger := opt
	bigger.Residents++
	if ok, _ := sample.Loaded(ctx, pool, bigger); ok {
		t.Error("Loaded says yes for another number of residents")
	}
}
