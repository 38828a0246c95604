package sample

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/haiduong/hub/ingest"
	"github.com/haiduong/hub/layers"
)

//go:embed generate.sql
var generateSQL string

const generated = "Dữ liệu mẫu sinh tự động trong ranh giới xã thật — generated sample data inside the real communes"

func f(name, typ, title, titleEn string) layers.Field {
	return layers.Field{Name: name, Type: typ, Title: title, TitleEn: titleEn}
}

// generatedLayers are read back from the work tables that generate.sql builds.
var generatedLayers = []struct {
	id, table string
	def       layers.Layer
}{
	// Parcels from z15: a z14 tile of a dense commune would weigh up to a megabyte; the
	// overview below stands in for them at smaller scales.
	{"land-parcels", "parcels", layers.Layer{Title: "Thửa đất", TitleEn: "Land parcels", EntryID: "dat-dai", MinZoom: 15, MaxZoom: 22, Attribution: generated,
		Fields: []layers.Field{
			req(f("so_to", "integer", "Số hiệu tờ bản đồ", "Map sheet number")),
			req(f("so_thua", "integer", "Số thứ tự thửa", "Parcel number")),
			f("dien_tich", "number", "Diện tích (m²)", "Area (m²)"),
			code(req(f("land_use", "string", "Mục đích sử dụng đất", "Land-use type")), "land-use"),
			req(f("commune_code", "string", "Mã xã", "Commune code")),
			req(f("parcel_code", "string", "Mã thửa", "Parcel code")),
			personal(f("owner_name", "string", "Người sử dụng đất", "Land user")),
			personal(f("owner_id", "string", "Số định danh cá nhân", "Citizen id number")),
		}}},
	{"land-parcels-overview", "parcels_overview", layers.Layer{Title: "Thửa đất — tổng hợp theo xã", TitleEn: "Land parcels by commune (overview)", EntryID: "dat-dai", MinZoom: 8, MaxZoom: 14, Attribution: generated,
		Fields: []layers.Field{
			req(f("commune_code", "string", "Mã xã", "Commune code")),
			f("commune", "string", "Xã", "Commune"),
			f("parcels", "integer", "Số thửa", "Parcels"),
			f("area_ha", "number", "Tổng diện tích (ha)", "Total area (ha)"),
			code(f("main_land_use", "string", "Mục đích sử dụng chủ yếu", "Main land use"), "land-use"),
			f("mean_area_m2", "number", "Diện tích thửa trung bình (m²)", "Mean parcel area (m²)"),
		}}},
	{"zoning-plans", "zoning", layers.Layer{Title: "Quy hoạch xây dựng", TitleEn: "Zoning plans", EntryID: "quy-hoach", MinZoom: 10, MaxZoom: 22, Attribution: generated,
		Fields: []layers.Field{
			req(f("zone_code", "string", "Mã ô quy hoạch", "Zone code")),
			f("plan_name", "string", "Tên đồ án quy hoạch", "Plan"),
			f("decision_no", "string", "Số quyết định phê duyệt", "Approving decision"),
			f("decision_date", "date", "Ngày phê duyệt", "Approval date"),
			code(req(f("planned_use", "string", "Chức năng sử dụng đất quy hoạch", "Planned land use")), "land-use"),
			f("density_max_pct", "number", "Mật độ xây dựng tối đa (%)", "Maximum building coverage (%)"),
			f("height_max_floors", "integer", "Tầng cao tối đa", "Maximum height (floors)"),
			f("far_max", "number", "Hệ số sử dụng đất tối đa", "Maximum floor area ratio"),
			f("commune_code", "string", "Mã xã", "Commune code"),
		}}},
	{"soil-units", "soil", layers.Layer{Title: "Bản đồ thổ nhưỡng", TitleEn: "Soil map units", EntryID: "tho-nhuong", MinZoom: 8, MaxZoom: 22, Attribution: generated,
		Fields: []layers.Field{
			req(f("unit_code", "string", "Mã khoanh đất", "Soil unit code")),
			req(f("soil_code", "string", "Ký hiệu loại đất", "Soil class (Vietnamese classification)")),
			f("soil_name", "string", "Tên loại đất", "Soil class name"),
			f("wrb_name", "string", "Tên theo FAO-WRB", "FAO-WRB name"),
			f("ph_kcl", "number", "pH (KCl)", "pH (KCl)"),
			f("organic_matter_pct", "number", "Chất hữu cơ (%)", "Organic matter (%)"),
			f("texture", "string", "Thành phần cơ giới", "Texture"),
			f("suitability_rice", "string", "Mức thích hợp trồng lúa", "Suitability for rice"),
			f("suitability_vegetables", "string", "Mức thích hợp rau màu", "Suitability for vegetables"),
			f("suitability_fruit", "string", "Mức thích hợp cây ăn quả", "Suitability for fruit trees"),
		}}},
	{"roads", "roads", layers.Layer{Title: "Đường bộ", TitleEn: "Roads", EntryID: "ha-tang-giao-thong", MinZoom: 8, MaxZoom: 22,
		Attribution: "Quốc lộ, cao tốc: © OpenStreetMap contributors (ODbL); đường tỉnh, huyện: " + generated,
		Fields: []layers.Field{
			req(f("road_no", "string", "Số hiệu đường", "Road number")),
			f("name", "string", "Tên đường", "Name"),
			f("road_class", "string", "Loại đường", "Road class"),
			f("technical_grade", "string", "Cấp kỹ thuật", "Technical grade"),
			f("surface", "string", "Kết cấu mặt đường", "Surface"),
			f("width_m", "number", "Bề rộng nền (m)", "Width (m)"),
			f("km_start", "string", "Lý trình đầu", "Chainage at start"),
			f("km_end", "string", "Lý trình cuối", "Chainage at end"),
			f("start_m", "number", "Lý trình đầu (m)", "Chainage at start (m)"),
			f("end_m", "number", "Lý trình cuối (m)", "Chainage at end (m)"),
			f("length_m", "number", "Chiều dài (m)", "Length (m)"),
			f("source", "string", "Nguồn", "Source"),
		}}},
	{"bridges", "bridges", layers.Layer{Title: "Cầu, cống", TitleEn: "Bridges and culverts", EntryID: "ha-tang-giao-thong", MinZoom: 10, MaxZoom: 22, Attribution: generated,
		Fields: []layers.Field{
			f("name", "string", "Tên công trình", "Name"),
			f("kind", "string", "Loại", "Kind"),
			req(f("road_no", "string", "Số hiệu đường", "Road number")),
			f("chainage", "string", "Lý trình", "Chainage"),
			f("chainage_m", "number", "Lý trình (m)", "Chainage (m)"),
			f("load_limit_t", "integer", "Tải trọng cho phép (tấn)", "Load limit (t)"),
			f("year_built", "integer", "Năm xây dựng", "Year built"),
			f("waterway", "string", "Sông, kênh", "Waterway crossed"),
		}}},
}

func req(f layers.Field) layers.Field               { f.Required = true; return f }
func code(f layers.Field, list string) layers.Field { f.CodeList = list; return f }
func personal(f layers.Field) layers.Field          { f.Personal, f.Category = true, "specific"; return f }

// generate builds the work tables and imports them as layers.
func generate(ctx context.Context, pool *pgxpool.Pool, opt Options) error {
	seed := opt.Seed%2147483646 + 1 // ST_GeneratePoints wants a positive seed
	if seed < 1 {
		seed += 2147483646
	}
	sql := strings.NewReplacer(":seed", strconv.FormatInt(seed, 10), ":parcels", strconv.Itoa(opt.Parcels)).Replace(generateSQL)
	for i, step := range strings.Split(sql, "-- +step")[1:] {
		start := time.Now()
		if _, err := pool.Exec(ctx, step); err != nil {
			return fmt.Errorf("sample step %d: %w\n%s", i+1, err, firstLines(step, 4))
		}
		if d := time.Since(start); d > time.Second {
			fmt.Fprintf(opt.Log, "  step %-2d %5.1f s  %s\n", i+1, d.Seconds(), firstLines(step, 1))
		}
		if strings.Contains(step, "CREATE TABLE sample_work.osm_routes") {
			if err := loadRoutes(ctx, pool); err != nil {
				return err
			}
		}
	}
	defer pool.Exec(context.Background(), `DROP SCHEMA IF EXISTS sample_work CASCADE`)
	for _, g := range generatedLayers {
		keys := make([]string, len(g.def.Fields))
		for i, fd := range g.def.Fields {
			keys[i] = fd.Name
		}
		src := ingest.Query(pool, 9209, keys, `SELECT ST_AsBinary(g), (to_jsonb(t) - 'g')::json FROM sample_work.`+g.table+` t`)
		rep, err := ingest.Import(ctx, pool, src, "sample:"+g.id, ingest.Options{Collection: g.id, Definition: g.def})
		if err != nil {
			return fmt.Errorf("sample layer %s: %w", g.id, err)
		}
		report(opt.Log, rep)
	}
	return nil
}

// loadRoutes puts the OpenStreetMap road relations (QL.5, QL.10, CT.04) in the work schema.
func loadRoutes(ctx context.Context, pool *pgxpool.Pool) error {
	raw, err := files.ReadFile("data/hd_route_relations_osm2021.geojson")
	if err != nil {
		return err
	}
	var fc struct {
		Features []struct {
			Geometry   json.RawMessage `json:"geometry"`
			Properties map[string]any  `json:"properties"`
		} `json:"features"`
	}
	if err := json.Unmarshal(raw, &fc); err != nil {
		return err
	}
	for _, ft := range fc.Features {
		if ft.Properties["route"] != "road" {
			continue
		}
		props, _ := json.Marshal(ft.Properties)
		if _, err := pool.Exec(ctx, `INSERT INTO sample_work.osm_routes VALUES (ST_SetSRID(ST_GeomFromGeoJSON($1), 4326), $2)`, string(ft.Geometry), props); err != nil {
			return fmt.Errorf("load OSM routes: %w", err)
		}
	}
	return nil
}

func firstLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[:min(n, len(lines))], "\n")
}
