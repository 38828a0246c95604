package sample

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/haiduong/hub/layers"
	"github.com/haiduong/hub/relations"
)

// merger is the day the province joined Hải Phòng and its communes were merged into the
// wards of now: records dated before it name a pre-2025 commune, later ones a ward.
var merger = time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC)

// links are the sample's attribute links, declared as an administrator would.
func links() []layers.Link {
	ward := func(source string) layers.Link {
		return layers.Link{ID: source + "-ward", Source: source, SourceField: "commune_code", Target: "wards", TargetField: "code",
			Title: "Xã, phường", TitleEn: "Commune or ward"}
	}
	// A dated record points at the commune of its date: the pre-2025 one before the merger.
	dated := func(source, timeField string) []layers.Link {
		return []layers.Link{
			{ID: source + "-commune", Source: source, SourceField: "commune_code", Target: "communes", TargetField: "code",
				Title: "Xã (trước 1/7/2025)", TitleEn: "Commune (before 1 July 2025)", TimeField: timeField, ValidTo: &merger},
			{ID: source + "-ward", Source: source, SourceField: "commune_code", Target: "wards", TargetField: "code",
				Title: "Xã, phường", TitleEn: "Commune or ward", TimeField: timeField, ValidFrom: &merger},
		}
	}
	out := []layers.Link{ward("enterprises"), ward("schools"), ward("residents"), ward("market-prices")}
	out = append(out, dated("labour-market", "period_start")...)
	out = append(out, dated("cultural-villages", "recognised_on")...)
	out = append(out, dated("birth-registrations", "registered_on")...)
	return append(out,
		layers.Link{ID: "school-statistics-school", Source: "school-statistics", SourceField: "school_code", Target: "schools",
			TargetField: "school_code", Title: "Trường", TitleEn: "School"},
		layers.Link{ID: "public-assets-parcel", Source: "public-assets", SourceField: "parcel_code", Target: "land-parcels",
			TargetField: "parcel_code", Title: "Thửa đất", TitleEn: "Land parcel"},
		layers.Link{ID: "admin-succession-old", Source: "admin-succession", SourceField: "old_code", Target: "communes",
			TargetField: "code", Title: "Xã trước 1/7/2025", TitleEn: "Commune before 1 July 2025"},
		layers.Link{ID: "admin-succession-new", Source: "admin-succession", SourceField: "new_code", Target: "wards",
			TargetField: "code", Title: "Xã, phường từ 1/7/2025", TitleEn: "Commune or ward since 1 July 2025"},
	)
}

// joinedLayer is a joined layer of the sample: its definition and its declaration.
type joinedLayer struct {
	def  layers.Layer
	join layers.Join
}

func joinedLayers() []joinedLayer {
	return []joinedLayer{
		{layers.Layer{ID: "enterprises-by-ward", Title: "Doanh nghiệp đang hoạt động theo xã, phường",
			TitleEn: "Active enterprises by commune or ward", EntryID: "dang-ky-doanh-nghiep"},
			layers.Join{Base: "wards", BaseField: "code", Records: "enterprises", RecordsField: "commune_code",
				Filter: "status = 'Đang hoạt động'", Aggregates: []layers.Aggregate{
					{Name: "enterprises", Op: "count", Title: "Số doanh nghiệp đang hoạt động", TitleEn: "Active enterprises"},
					{Name: "employees", Op: "sum", Field: "employees", Title: "Số lao động", TitleEn: "Employees"},
					{Name: "charter_capital_vnd", Op: "sum", Field: "charter_capital_vnd", Title: "Tổng vốn điều lệ (đồng)", TitleEn: "Total charter capital (VND)"},
				}}},
		{layers.Layer{ID: "unemployment-by-ward", Title: "Tỷ lệ thất nghiệp quý gần nhất theo xã, phường",
			TitleEn: "Unemployment rate of the latest quarter by commune or ward", EntryID: "thi-truong-lao-dong"},
			layers.Join{Base: "wards", BaseField: "code", Records: "labour-market", RecordsField: "commune_code",
				Filter: "period_start >= DATE('2025-07-01')", Aggregates: []layers.Aggregate{
					{Name: "quarter", Op: "latest", Field: "quarter", OrderBy: "period_start", Title: "Quý", TitleEn: "Quarter"},
					{Name: "unemployment_rate_pct", Op: "latest", Field: "unemployment_rate_pct", OrderBy: "period_start", Title: "Tỷ lệ thất nghiệp (%)", TitleEn: "Unemployment rate (%)"},
					{Name: "labour_force", Op: "latest", Field: "labour_force", OrderBy: "period_start", Title: "Lực lượng lao động (người)", TitleEn: "Labour force"},
					{Name: "unemployed", Op: "latest", Field: "unemployed", OrderBy: "period_start", Title: "Số người thất nghiệp", TitleEn: "Unemployed"},
				}}},
	}
}

// relate declares the links and joined layers in one transaction, once every collection is
// loaded.
func relate(ctx context.Context, pool *pgxpool.Pool, log io.Writer) error {
	tx, err := pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(context.Background())
	for _, k := range links() {
		if err := relations.SaveLink(ctx, tx, k); err != nil {
			return fmt.Errorf("sample: %w", err)
		}
	}
	for _, j := range joinedLayers() {
		if err := relations.DefineJoin(ctx, tx, j.def, j.join, ""); err != nil {
			return fmt.Errorf("sample: %w", err)
		}
		fmt.Fprintf(log, "  %-24s joined layer: %s × %s\n", j.def.ID, j.join.Base, j.join.Records)
	}
	return tx.Commit(ctx)
}
