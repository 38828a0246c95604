package sample

import (
	"context"
	_ "embed"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/haiduong/hub/ingest"
	"github.com/haiduong/hub/layers"
)

//go:embed records.sql
var recordsSQL string

// Sizes of the record collections whose size is not an option.
const (
	DefaultResidents = 20000
	enterprises      = 12000
	births           = 5000
	diplomas         = 8000
	licences         = 6000
)

const generatedRecords = "Dữ liệu mẫu sinh tự động — generated sample records"

// recordCollection is a record collection read back from a work table that records.sql builds.
type recordCollection struct {
	id, table string
	def       layers.Layer
	category  string // overrides the entry's sharing categories ("open" for reference data)
}

func rec(title, titleEn, entry, key string, fields ...layers.Field) layers.Layer {
	return layers.Layer{ItemType: layers.Record, Title: title, TitleEn: titleEn, EntryID: entry, KeyField: key,
		Attribution: generatedRecords, Fields: fields}
}

// The commune code of a record: the commune of the time for dated records (before 2025-07-01
// the pre-2025 commune, from then the ward), else the ward of now.
var (
	communeAtDate = req(f("commune_code", "string", "Mã xã, phường (theo thời điểm)", "Commune or ward code (as of the record's date)"))
	wardNow       = req(f("commune_code", "string", "Mã xã, phường (từ 1/7/2025)", "Commune or ward code (since 1 July 2025)"))
)

var recordCollections = []recordCollection{
	{id: "enterprises", table: "enterprises", def: rec("Doanh nghiệp đăng ký", "Registered enterprises", "dang-ky-doanh-nghiep", "tax_code",
		req(f("tax_code", "string", "Mã số doanh nghiệp (mã số thuế)", "Enterprise code (tax code)")),
		req(f("name", "string", "Tên doanh nghiệp", "Name")),
		req(f("legal_form", "string", "Loại hình doanh nghiệp", "Legal form")),
		req(f("vsic_code", "string", "Mã ngành kinh tế chính (VSIC 2018)", "Main industry code (VSIC 2018)")),
		f("vsic_name", "string", "Ngành kinh tế chính", "Main industry"),
		f("charter_capital_vnd", "integer", "Vốn điều lệ (đồng)", "Charter capital (VND)"),
		f("employees", "integer", "Số lao động", "Employees"),
		req(f("registered_on", "date", "Ngày đăng ký lần đầu", "First registered on")),
		req(f("status", "string", "Tình trạng hoạt động", "Status")),
		f("address", "string", "Địa chỉ trụ sở chính", "Head office address"),
		wardNow,
		personal(f("legal_representative", "string", "Người đại diện theo pháp luật", "Legal representative")),
	)},
	{id: "schools", table: "schools", def: rec("Trường học", "Schools", "truong-lop-hoc-sinh", "school_code",
		req(f("school_code", "string", "Mã trường", "School code")),
		req(f("name", "string", "Tên trường", "Name")),
		req(f("level", "string", "Cấp học", "Level")),
		req(f("ownership", "string", "Loại hình", "Ownership")),
		wardNow,
		f("address", "string", "Địa chỉ", "Address"),
		f("founded_year", "integer", "Năm thành lập", "Year founded"),
	)},
	{id: "school-statistics", table: "school_statistics", def: rec("Quy mô trường, lớp, học sinh theo năm học", "Pupils, classes and teachers by school year", "truong-lop-hoc-sinh", "stat_id",
		req(f("stat_id", "string", "Mã số liệu (mã trường-năm học)", "Statistic id (school code-school year)")),
		req(f("school_code", "string", "Mã trường", "School code")),
		req(f("school_year", "string", "Năm học", "School year")),
		f("pupils", "integer", "Số học sinh (trẻ)", "Pupils"),
		f("classes", "integer", "Số lớp (nhóm lớp)", "Classes"),
		f("teachers", "integer", "Số giáo viên", "Teachers"),
	)},
	{id: "labour-market", table: "labour_market", def: rec("Lao động, việc làm theo xã và quý", "Labour market by commune and quarter", "thi-truong-lao-dong", "stat_id",
		req(f("stat_id", "string", "Mã số liệu (mã xã-quý)", "Statistic id (commune code-quarter)")),
		communeAtDate,
		req(f("quarter", "string", "Quý", "Quarter")),
		req(f("period_start", "date", "Ngày đầu quý", "First day of the quarter")),
		f("labour_force", "integer", "Lực lượng lao động (người)", "Labour force"),
		f("employed", "integer", "Số người có việc làm", "Employed"),
		f("unemployed", "integer", "Số người thất nghiệp", "Unemployed"),
		f("unemployment_rate_pct", "number", "Tỷ lệ thất nghiệp (%)", "Unemployment rate (%)"),
		f("vacancies", "integer", "Số chỗ việc làm trống", "Job vacancies"),
		f("job_seekers", "integer", "Số người đăng ký tìm việc", "Registered job seekers"),
	)},
	{id: "cultural-villages", table: "cultural_villages", def: rec("Làng, khu dân cư văn hóa", "Villages and residential areas recognised as cultural", "lang-khu-dan-cu-van-hoa", "village_id",
		req(f("village_id", "string", "Mã thôn, khu dân cư", "Village id")),
		req(f("name", "string", "Tên thôn, khu dân cư", "Name")),
		communeAtDate,
		f("title", "string", "Danh hiệu", "Title"),
		req(f("recognised_on", "date", "Ngày công nhận", "Recognised on")),
		f("recognition_no", "string", "Số quyết định công nhận", "Recognition decision number"),
		f("issued_by", "string", "Cơ quan công nhận", "Recognised by"),
		f("first_recognised_year", "integer", "Năm được công nhận lần đầu", "First recognised in"),
		f("years_recognised", "integer", "Số năm đạt danh hiệu", "Years holding the title"),
	)},
	{id: "birth-registrations", table: "birth_registrations", def: rec("Đăng ký khai sinh", "Birth registrations", "ho-tich", "registration_no",
		req(f("registration_no", "string", "Số đăng ký khai sinh", "Registration number")),
		req(personal(f("child_name", "string", "Họ, chữ đệm, tên người được khai sinh", "Child's full name"))),
		personal(f("child_sex", "string", "Giới tính", "Sex")),
		req(personal(f("birth_date", "date", "Ngày sinh", "Date of birth"))),
		personal(f("place_of_birth", "string", "Nơi sinh", "Place of birth")),
		personal(f("child_citizen_id", "string", "Số định danh cá nhân", "Personal identification number")),
		personal(f("father_name", "string", "Họ, chữ đệm, tên cha", "Father's full name")),
		personal(f("father_citizen_id", "string", "Số định danh cá nhân của cha", "Father's citizen id")),
		personal(f("mother_name", "string", "Họ, chữ đệm, tên mẹ", "Mother's full name")),
		personal(f("mother_citizen_id", "string", "Số định danh cá nhân của mẹ", "Mother's citizen id")),
		req(f("registered_on", "date", "Ngày đăng ký", "Registered on")),
		communeAtDate,
	)},
	{id: "residents", table: "residents", def: rec("Dân cư", "Residents", "dan-cu", "citizen_id",
		req(personal(f("citizen_id", "string", "Số định danh cá nhân", "Citizen id number"))),
		req(personal(f("full_name", "string", "Họ, chữ đệm và tên", "Full name"))),
		req(personal(f("birth_date", "date", "Ngày, tháng, năm sinh", "Date of birth"))),
		req(personal(f("sex", "string", "Giới tính", "Sex"))),
		personal(f("ethnicity", "string", "Dân tộc", "Ethnicity")),
		personal(f("religion", "string", "Tôn giáo", "Religion")),
		personal(f("permanent_address", "string", "Nơi thường trú", "Permanent address")),
		wardNow,
	)},
	{id: "diplomas", table: "diplomas", def: rec("Văn bằng, chứng chỉ", "Diplomas and certificates", "van-bang-chung-chi", "diploma_no",
		req(f("diploma_no", "string", "Số hiệu văn bằng, chứng chỉ", "Diploma number")),
		req(f("kind", "string", "Loại văn bằng, chứng chỉ", "Kind")),
		f("major", "string", "Ngành đào tạo", "Major"),
		req(personal(f("holder_name", "string", "Họ và tên người được cấp", "Holder's full name"))),
		personal(f("holder_citizen_id", "string", "Số định danh cá nhân", "Holder's citizen id")),
		personal(f("holder_birth_date", "date", "Ngày sinh", "Holder's date of birth")),
		req(f("issuing_institution", "string", "Cơ quan, cơ sở cấp", "Issued by")),
		req(f("issued_on", "date", "Ngày cấp", "Issued on")),
		f("classification", "string", "Xếp loại", "Classification"),
	)},
	{id: "driving-licences", table: "driving_licences", def: rec("Giấy phép lái xe", "Driving licences", "giay-phep-lai-xe", "licence_no",
		req(f("licence_no", "string", "Số giấy phép lái xe", "Licence number")),
		req(personal(f("holder_name", "string", "Họ và tên", "Holder's full name"))),
		personal(f("holder_citizen_id", "string", "Số định danh cá nhân", "Holder's citizen id")),
		personal(f("holder_birth_date", "date", "Ngày sinh", "Holder's date of birth")),
		req(f("licence_class", "string", "Hạng", "Class")),
		req(f("issued_on", "date", "Ngày cấp", "Issued on")),
		f("expires_on", "date", "Có giá trị đến", "Valid until (empty: no expiry)"),
		f("issuing_authority", "string", "Cơ quan cấp", "Issued by"),
	)},
	{id: "market-prices", table: "market_prices", def: rec("Giá thị trường hàng hóa thiết yếu", "Market prices of staple goods", "quan-ly-gia", "price_id",
		req(f("price_id", "string", "Mã bản ghi giá", "Price record id")),
		req(f("commodity_code", "string", "Mã mặt hàng", "Commodity code")),
		req(f("commodity", "string", "Mặt hàng", "Commodity")),
		f("category", "string", "Nhóm hàng", "Category"),
		req(f("unit", "string", "Đơn vị tính", "Unit")),
		req(f("price_vnd", "integer", "Giá (đồng)", "Price (VND)")),
		req(f("market", "string", "Chợ", "Market")),
		wardNow,
		req(f("observed_on", "date", "Ngày thu thập", "Observed on")),
	)},
	{id: "public-assets", table: "public_assets", def: rec("Tài sản công", "Public assets", "tai-san-cong", "asset_code",
		req(f("asset_code", "string", "Mã tài sản", "Asset code")),
		req(f("name", "string", "Tên tài sản", "Name")),
		req(f("kind", "string", "Loại tài sản", "Kind")),
		req(f("managing_agency", "string", "Cơ quan, đơn vị quản lý, sử dụng", "Managing agency")),
		f("original_value_vnd", "integer", "Nguyên giá (đồng)", "Original value (VND)"),
		f("residual_value_vnd", "integer", "Giá trị còn lại (đồng)", "Residual value (VND)"),
		f("acquired_on", "date", "Ngày đưa vào sử dụng", "In use since"),
		f("area_m2", "number", "Diện tích (m²)", "Area (m²)"),
		f("parcel_code", "string", "Mã thửa đất", "Parcel code"),
	)},
	{id: "admin-succession", table: "admin_succession", category: "open",
		def: layers.Layer{ItemType: layers.Record, KeyField: "succession_id",
			Title: "Kế thừa đơn vị hành chính cấp xã (1/7/2025)", TitleEn: "Succession of communes (1 July 2025)",
			Description: "Xã, phường trước 1/7/2025 và xã, phường mới tiếp nhận địa bàn của nó, với tỷ lệ diện tích tính từ ranh giới — " +
				"each pre-2025 commune and the new commune or ward that took its territory, with the area shares computed from the boundaries.",
			Attribution: vietnam63 + "; " + "Bản đồ tham chiếu ĐVHC (sapnhap.bando.com.vn)",
			Fields: []layers.Field{
				req(f("succession_id", "string", "Mã (mã cũ-mã mới)", "Id (old code-new code)")),
				req(f("old_code", "string", "Mã xã trước 1/7/2025", "Commune code before 1 July 2025")),
				f("old_name", "string", "Tên xã trước 1/7/2025", "Commune before 1 July 2025"),
				f("old_district", "string", "Huyện trước 1/7/2025", "District before 1 July 2025"),
				req(f("new_code", "string", "Mã xã, phường từ 1/7/2025", "Commune or ward code since 1 July 2025")),
				f("new_name", "string", "Tên xã, phường từ 1/7/2025", "Commune or ward since 1 July 2025"),
				req(f("share_pct", "number", "Tỷ lệ diện tích xã cũ chuyển sang (%)", "Share of the old commune's area (%)")),
				f("new_share_pct", "number", "Tỷ lệ trong diện tích xã, phường mới (%)", "Share of the new commune's area (%)"),
				req(f("effective_from", "date", "Ngày hiệu lực", "Effective from")),
			}}},
}

// sqlSeed maps the seed to a positive int4, as generate does.
func sqlSeed(seed int64) int64 {
	s := seed%2147483646 + 1
	if s < 1 {
		s += 2147483646
	}
	return s
}

// buildRecords builds the record work tables and imports each as a record collection.
func buildRecords(ctx context.Context, pool *pgxpool.Pool, opt Options) error {
	sql := strings.NewReplacer(
		":seed", strconv.FormatInt(sqlSeed(opt.Seed), 10),
		":residents", strconv.Itoa(opt.Residents),
		":enterprises", strconv.Itoa(enterprises),
		":births", strconv.Itoa(births),
		":diplomas", strconv.Itoa(diplomas),
		":licences", strconv.Itoa(licences),
	).Replace(recordsSQL)
	defer pool.Exec(context.Background(), `DROP SCHEMA IF EXISTS sample_rec CASCADE`)
	for i, step := range strings.Split(sql, "-- +step")[1:] {
		start := time.Now()
		if _, err := pool.Exec(ctx, step); err != nil {
			return fmt.Errorf("sample records step %d: %w\n%s", i+1, err, firstLines(step, 4))
		}
		if d := time.Since(start); d > time.Second {
			fmt.Fprintf(opt.Log, "  records step %-2d %5.1f s  %s\n", i+1, d.Seconds(), firstLines(step, 1))
		}
	}
	for _, c := range recordCollections {
		keys := make([]string, len(c.def.Fields))
		cols := make([]string, len(c.def.Fields))
		for i, fd := range c.def.Fields {
			keys[i] = fd.Name
			cols[i] = pgx.Identifier{fd.Name}.Sanitize()
		}
		// Work tables keep helper columns; only the fields go, in key order so that feature ids
		// are the same for the same seed.
		src := ingest.Query(pool, 0, keys, `SELECT NULL::bytea, to_json(t) FROM (SELECT `+strings.Join(cols, ", ")+
			` FROM `+pgx.Identifier{"sample_rec", c.table}.Sanitize()+` ORDER BY `+pgx.Identifier{c.def.KeyField}.Sanitize()+`) t`)
		rep, err := ingest.Import(ctx, pool, src, "sample:"+c.id, ingest.Options{Collection: c.id, Definition: c.def, Category: c.category})
		if err != nil {
			return fmt.Errorf("sample collection %s: %w", c.id, err)
		}
		report(opt.Log, rep)
	}
	return nil
}
