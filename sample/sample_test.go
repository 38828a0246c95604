package sample_test

import (
	"context"
	"testing"
	"time"

	"github.com/haiduong/hub/access"
	"github.com/haiduong/hub/internal/testdb"
	"github.com/haiduong/hub/layers"
	"github.com/haiduong/hub/sample"
	"github.com/haiduong/hub/sources"
)

func TestMain(m *testing.M) { testdb.Main(m) }

func TestSample(t *testing.T) {
	ctx := context.Background()
	pool := testdb.Pool(t)
	if err := sample.Build(ctx, pool, sample.Options{Parcels: 3000, Residents: testResidents, Seed: 7}); err != nil {
		t.Fatal(err)
	}
	q := func(sql string, dst ...any) {
		t.Helper()
		if err := pool.QueryRow(ctx, sql).Scan(dst...); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	counts := map[string]int64{"province": 1, "districts": 12, "communes": 265, "wards": 64, "waterways": 169, "railways": 2, "buildings": 2182, "land-parcels": 3000}
	reg, err := layers.Load(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	for id, want := range counts {
		l, ok := reg.Get(id)
		if !ok || l.Features != want {
			t.Errorf("layer %s: %v features, want %d", id, l, want)
		}
	}
	for _, id := range []string{"zoning-plans", "soil-units", "roads", "bridges"} {
		if l, ok := reg.Get(id); !ok || l.Features == 0 || l.SRID != 9209 || l.EntryID == "" {
			t.Errorf("generated layer %s missing, empty, not in EPSG:9209 or not tied to its entry: %+v", id, l)
		}
	}
	parcels, _ := reg.Get("land-parcels")
	if parcels.SRID != 9209 || parcels.EntryID != "dat-dai" || parcels.GeomType != "MultiPolygon" {
		t.Errorf("land-parcels: %+v", parcels)
	}
	for _, name := range []string{"owner_name", "owner_id"} {
		if f, ok := parcels.Field(name); !ok || !f.Personal || f.Category != "specific" {
			t.Errorf("parcel field %s must be personal data shared only by specific agreement: %+v", name, f)
		}
	}
	if f, _ := parcels.Field("land_use"); f.CodeList != "land-use" || f.Category != "default" {
		t.Errorf("land_use: %+v", f)
	}

	// Parcels tile their communes: valid, no overlaps, area from the geometry, plausible sizes,
	// codes from the national list, citizen ids of Hải Dương (030…, 12 digits).
	var invalid, overlaps, badArea, badCode, badID int64
	var small, large float64
	q(`SELECT count(*) FILTER (WHERE NOT ST_IsValid(geom)),
	          count(*) FILTER (WHERE abs(dien_tich - ST_Area(geom)) > 0.1),
	          count(*) FILTER (WHERE land_use NOT IN (SELECT code FROM code_lists WHERE list = 'land-use')),
	          count(*) FILTER (WHERE owner_id IS NOT NULL AND owner_id !~ '^030[0-3][0-9]{8}$'),
	          percentile_cont(0.1) WITHIN GROUP (ORDER BY dien_tich), percentile_cont(0.9) WITHIN GROUP (ORDER BY dien_tich)
	   FROM data.land_parcels`, &invalid, &badArea, &badCode, &badID, &small, &large)
	q(`SELECT count(*) FROM data.land_parcels a JOIN data.land_parcels b
	     ON a.fid < b.fid AND a.geom && b.geom AND ST_Relate(a.geom, b.geom, '2********')`, &overlaps)
	if invalid+overlaps+badArea+badCode+badID != 0 {
		t.Errorf("parcels: %d invalid, %d overlapping pairs, %d wrong areas, %d unknown codes, %d bad citizen ids", invalid, overlaps, badArea, badCode, badID)
	}
	if small < 50 || large > 2000 {
		t.Errorf("parcel areas from %.0f to %.0f m² (10th–90th percentile): not like Vietnamese parcels", small, large)
	}
	var uses int64
	var riceShare float64
	q(`SELECT count(DISTINCT land_use), avg((land_use = 'LUC')::int) FROM data.land_parcels`, &uses, &riceShare)
	if uses < 8 {
		t.Errorf("only %d land-use codes", uses)
	}
	var outside int64
	q(`SELECT count(*) FROM data.land_parcels p WHERE NOT EXISTS (
	     SELECT FROM data.communes c WHERE c.code = p.commune_code AND ST_Covers(ST_Buffer(ST_Transform(c.geom, 9209), 1), p.geom))`, &outside)
	if outside != 0 {
		t.Errorf("%d parcels lie outside the commune their code names", outside)
	}

	// Administrative units carry their validity.
	var oldTo, newFrom string
	q(`SELECT min(valid_to)::text FROM data.communes`, &oldTo)
	q(`SELECT min(valid_from)::text FROM data.wards`, &newFrom)
	if oldTo != "2025-07-01" || newFrom != "2025-07-01" {
		t.Errorf("validity: communes end %s, wards start %s; want 2025-07-01", oldTo, newFrom)
	}
	var coded int64
	q(`SELECT count(*) FROM data.communes WHERE code ~ '^[0-9]{5}$'`, &coded)
	if coded < 150 {
		t.Errorf("only %d pre-2025 communes matched to their GSO code", coded)
	}

	// Chainage strings agree with the metres they were made from.
	var badKm int64
	q(`SELECT count(*) FROM data.bridges WHERE chainage <> format('Km%s+%s', chainage_m::bigint / 1000, lpad((chainage_m::bigint % 1000)::text, 3, '0'))`, &badKm)
	if badKm != 0 {
		t.Errorf("%d bridges whose Km+m string disagrees with their chainage in metres", badKm)
	}

	checkRecords(t, ctx, pool, reg, q)
	checkCatalogue(t, ctx, pool, sample.Options{Parcels: 3000, Residents: testResidents, Seed: 7})

	// Same seed, same data; another seed, other data.
	var first, again, other string
	digest := `SELECT md5((SELECT string_agg(ST_AsEWKB(geom)::text || land_use || coalesce(owner_id, ''), '' ORDER BY fid) FROM data.land_parcels)` +
		recordDigest(t, reg) + `)`
	q(digest, &first)
	if err := sample.Build(ctx, pool, sample.Options{Parcels: 3000, Residents: testResidents, Seed: 7}); err != nil {
		t.Fatal(err)
	}
	q(digest, &again)
	if err := sample.Build(ctx, pool, sample.Options{Parcels: 3000, Residents: testResidents, Seed: 8}); err != nil {
		t.Fatal(err)
	}
	q(digest, &other)
	if first != again || first == other {
		t.Errorf("determinism: seed 7 gave %s then %s; seed 8 gave %s", first, again, other)
	}
}

// TestDemoConsumer: make demo's key reads the land parcels (a default entry) with the owners'
// names masked (its agreement does not unmask them); a second run adds nothing but a key.
func TestDemoConsumer(t *testing.T) {
	ctx := context.Background()
	pool := testdb.Pool(t)
	var keys []string
	for range 2 {
		k, err := sample.Consumer(ctx, pool)
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	p, err := access.NewAuthenticator(pool, nil).Authenticate(ctx, keys[1])
	if err != nil || p.Agency != sample.ConsumerAgency {
		t.Fatalf("key: %+v %v", p, err)
	}
	g, err := access.Grants(ctx, pool, p.Agency, p.Application, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	var defaults, agreements int
	for _, x := range g {
		if x.Category == "specific" {
			agreements++
			if x.Entry != "dat-dai" || x.Unmask {
				t.Errorf("agreement %+v", x)
			}
		} else {
			defaults++
		}
	}
	var want int
	pool.QueryRow(ctx, `SELECT count(*) FROM catalog_entries WHERE 'default' = ANY (categories)`).Scan(&want)
	if defaults != want || agreements != 1 {
		t.Errorf("%d requests (want %d), %d agreements (want 1) after two runs", defaults, want, agreements)
	}
}

// TestDemoSource: the sample's source system feeds its collection; a change at the source
// reaches it on the next run, and the catalogue entry shows the connection.
func TestDemoSource(t *testing.T) {
	ctx := context.Background()
	pool := testdb.Pool(t)
	if err := sample.Build(ctx, pool, sample.Options{Parcels: 3000, Residents: testResidents, Seed: 7}); err != nil {
		t.Fatal(err)
	}
	var n, src int
	if err := pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM data.gia_niem_yet), (SELECT count(*) FROM so_tai_chinh.gia_niem_yet)`).Scan(&n, &src); err != nil || n == 0 || n != src {
		t.Fatalf("demo collection %d rows, source %d (%v)", n, src, err)
	}
	if _, err := pool.Exec(ctx, `UPDATE so_tai_chinh.gia_niem_yet SET gia = gia + 1000, cap_nhat_luc = now() WHERE ma LIKE 'GAO-KD@%'`); err != nil {
		t.Fatal(err)
	}
	run, err := sources.Sync(ctx, pool, sample.DemoSource, sources.RunOptions{})
	if err != nil || run.Updated == 0 || run.Read != run.Updated {
		t.Fatalf("demo source after a price change: %+v %v", run, err)
	}
}
