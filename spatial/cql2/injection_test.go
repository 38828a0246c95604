package cql2_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/haiduong/hub/internal/testdb"
	"github.com/haiduong/hub/spatial/cql2"
)

// Nothing a filter says can change the SQL statement: values travel as parameters, property
// names are looked up in the target and never copied, and what does not parse is refused.
func TestNoSQLInjection(t *testing.T) {
	pool := testdb.Pool(t)
	ctx := context.Background()
	if _, err := pool.Exec(ctx, `CREATE TABLE cql2_victim (name text, "we""rd" text, geom geometry(Point, 4326));
		INSERT INTO cql2_victim VALUES ('x''; DROP TABLE cql2_victim; --', 'ok', 'SRID=4326;POINT(106 21)')`); err != nil {
		t.Fatal(err)
	}
	tg := cql2.Target{
		Properties: map[string]cql2.Property{
			"name":  {Column: `"name"`, Type: cql2.String},
			`we"rd`: {Column: `"we""rd"`, Type: cql2.String},
		},
		Geometry:    `"geom"`,
		StorageSRID: 4326,
		Unaccent:    "hub_unaccent",
	}
	hostile := []string{
		`'; DROP TABLE cql2_victim; --`,
		`x'; DROP TABLE cql2_victim; --`,
		`*/ OR 1=1 /*`,
		`\'; SELECT pg_sleep(10); --`,
		`$1`,
		`" OR "1"="1`,
		`%' OR name LIKE '%`,
	}
	// Values: written in CQL2 text (quotes doubled) and in CQL2 JSON; every one is a parameter.
	for _, v := range hostile {
		text := strings.ReplaceAll(v, `'`, `''`)
		var trees []cql2.Expr
		for _, f := range []string{
			`name = '` + text + `'`,
			`name LIKE '` + text + `'`,
			`CASEI(name) IN ('a', CASEI('` + text + `'))`,
			`ACCENTI("we""rd") <> ACCENTI('` + text + `')`,
		} {
			e, err := cql2.ParseText(f)
			if strings.Contains(v, `\'`) {
				// CQL2 text reads \' as a quote, so this value cannot be written in text; what
				// is left over does not parse.
				if err == nil {
					t.Errorf("%s parses", f)
				}
				continue
			}
			if err != nil {
				t.Errorf("%s: %v", f, err)
				continue
			}
			trees = append(trees, e)
		}
		for _, f := range []string{
			`{"op":"=","args":[{"property":"name"},` + jsonString(v) + `]}`,
			`{"op":"like","args":[{"op":"casei","args":[{"property":"we\"rd"}]},{"op":"casei","args":[` + jsonString(v) + `]}]}`,
		} {
			e, err := cql2.ParseJSON([]byte(f))
			if err != nil {
				t.Errorf("%s: %v", f, err)
				continue
			}
			trees = append(trees, e)
		}
		for _, e := range trees {
			f := cql2.Text(e)
			sql, args, err := cql2.SQL(e, tg, 1)
			if err != nil {
				t.Errorf("%s: %v", f, err)
				continue
			}
			if strings.Contains(sql, "DROP") || strings.Contains(sql, "--") || strings.Contains(sql, "/*") || strings.Contains(sql, "pg_sleep") {
				t.Errorf("%s: the value reached the SQL: %s", f, sql)
			}
			found := false
			for _, a := range args {
				found = found || a == v
			}
			if !found {
				t.Errorf("%s: %q is not among the parameters %q", f, v, args)
			}
			var n int
			if err := pool.QueryRow(ctx, `SELECT count(*) FROM cql2_victim WHERE `+sql, args...).Scan(&n); err != nil {
				t.Errorf("%s: %s: %v", f, sql, err)
			}
		}
	}
	// The stored value is found by equality: the parameter is the whole value.
	e, _ := cql2.ParseText(`name = 'x''; DROP TABLE cql2_victim; --'`)
	sql, args, _ := cql2.SQL(e, tg, 1)
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM cql2_victim WHERE `+sql, args...).Scan(&n); err != nil || n != 1 {
		t.Errorf("equality on the stored value: %d rows, %v", n, err)
	}

	// Property names: unknown ones are refused, whatever they contain; known ones give the
	// target's column, never the name as written.
	for _, name := range []string{`name"; DROP TABLE cql2_victim; --`, `name --`, `geom) OR (1=1`, `NAME`} {
		for _, parse := range []func() (cql2.Expr, error){
			func() (cql2.Expr, error) {
				return cql2.ParseText(`"` + strings.ReplaceAll(name, `"`, `""`) + `" = 'x'`)
			},
			func() (cql2.Expr, error) {
				return cql2.ParseJSON([]byte(`{"op":"=","args":[{"property":` + jsonString(name) + `},"x"]}`))
			},
		} {
			e, err := parse()
			if err != nil {
				t.Errorf("%q: %v", name, err)
				continue
			}
			_, _, err = cql2.SQL(e, tg, 1)
			var ce *cql2.Error
			if !errors.As(err, &ce) || !strings.Contains(ce.Msg, "unknown property") {
				t.Errorf("%q: got %v, want an unknown property error", name, err)
			}
		}
	}
	e, _ = cql2.ParseText(`"we""rd" = 'ok'`)
	if sql, _, _ := cql2.SQL(e, tg, 1); sql != `("we""rd" = $1::text)` {
		t.Errorf(`"we""rd": %s`, sql)
	}

	// Text that tries to end the statement or comment out the rest does not parse.
	for _, f := range []string{
		`name = 'x'; DROP TABLE cql2_victim`,
		`name = 'x' /* */`,
		`S_INTERSECTS(geom, POINT(1 2)); DROP TABLE cql2_victim; --`,
		`S_INTERSECTS(geom, POINT(1 2) OR 1=1)`,
		`name = $1`,
	} {
		if _, err := cql2.ParseText(f); err == nil {
			t.Errorf("%s parses", f)
		}
	}

	if err := pool.QueryRow(ctx, `SELECT count(*) FROM cql2_victim`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("the table changed: %d rows, %v", n, err)
	}
}

func jsonString(s string) string {
	return `"` + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), `"`, `\"`) + `"`
}
