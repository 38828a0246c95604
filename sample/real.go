package sample

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
	"unicode"

	"github.com/haiduong/hub/ingest"
	"github.com/haiduong/hub/layers"
)

const (
	osm       = "© OpenStreetMap contributors (ODbL)"
	merged    = "2025-07-01" // Hải Dương merged into Hải Phòng; districts abolished
	vietnam63 = "Ranh giới xã 2008: choisy/vietnam63 (MIT), mã ĐVHC: Tổng cục Thống kê"
)

// realLayer is one layer built from an embedded file.
type realLayer struct {
	id, file string
	def      layers.Layer
	// props rewrites a feature's properties; nil keeps them.
	props func(p map[string]any, c *codes) map[string]any
	// keep selects features; nil keeps all.
	keep func(p map[string]any) bool
}

func str(f layers.Field) layers.Field { f.Type = "string"; return f }

func realLayers() []realLayer {
	admin := func(title, titleEn string) layers.Layer {
		return layers.Layer{Title: title, TitleEn: titleEn, MinZoom: 0, MaxZoom: 22, Attribution: "Cổng thông tin Chính phủ (gis.chinhphu.vn) qua daohoangson/dvhcvn"}
	}
	validity := []layers.Field{
		{Name: "valid_from", Type: "date", Title: "Hiệu lực từ", TitleEn: "Valid from"},
		{Name: "valid_to", Type: "date", Title: "Hiệu lực đến", TitleEn: "Valid until"},
	}
	province := admin("Tỉnh Hải Dương (đến 1/7/2025)", "Hải Dương province (until 1 July 2025)")
	province.Temporal = "valid_to"
	province.Fields = append([]layers.Field{str(layers.Field{Name: "code", Title: "Mã tỉnh", TitleEn: "Province code"}),
		str(layers.Field{Name: "name", Title: "Tên", TitleEn: "Name"})}, validity...)
	districts := admin("Huyện, thị xã, thành phố (đến 1/7/2025)", "Districts (until 1 July 2025)")
	districts.Temporal = "valid_to"
	districts.Fields = province.Fields[:0:0]
	districts.Fields = append(districts.Fields, str(layers.Field{Name: "code", Title: "Mã huyện", TitleEn: "District code"}),
		str(layers.Field{Name: "name", Title: "Tên", TitleEn: "Name"}), str(layers.Field{Name: "province_code", Title: "Mã tỉnh", TitleEn: "Province code"}))
	districts.Fields = append(districts.Fields, validity...)
	communes := layers.Layer{Title: "Xã, phường, thị trấn (đến 1/7/2025)", TitleEn: "Communes (until 1 July 2025)", Attribution: vietnam63, Temporal: "valid_to",
		Fields: append([]layers.Field{
			str(layers.Field{Name: "code", Title: "Mã xã (TCTK)", TitleEn: "Commune code (GSO)"}),
			str(layers.Field{Name: "name", Title: "Tên", TitleEn: "Name"}),
			str(layers.Field{Name: "district_code", Title: "Mã huyện", TitleEn: "District code"}),
			str(layers.Field{Name: "district", Title: "Huyện", TitleEn: "District"}),
			{Name: "source_id", Type: "integer", Title: "Mã nguồn 2008", TitleEn: "2008 source id"},
		}, validity...)}
	wards := layers.Layer{Title: "Xã, phường (từ 1/7/2025)", TitleEn: "Communes and wards (from 1 July 2025)", Temporal: "valid_from",
		Attribution: "Bản đồ tham chiếu ĐVHC (sapnhap.bando.com.vn) qua thanglequoc/vietnamese-provinces-database (MIT)",
		Fields: append([]layers.Field{
			str(layers.Field{Name: "code", Title: "Mã xã (TCTK)", TitleEn: "Commune code (GSO)"}),
			str(layers.Field{Name: "name", Title: "Tên", TitleEn: "Name"}),
			str(layers.Field{Name: "name_en", Title: "Tên tiếng Anh", TitleEn: "English name"}),
			str(layers.Field{Name: "type", Title: "Loại", TitleEn: "Type"}),
			str(layers.Field{Name: "province_code", Title: "Mã tỉnh/thành phố", TitleEn: "Province code"}),
			{Name: "area_km2", Type: "number", Title: "Diện tích (km²)", TitleEn: "Area (km²)"},
		}, validity...)}
	return []realLayer{
		{id: "province", file: "hd_province_gov2019.geojson", def: province, props: func(p map[string]any, _ *codes) map[string]any {
			return map[string]any{"code": p["level1_id"], "name": p["name"], "valid_from": nil, "valid_to": merged}
		}},
		{id: "districts", file: "hd_districts_gov2019.geojson", def: districts, props: func(p map[string]any, _ *codes) map[string]any {
			return map[string]any{"code": p["level2_id"], "name": p["name"], "province_code": p["level1_id"], "valid_from": nil, "valid_to": merged}
		}},
		{id: "communes", file: "hd_communes_2008_vietnam63.geojson", def: communes, props: func(p map[string]any, c *codes) map[string]any {
			d := c.district(fmt.Sprint(p["district_vn"]))
			return map[string]any{"code": c.commune(d, fmt.Sprint(p["commune_vn"])), "name": p["commune_vn"], "district_code": d,
				"district": p["district_vn"], "source_id": p["commune_id"], "valid_from": nil, "valid_to": merged}
		}},
		{id: "wards", file: "hd_area_wards_2025.geojson", def: wards, props: func(p map[string]any, _ *codes) map[string]any {
			typ := "Xã"
			if strings.HasPrefix(fmt.Sprint(p["fullName"]), "Phường") {
				typ = "Phường"
			}
			return map[string]any{"code": p["code"], "name": p["fullName"], "name_en": p["fullNameEn"], "type": typ,
				"province_code": p["province_code_2025"], "area_km2": p["areaKm2"], "valid_from": merged, "valid_to": nil}
		}},
		{id: "waterways", file: "hd_waterways_osm2021.geojson", def: layers.Layer{Title: "Sông, kênh, mương", TitleEn: "Waterways", Attribution: osm,
			Fields: []layers.Field{str(layers.Field{Name: "osm_id", Title: "Mã OSM", TitleEn: "OSM id"}),
				str(layers.Field{Name: "name", Title: "Tên", TitleEn: "Name"}), str(layers.Field{Name: "waterway", Title: "Loại", TitleEn: "Kind"})}},
			props: func(p map[string]any, _ *codes) map[string]any {
				return map[string]any{"osm_id": p["osm_id"], "name": p["name"], "waterway": p["waterway"]}
			}},
		{id: "railways", file: "hd_route_relations_osm2021.geojson", def: layers.Layer{Title: "Đường sắt", TitleEn: "Railways", Attribution: osm, EntryID: "ha-tang-giao-thong",
			Fields: []layers.Field{str(layers.Field{Name: "name", Title: "Tên", TitleEn: "Name"}), str(layers.Field{Name: "osm_id", Title: "Mã OSM", TitleEn: "OSM id"})}},
			keep: func(p map[string]any) bool { return p["route"] == "train" || p["route"] == "railway" },
			props: func(p map[string]any, _ *codes) map[string]any {
				return map[string]any{"name": p["name"], "osm_id": p["osm_id"]}
			}},
		{id: "buildings", file: "hd_buildings_osm2021_geomonly.geojson", def: layers.Layer{Title: "Nhà, công trình (OSM 2021)", TitleEn: "Buildings (OSM 2021)", Attribution: osm, MinZoom: 13, MaxZoom: 22,
			Fields: []layers.Field{{Name: "osm_fid", Type: "integer", Title: "Số thứ tự", TitleEn: "Sequence number"}}},
			props: func(p map[string]any, _ *codes) map[string]any { return map[string]any{"osm_fid": p["fid"]} }},
	}
}

// loadReal rewrites an embedded file's properties and imports it.
func loadReal(ctx context.Context, pool *pgxpool.Pool, l realLayer, log io.Writer) error {
	c, err := loadCodes()
	if err != nil {
		return err
	}
	raw, err := files.ReadFile("data/" + l.file)
	if err != nil {
		return err
	}
	var fc struct {
		Features []struct {
			Type       string          `json:"type"`
			Geometry   json.RawMessage `json:"geometry"`
			Properties map[string]any  `json:"properties"`
		} `json:"features"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&fc); err != nil {
		return err
	}
	tmp, err := os.CreateTemp("", "hub-sample-*.ndjson")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	enc := json.NewEncoder(tmp)
	for _, f := range fc.Features {
		if l.keep != nil && !l.keep(f.Properties) {
			continue
		}
		p := f.Properties
		if l.props != nil {
			p = l.props(p, c)
		}
		if err := enc.Encode(map[string]any{"type": "Feature", "geometry": f.Geometry, "properties": p}); err != nil {
			return err
		}
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	src, err := ingest.Open(tmp.Name(), ingest.OpenOptions{})
	if err != nil {
		return err
	}
	defer src.Close()
	cat := "open" // boundaries, waterways and OSM layers are public
	if l.def.EntryID != "" {
		cat = ""
	}
	rep, err := ingest.Import(ctx, pool, src, filepath.Join("sample", l.file), ingest.Options{Collection: l.id, Definition: l.def, Category: cat})
	if err != nil {
		return err
	}
	report(log, rep)
	return nil
}

// codes finds GSO codes by name: the 2008 polygons carry their own ids, and communes merged
// since then share one code (or none).
type codes struct {
	districts map[string]string
	communes  map[[2]string]string
}

func loadCodes() (*codes, error) {
	f, err := files.Open("data/hd_admin_codes_2025-03-01.csv")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, err
	}
	c := &codes{districts: map[string]string{}, communes: map[[2]string]string{}}
	for _, r := range rows[1:] {
		level, code, name, parent := r[0], r[1], r[2], r[4]
		switch level {
		case "2":
			c.districts[baseName(name)] = code
		case "3":
			c.communes[[2]string{parent, baseName(name)}] = code
		}
	}
	return c, nil
}

func (c *codes) district(name string) string { return c.districts[baseName(name)] }

func (c *codes) commune(district, name string) any {
	if code, ok := c.communes[[2]string{district, baseName(name)}]; ok {
		return code
	}
	return nil
}

var unaccent = transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)

// baseName reduces "Thị trấn Kẻ Sặt" and "Kẻ Sặt" alike to "ke sat": type prefixes go, and
// accents too, since sources disagree on tone placement ("Hòa"/"Hoà").
func baseName(s string) string {
	s = strings.ToLower(norm.NFC.String(strings.TrimSpace(s)))
	for _, p := range []string{"thành phố ", "thị xã ", "huyện ", "phường ", "xã ", "thị trấn "} {
		s = strings.TrimPrefix(s, p)
	}
	s = strings.ReplaceAll(s, "đ", "d")
	out, _, _ := transform.String(unaccent, s)
	return out
}
