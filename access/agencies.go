package access

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// AgencyInfo is an agency as the access commands list it: owners of catalogue entries and
// consuming agencies alike, with their applications.
type AgencyInfo struct {
	ID           string   `json:"id"`
	Name         string   `json:"name"`
	NameEn       string   `json:"nameEn,omitempty"`
	Entries      int      `json:"entries"` // catalogue entries it owns
	Applications []string `json:"applications"`
}

var slug = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// AddAgency registers an agency (a consumer that owns no catalogue entry, for instance).
func AddAgency(ctx context.Context, pool *pgxpool.Pool, id, name, nameEn string) error {
	if !slug.MatchString(id) {
		return fmt.Errorf("agency id %q: use lower-case ASCII words joined by hyphens (e.g. ubnd-xa-thanh-mien)", id)
	}
	if strings.TrimSpace(name) == "" {
		return fmt.Errorf("agency %s needs a name", id)
	}
	_, err := pool.Exec(ctx, `INSERT INTO agencies (id, name, name_en) VALUES ($1, $2, $3)`, id, name, nameEn)
	if err != nil && strings.Contains(err.Error(), "agencies_pkey") {
		return fmt.Errorf("agency %s exists already", id)
	}
	return err
}

// AddApplication registers an application of an agency: what requests and keys name.
func AddApplication(ctx context.Context, pool *pgxpool.Pool, id, agency, name string) error {
	if !slug.MatchString(id) {
		return fmt.Errorf("application id %q: use lower-case ASCII words joined by hyphens", id)
	}
	_, err := pool.Exec(ctx, `INSERT INTO applications (id, agency_id, name) VALUES ($1, $2, $3)`, id, agency, name)
	switch {
	case err == nil:
		return nil
	case strings.Contains(err.Error(), "applications_agency_id_fkey"):
		return fmt.Errorf("no agency %q", agency)
	case strings.Contains(err.Error(), "applications_pkey"):
		return fmt.Errorf("application %s exists already", id)
	case strings.Contains(err.Error(), "applications_name_check"):
		return fmt.Errorf("application %s needs a name", id)
	}
	return err
}

// ListAgencies lists every agency with its entries and applications.
func ListAgencies(ctx context.Context, pool *pgxpool.Pool) ([]AgencyInfo, error) {
	rows, err := pool.Query(ctx, `
SELECT a.id, a.name, a.name_en,
       (SELECT count(*) FROM catalog_entries e WHERE e.owner_id = a.id)::int,
       ARRAY(SELECT p.id FROM applications p WHERE p.agency_id = a.id ORDER BY p.id)
FROM agencies a ORDER BY a.id`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (AgencyInfo, error) {
		var a AgencyInfo
		err := row.Scan(&a.ID, &a.Name, &a.NameEn, &a.Entries, &a.Applications)
		return a, err
	})
}
