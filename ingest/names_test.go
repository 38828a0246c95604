package ingest

import "testing"

func TestColumnName(t *testing.T) {
	for in, want := range map[string]string{
		"so_thua":                "so_thua", // plain identifiers are kept, case too
		"POP_EST":                "POP_EST",
		"Mã số thuế":             "ma_so_thue",
		"Tên doanh nghiệp":       "ten_doanh_nghiep",
		"Địa chỉ":                "dia_chi",
		"Ngày sinh (dd/mm/yyyy)": "ngay_sinh_dd_mm_yyyy",
		"Số CMND/CCCD":           "so_cmnd_cccd",
		"Diện tích (m²)":         "dien_tich_m2",
		"Họ và tên ":             "ho_va_ten",
		"2024":                   "c_2024",
		"Năm 2024":               "nam_2024",
		"???":                    "field",
		"fid":                    "src_fid",
		"Geom":                   "src_Geom",
		"geom_web":               "src_geom_web",
	} {
		if got := columnName(in); got != want {
			t.Errorf("columnName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDateKind(t *testing.T) {
	for in, want := range map[string]string{
		"2024-03-15": "date", "15/03/2024": "date", "1/2/2020": "date", "29/02/2024": "date",
		"31/02/2020": "", "2021-02-29": "", "0000-01-01": "", "13/13/2020": "", "03/15/2024": "",
		"2024-03-15T08:30:00+07:00": "datetime", "2024-03-15 08:30": "datetime", "15/03/2024 08:30": "datetime",
		"2024-03-15 25:00": "", "15/03/2024 8:30:59": "datetime", "12345678": "", "2024-03-15x": "",
	} {
		if got := dateKind([]byte(in)); got != want {
			t.Errorf("dateKind(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNumFmtKind(t *testing.T) {
	for _, c := range []struct {
		id   int
		code string
		want string
	}{
		{0, "", ""}, {3, "", ""}, {14, "", "date"}, {22, "", "datetime"}, {20, "", "time"}, {49, "", ""},
		{164, "dd/mm/yyyy", "date"}, {165, `[$-42A]d mmmm yyyy`, "date"}, {166, "yyyy-mm-dd hh:mm", "datetime"},
		{167, `#,##0 "₫"`, ""}, {168, `[Magenta]#,##0.00`, ""}, {169, "[h]:mm:ss", "time"}, {170, "mmm-yy", "date"},
		{171, `_(* #,##0_);_(* (#,##0);_(* "-"_);_(@_)`, ""}, {172, "0.00E+00", ""}, {173, "General", ""},
	} {
		if got := numFmtKind(c.id, c.code); got != c.want {
			t.Errorf("numFmtKind(%d, %q) = %q, want %q", c.id, c.code, got, c.want)
		}
	}
}
