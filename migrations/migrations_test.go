package migrations_test

import (
	"context"
	"math"
	"testing"

	"github.com/haiduong/hub/database"
	"github.com/haiduong/hub/internal/testdb"
	"github.com/haiduong/hub/migrations"
)

func TestMain(m *testing.M) { testdb.Main(m) }

func TestUpOnEmptyThenAgain(t *testing.T) {
	ctx := context.Background()
	pool, err := database.Open(ctx, testdb.Empty(t))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()

	first, err := migrations.Up(ctx, pool)
	if err != nil {
		t.Fatalf("first run: %v", err)
	}
	files, _ := migrations.Files.ReadDir(".")
	sqlFiles := 0
	for _, f := range files {
		if len(f.Name()) > 4 && f.Name()[len(f.Name())-4:] == ".sql" {
			sqlFiles++
		}
	}
	if len(first) != sqlFiles {
		t.Errorf("first run applied %d migrations, want all %d", len(first), sqlFiles)
	}
	second, err := migrations.Up(ctx, pool)
	if err != nil {
		t.Fatalf("second run on a migrated database: %v", err)
	}
	if len(second) != 0 {
		t.Errorf("second run applied %d migrations, want none", len(second))
	}
	applied, embedded, err := migrations.Version(ctx, pool)
	if err != nil || applied != embedded || applied == 0 {
		t.Errorf("version = %d of %d (%v), want equal and non-zero", applied, embedded, err)
	}
	for _, ext := range []string{"postgis", "unaccent", "pg_trgm"} {
		var ok bool
		if err := pool.QueryRow(ctx, `SELECT EXISTS (SELECT FROM pg_extension WHERE extname = $1)`, ext).Scan(&ok); err != nil || !ok {
			t.Errorf("extension %s not installed (%v)", ext, err)
		}
	}
	var entries int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM catalog_entries`).Scan(&entries); err != nil || entries != 30 {
		t.Errorf("catalogue has %d entries (%v), want 30 after migrating twice", entries, err)
	}
}

func TestVN2000Systems(t *testing.T) {
	ctx := context.Background()
	pool := testdb.Pool(t)

	var n int
	err := pool.QueryRow(ctx, `SELECT count(*) FROM spatial_ref_sys
		WHERE srid BETWEEN 9205 AND 9218 AND auth_name = 'EPSG' AND auth_srid = srid
		  AND srtext LIKE 'PROJCS["VN-2000 / TM-3%' AND proj4text LIKE '+proj=tmerc %'`).Scan(&n)
	if err != nil || n != 14 {
		t.Fatalf("VN-2000 / TM-3 systems in spatial_ref_sys: %d (%v), want EPSG:9205–9218", n, err)
	}

	// The reference point of the foundation issue: WGS 84 lon 106.33, lat 20.94 in Hải Dương's
	// zone (EPSG:9209, central meridian 105°30′) is E 586127.365, N 2316534.475.
	cases := []struct {
		srid int
		e, n float64
	}{
		{9209, 586127.365, 2316534.475},
		// Hải Phòng (105°45′) and the 106°00′ zone, as PROJ's cs2cs gives them.
		{9210, 560125.680, 2316420.425},
		{9211, 534124.853, 2316346.932},
	}
	for _, c := range cases {
		var e, nn float64
		err := pool.QueryRow(ctx, `SELECT ST_X(g), ST_Y(g) FROM ST_Transform(ST_SetSRID(ST_MakePoint(106.33, 20.94), 4326), $1::int) g`, c.srid).Scan(&e, &nn)
		if err != nil {
			t.Fatalf("transform to %d: %v", c.srid, err)
		}
		if math.Abs(e-c.e) > 0.0005 || math.Abs(nn-c.n) > 0.0005 {
			t.Errorf("EPSG:%d: got E %.4f N %.4f, want E %.3f N %.3f (to the millimetre)", c.srid, e, nn, c.e, c.n)
		}
	}

	// And back: the VN-2000 coordinates return to the WGS 84 point (1 mm ≈ 1e-8°).
	var lon, lat float64
	err = pool.QueryRow(ctx, `SELECT ST_X(g), ST_Y(g) FROM ST_Transform(ST_SetSRID(ST_MakePoint(586127.3655, 2316534.4749), 9209), 4326) g`).Scan(&lon, &lat)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(lon-106.33) > 1e-8 || math.Abs(lat-20.94) > 1e-8 {
		t.Errorf("EPSG:9209 → 4326: got %.10f, %.10f, want 106.33, 20.94", lon, lat)
	}
}
