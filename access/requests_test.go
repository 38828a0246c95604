package access_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/haiduong/hub/access"
	"github.com/haiduong/hub/internal/testdb"
)

// TestRequestsAndAgreements walks both life cycles as Decree 47/2020 has them: who may file,
// who decides, what needs a reason, and what Grants then gives the application.
func TestRequestsAndAgreements(t *testing.T) {
	ctx := context.Background()
	pool := testdb.Pool(t)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(access.AddAgency(ctx, pool, "ubnd-xa-a", "UBND xã A", ""))
	must(access.AddApplication(ctx, pool, "mot-cua-a", "ubnd-xa-a", "Một cửa xã A"))
	must(access.AddAgency(ctx, pool, "ubnd-xa-b", "UBND xã B", ""))
	// dang-ky-doanh-nghiep (#12, default, owned by so-ke-hoach-va-dau-tu) and dat-dai (#14,
	// default and specific, owned by so-tai-nguyen-va-moi-truong) with a collection each.
	var ownerDKDN, ownerDD string
	must(pool.QueryRow(ctx, `SELECT owner_id FROM catalog_entries WHERE id = 'dang-ky-doanh-nghiep'`).Scan(&ownerDKDN))
	must(pool.QueryRow(ctx, `SELECT owner_id FROM catalog_entries WHERE id = 'dat-dai'`).Scan(&ownerDD))
	for _, sql := range []string{
		`INSERT INTO layers (id, title, entry_id, table_name, item_type, key_field, geometry_column) VALUES
		   ('firms', 'Doanh nghiệp', 'dang-ky-doanh-nghiep', 'firms', 'record', 'tax_code', NULL),
		   ('plots', 'Thửa đất', 'dat-dai', 'plots', 'record', 'code', NULL)`,
		`INSERT INTO layer_fields (layer_id, name, position, type, personal, category) VALUES
		   ('firms', 'tax_code', 1, 'string', false, NULL), ('firms', 'name', 2, 'string', false, NULL),
		   ('firms', 'legal_representative', 3, 'string', true, 'specific'),
		   ('plots', 'code', 1, 'string', false, NULL), ('plots', 'commune_code', 2, 'string', false, NULL),
		   ('plots', 'owner_name', 3, 'string', true, 'specific')`,
	} {
		_, err := pool.Exec(ctx, sql)
		must(err)
	}
	a := access.Principal{Kind: access.Agency, Agency: "ubnd-xa-a", Application: "mot-cua-a"}
	b := access.Principal{Kind: access.Agency, Agency: "ubnd-xa-b"}
	ownerFirms := access.Principal{Kind: access.Agency, Agency: ownerDKDN}
	ownerPlots := access.Principal{Kind: access.Agency, Agency: ownerDD}
	admin := access.Principal{Kind: access.Admin}
	refused := func(err error, why string) {
		t.Helper()
		if err == nil || !strings.Contains(err.Error(), why) {
			t.Errorf("got %v, want an error saying %q", err, why)
		}
	}

	// Filing.
	in := access.RequestInput{Application: "mot-cua-a", Entry: "dang-ky-doanh-nghiep", Purpose: "Tra cứu doanh nghiệp khi cấp phép", Fields: []string{"tax_code", "name"}, Frequency: "on-demand"}
	_, err := access.SubmitRequest(ctx, pool, access.AnonymousPrincipal, in)
	refused(err, "only an agency")
	_, err = access.SubmitRequest(ctx, pool, a, access.RequestInput{Application: "mot-cua-a", Entry: "dang-ky-doanh-nghiep", Purpose: "x", Fields: []string{"legal_representative"}})
	refused(err, "personal data")
	_, err = access.SubmitRequest(ctx, pool, b, access.RequestInput{Application: "mot-cua-a", Entry: "dang-ky-doanh-nghiep", Purpose: "x"})
	refused(err, "has no application")
	_, err = access.SubmitRequest(ctx, pool, a, access.RequestInput{Application: "mot-cua-a", Entry: "dang-ky-doanh-nghiep", Purpose: "x", Fields: []string{"nope"}})
	refused(err, `no field "nope"`)
	r, err := access.SubmitRequest(ctx, pool, a, in)
	must(err)
	if r.Status != access.Submitted {
		t.Fatalf("a new request is %s", r.Status)
	}
	_, err = access.SubmitRequest(ctx, pool, a, in)
	refused(err, "already has a pending or approved request")

	// Deciding: only the owner (or the operator); a refusal needs a reason.
	_, err = access.DecideRequest(ctx, pool, b, r.ID, true, "")
	refused(err, "only the owner")
	_, err = access.DecideRequest(ctx, pool, ownerFirms, r.ID, false, " ")
	refused(err, "needs a reason")
	if g, _ := access.Grants(ctx, pool, "ubnd-xa-a", "mot-cua-a", time.Now()); len(g) != 0 {
		t.Errorf("grants before approval: %+v", g)
	}
	r, err = access.DecideRequest(ctx, pool, ownerFirms, r.ID, true, "")
	must(err)
	if r.Status != access.Approved || r.DecidedBy != "agency:"+ownerDKDN || r.Decided == nil {
		t.Errorf("approved request: %+v", r)
	}
	_, err = access.DecideRequest(ctx, pool, ownerFirms, r.ID, false, "again")
	refused(err, "approved already")
	g, err := access.Grants(ctx, pool, "ubnd-xa-a", "mot-cua-a", time.Now())
	must(err)
	if len(g) != 1 || g[0].Entry != "dang-ky-doanh-nghiep" || g[0].Category != "default" || strings.Join(g[0].Fields, ",") != "tax_code,name" || g[0].Source == "" {
		t.Errorf("grants: %+v", g)
	}
	if queue, _ := access.ListRequests(ctx, pool, access.Filter{Owner: ownerDKDN}); len(queue) != 1 || queue[0].ID != r.ID {
		t.Errorf("owner's queue: %+v", queue)
	}

	// The requesting agency may withdraw; then nothing is granted.
	_, err = access.RevokeRequest(ctx, pool, a, r.ID, "")
	refused(err, "reason")
	r, err = access.RevokeRequest(ctx, pool, a, r.ID, "Không còn sử dụng")
	must(err)
	if g, _ := access.Grants(ctx, pool, "ubnd-xa-a", "mot-cua-a", time.Now()); r.Status != access.Revoked || len(g) != 0 {
		t.Errorf("after withdrawal: %s, grants %+v", r.Status, g)
	}

	// A refusal keeps its reason and who gave it; the application may then ask again.
	r, err = access.SubmitRequest(ctx, pool, a, in)
	must(err)
	r, err = access.DecideRequest(ctx, pool, admin, r.ID, false, "Chưa nêu căn cứ pháp lý")
	must(err)
	if r.Status != access.Refused || r.Reason != "Chưa nêu căn cứ pháp lý" || r.DecidedBy != "admin" {
		t.Errorf("refused request: %+v", r)
	}
	_, err = access.RevokeRequest(ctx, pool, ownerFirms, r.ID, "x")
	refused(err, "refused already")
	if mine, _ := access.ListRequests(ctx, pool, access.Filter{Agency: "ubnd-xa-a", Status: access.Refused}); len(mine) != 1 || mine[0].ID != r.ID {
		t.Errorf("the agency's refused requests: %+v", mine)
	}

	// An owner who auto-approves connects at once.
	_, err = pool.Exec(ctx, `UPDATE catalog_entries SET auto_approve = true WHERE id = 'dang-ky-doanh-nghiep'`)
	must(err)
	r, err = access.SubmitRequest(ctx, pool, a, in)
	must(err)
	if r.Status != access.Approved || r.DecidedBy != "auto" {
		t.Errorf("auto-approved request: %+v", r)
	}

	// Agreements: only for specific data, time-bounded, with retention terms and rows.
	ends := time.Now().AddDate(1, 0, 0)
	ag := access.AgreementInput{Application: "mot-cua-a", Entry: "dat-dai", Purpose: "Giải quyết tranh chấp đất đai",
		Fields: []string{"code", "owner_name"}, UnmaskPersonal: true, Rows: map[string][]string{"commune_code": {"10537", "10540"}},
		Ends: ends, Retention: "Lưu 5 năm, sau đó xóa"}
	// An entry shared by default with nothing restricted in it takes no agreement…
	_, err = access.SubmitAgreement(ctx, pool, a, access.AgreementInput{Application: "mot-cua-a", Entry: "thu-tuc-hanh-chinh", Purpose: "x", Ends: ends, Retention: "x"})
	refused(err, "specific sharing")
	// …but one holding personal data does: the agreement is how it is shared.
	if _, err := access.SubmitAgreement(ctx, pool, a, access.AgreementInput{Application: "mot-cua-a", Entry: "dang-ky-doanh-nghiep",
		Purpose: "Xác minh người đại diện", Fields: []string{"legal_representative"}, Ends: ends, Retention: "x"}); err != nil {
		t.Errorf("agreement for the personal data of a default entry: %v", err)
	}
	bad := ag
	bad.Retention = ""
	_, err = access.SubmitAgreement(ctx, pool, a, bad)
	refused(err, "retention")
	bad = ag
	bad.Ends = time.Now().AddDate(0, 0, -1)
	_, err = access.SubmitAgreement(ctx, pool, a, bad)
	refused(err, "in the future")
	bad = ag
	bad.Rows = map[string][]string{"district": {"1"}}
	_, err = access.SubmitAgreement(ctx, pool, a, bad)
	refused(err, "row restriction")
	agr, err := access.SubmitAgreement(ctx, pool, a, ag)
	must(err)
	_, err = access.DecideAgreement(ctx, pool, ownerFirms, agr.ID, true, "")
	refused(err, "only the owner")
	agr, err = access.DecideAgreement(ctx, pool, ownerPlots, agr.ID, true, "")
	must(err)
	if agr.State(time.Now()) != access.Active || agr.State(ends.AddDate(0, 0, 2)) != access.Expired {
		t.Errorf("agreement state now %s, after its end %s", agr.State(time.Now()), agr.State(ends.AddDate(0, 0, 2)))
	}
	g, err = access.Grants(ctx, pool, "ubnd-xa-a", "mot-cua-a", time.Now())
	must(err)
	var spec *access.Grant
	for i := range g {
		if g[i].Category == "specific" {
			spec = &g[i]
		}
	}
	if len(g) != 2 || spec == nil || !spec.Unmask || strings.Join(spec.Rows["commune_code"], ",") != "10537,10540" {
		t.Errorf("grants with the agreement: %+v", g)
	}
	if len(g.For("dat-dai")) != 1 || len(g.For("dang-ky-doanh-nghiep")) != 1 || len(g.For("quy-hoach")) != 0 {
		t.Errorf("grants by entry: %+v", g)
	}
	if later, _ := access.Grants(ctx, pool, "ubnd-xa-a", "mot-cua-a", ends.AddDate(0, 0, 2)); len(later) != 1 {
		t.Errorf("grants after the agreement ends: %+v", later)
	}
	if other, _ := access.Grants(ctx, pool, "ubnd-xa-a", "another-app", time.Now()); len(other) != 0 {
		t.Errorf("grants of another application: %+v", other)
	}
	// An agreement whose last day passed before the owner looked at it cannot be approved.
	late, err := access.SubmitAgreement(ctx, pool, a, ag)
	must(err)
	_, err = pool.Exec(ctx, `UPDATE agreements SET starts_on = current_date - 30, ends_on = current_date - 1 WHERE id = $1`, late.ID)
	must(err)
	_, err = access.DecideAgreement(ctx, pool, ownerPlots, late.ID, true, "")
	refused(err, "last day has passed")
	late, err = access.DecideAgreement(ctx, pool, ownerPlots, late.ID, false, "Quá hạn")
	must(err)
	if late.Status != access.Refused || late.State(time.Now()) != access.Refused {
		t.Errorf("late agreement: %+v", late)
	}
	agr, err = access.RevokeAgreement(ctx, pool, admin, agr.ID, "Hết nhu cầu")
	must(err)
	if g, _ := access.Grants(ctx, pool, "ubnd-xa-a", "mot-cua-a", time.Now()); agr.Status != access.Revoked || len(g) != 1 {
		t.Errorf("after revoking the agreement: %s, grants %+v", agr.Status, g)
	}
}
