package sample

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/haiduong/hub/access"
)

// The demo's consuming agency: a planning office whose map application is connected to every
// entry shared by default, and holds one agreement for the land register's specific data
// (owners' names, masked: the agreement does not unmask personal data).
const (
	ConsumerAgency      = "demo-planner"
	ConsumerApplication = "ban-do-quy-hoach"
)

// Consumer makes sure the demo's consuming agency exists with its approved request for every
// default entry and its agreement, and returns a new API key for it (valid 30 days), the only
// time its secret is shown. Running it again adds what is missing and another key.
func Consumer(ctx context.Context, pool *pgxpool.Pool) (string, error) {
	tx, err := pool.Begin(ctx)
	if err != nil {
		return "", err
	}
	defer tx.Rollback(ctx)
	for _, stmt := range []string{
		`INSERT INTO agencies (id, name, name_en) VALUES ($1, 'Phòng quy hoạch (minh họa)', 'Planning office (demo)') ON CONFLICT DO NOTHING`,
		`INSERT INTO applications (id, agency_id, name) VALUES ($2, $1, 'Bản đồ quy hoạch') ON CONFLICT DO NOTHING`,
		`INSERT INTO agreements (agency_id, application_id, entry_id, purpose, fields, ends_on, retention, status, decided_at, decided_by)
		 SELECT $1, $2, 'dat-dai', 'Đối chiếu chủ sử dụng khi lập quy hoạch — owners for planning (demo)', '{}',
		        current_date + 365, 'Xóa khi kết thúc thỏa thuận — deleted when the agreement ends', 'approved', now(), 'admin'
		 WHERE NOT EXISTS (SELECT FROM agreements a WHERE a.application_id = $2 AND a.status = 'approved' AND a.ends_on > current_date)`,
	} {
		args := []any{ConsumerAgency, ConsumerApplication}
		if !strings.Contains(stmt, "$2") {
			args = args[:1]
		}
		if _, err := tx.Exec(ctx, stmt, args...); err != nil {
			return "", fmt.Errorf("demo consumer: %w", err)
		}
	}
	// Approved as the owners would: the demo starts connected.
	if err := ConnectDefault(ctx, tx, ConsumerAgency, ConsumerApplication, "Lập và theo dõi quy hoạch — planning (demo)"); err != nil {
		return "", err
	}
	if err := tx.Commit(ctx); err != nil {
		return "", err
	}
	expires := time.Now().AddDate(0, 0, 30)
	_, secret, err := access.CreateKey(ctx, pool, access.NewKey{Agency: ConsumerAgency, Application: ConsumerApplication, Label: "demo", Expires: &expires})
	return secret, err
}

// ConnectDefault gives an agency's application, inside tx, an approved request for every entry
// shared by default that it is not connected to yet, as if each owner had approved it: for
// demonstrations and tests, never for real agencies (whose requests go through their owners).
func ConnectDefault(ctx context.Context, tx pgx.Tx, agency, application, purpose string) error {
	_, err := tx.Exec(ctx, `
INSERT INTO access_requests (agency_id, application_id, entry_id, purpose, status, decided_at, decided_by)
SELECT $1, $2, e.id, $3, 'approved', now(), 'admin'
FROM catalog_entries e
WHERE 'default' = ANY (e.categories)
  AND NOT EXISTS (SELECT FROM access_requests r WHERE r.application_id = $2 AND r.entry_id = e.id AND r.status = 'approved')`,
		agency, application, purpose)
	if err != nil {
		return fmt.Errorf("connect %s/%s: %w", agency, application, err)
	}
	return nil
}
