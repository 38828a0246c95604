package layers_test

import (
	"context"
	"testing"

	"github.com/haiduong/hub/internal/testdb"
	"github.com/haiduong/hub/layers"
)

// TestResaveKeepsInheritance: saving a loaded definition again (what a re-import does) keeps
// inherited categories inherited and the layer's own category, so that a later change of the
// entry's categories still reaches the fields — re-importing data never changes who may read it.
func TestResaveKeepsInheritance(t *testing.T) {
	ctx := context.Background()
	pool := testdb.Pool(t)
	save := func(l *layers.Layer, category string) {
		t.Helper()
		tx, err := pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback(ctx)
		if err := layers.Save(ctx, tx, l, category); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
	}
	save(&layers.Layer{ID: "resave", Title: "Thử", EntryID: "dat-dai", ItemType: layers.Record, Table: "resave", IDColumn: "fid", MaxZoom: 22,
		Fields: []layers.Field{{Name: "code", Type: "string"}, {Name: "owner", Type: "string", Personal: true, Category: "specific"}}}, "default")
	l, err := layers.LoadOne(ctx, pool, "resave")
	if err != nil || l == nil {
		t.Fatal(l, err)
	}
	save(l, "") // a re-import names no category
	var layerCat, codeCat, ownerCat *string
	pool.QueryRow(ctx, `SELECT category FROM layers WHERE id = 'resave'`).Scan(&layerCat)
	pool.QueryRow(ctx, `SELECT category FROM layer_fields WHERE layer_id = 'resave' AND name = 'code'`).Scan(&codeCat)
	pool.QueryRow(ctx, `SELECT category FROM layer_fields WHERE layer_id = 'resave' AND name = 'owner'`).Scan(&ownerCat)
	if layerCat == nil || *layerCat != "default" || codeCat != nil || ownerCat == nil || *ownerCat != "specific" {
		t.Errorf("after a re-save: layer %v, code %v (want inherited), owner %v", deref(layerCat), deref(codeCat), deref(ownerCat))
	}
}

func deref(s *string) string {
	if s == nil {
		return "NULL"
	}
	return *s
}
