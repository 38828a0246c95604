package layers

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Sharing categories of Decree 47/2020, and Inherit: no category of one's own (a field takes
// its collection's, a collection its catalogue entry's).
const (
	Open     = "open"
	Default  = "default"
	Specific = "specific"
	Inherit  = "inherit"
)

// Policy is a change to a collection's sharing policy, as data: nil members are left as they
// are. Category is the collection's own category or Inherit; each field may get its own
// category (or Inherit) and be marked personal or not.
type Policy struct {
	Category *string                `json:"category,omitempty"`
	Fields   map[string]FieldPolicy `json:"fields,omitempty"`
}

// FieldPolicy is the change to one field's policy.
type FieldPolicy struct {
	Category *string `json:"category,omitempty"`
	Personal *bool   `json:"personal,omitempty"`
}

// ErrNotFound is returned for a collection the registry does not hold.
var ErrNotFound = errors.New("no such collection")

// PolicyError says why a policy change was refused and what to do, in Vietnamese and English;
// Field names what is at fault ("category", "fields.owner_name").
type PolicyError struct{ Field, VI, EN string }

func (e *PolicyError) Error() string { return e.VI + " — " + e.EN }

// SetPolicy applies p to collection id in one transaction, or changes nothing. Personal data is
// never open (Decree 47/2020; Law on Data 2024): the table's CHECK only sees a field's own
// category, so SetPolicy also refuses a personal field that would inherit "open" from its
// collection or, when the collection has no category, from its catalogue entry — whether the
// change touches that field or the collection. Every hub process reloads the registry on the
// NOTIFY the tables' triggers send.
func SetPolicy(ctx context.Context, pool *pgxpool.Pool, id string, p Policy) error {
	if p.Category == nil && len(p.Fields) == 0 {
		return &PolicyError{"", "Không có thay đổi nào: cho biết category hoặc fields",
			"nothing to change: give a category or fields"}
	}
	if p.Category != nil {
		if err := checkCategory("category", *p.Category); err != nil {
			return err
		}
	}
	for _, name := range slices.Sorted(maps.Keys(p.Fields)) {
		f := p.Fields[name]
		if f.Category == nil && f.Personal == nil {
			return &PolicyError{"fields." + name,
				fmt.Sprintf("Trường %q: không có thay đổi nào; cho biết category hoặc personal", name),
				fmt.Sprintf("field %q: nothing to change; give a category or personal", name)}
		}
		if f.Category != nil {
			if err := checkCategory("fields."+name+".category", *f.Category); err != nil {
				return err
			}
		}
	}
	tx, err := pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("set policy of %s: %w", id, err)
	}
	defer tx.Rollback(ctx)
	if err := setPolicy(ctx, tx, id, p); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("set policy of %s: %w", id, err)
	}
	return nil
}

// fieldState is a field's own category ("" when it inherits) and whether it is personal.
type fieldState struct {
	category string
	personal bool
}

func setPolicy(ctx context.Context, tx pgx.Tx, id string, p Policy) error {
	// The rows the decision reads are locked, so that two concurrent changes (one opening the
	// collection, one marking a field personal) cannot each pass alone and together open
	// personal data.
	var own, entry *string
	err := tx.QueryRow(ctx, `SELECT category, entry_id FROM layers WHERE id = $1 FOR UPDATE`, id).Scan(&own, &entry)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%w: %q", ErrNotFound, id)
	}
	if err != nil {
		return fmt.Errorf("set policy of %s: %w", id, err)
	}
	var entryCats []string
	if entry != nil {
		err := tx.QueryRow(ctx, `SELECT categories FROM catalog_entries WHERE id = $1 FOR SHARE`, *entry).Scan(&entryCats)
		if err != nil {
			return fmt.Errorf("set policy of %s: entry %s: %w", id, *entry, err)
		}
	}
	rows, err := tx.Query(ctx, `SELECT name, COALESCE(category, ''), personal FROM layer_fields WHERE layer_id = $1 ORDER BY position FOR UPDATE`, id)
	if err != nil {
		return fmt.Errorf("set policy of %s: %w", id, err)
	}
	fields := map[string]*fieldState{}
	var names []string
	for rows.Next() {
		var name string
		f := &fieldState{}
		if err := rows.Scan(&name, &f.category, &f.personal); err != nil {
			rows.Close()
			return fmt.Errorf("set policy of %s: %w", id, err)
		}
		fields[name] = f
		names = append(names, name)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("set policy of %s: %w", id, err)
	}

	// The policy as it would be after the change.
	layerCat := ""
	if own != nil {
		layerCat = *own
	}
	if p.Category != nil {
		layerCat = ownCategory(*p.Category)
	}
	for _, name := range slices.Sorted(maps.Keys(p.Fields)) {
		f, ok := fields[name]
		if !ok {
			return &PolicyError{"fields." + name,
				fmt.Sprintf("Lớp dữ liệu %q không có trường %q; xem /collections/%s/schema", id, name, id),
				fmt.Sprintf("collection %q has no field %q; see /collections/%s/schema", id, name, id)}
		}
		if c := p.Fields[name].Category; c != nil {
			f.category = ownCategory(*c)
		}
		if v := p.Fields[name].Personal; v != nil {
			f.personal = *v
		}
	}
	// A field without a category of its own takes the collection's; a collection without one
	// its entry's, of which "open" is the least restrictive: if the entry lists it, a field
	// inheriting may be served openly.
	inherited, from := layerCat, "collection"
	if inherited == "" {
		inherited, from = Default, "entry"
		if slices.Contains(entryCats, Open) {
			inherited = Open
		}
	}
	var openPersonal []string
	for _, name := range names {
		f := fields[name]
		if f.personal && (f.category == Open || f.category == "" && inherited == Open) {
			openPersonal = append(openPersonal, name)
		}
	}
	if len(openPersonal) > 0 {
		return personalOpenError(id, openPersonal, fields, from, entry)
	}

	if p.Category != nil {
		if _, err := tx.Exec(ctx, `UPDATE layers SET category = $2 WHERE id = $1`, id, nullable(layerCat)); err != nil {
			return fmt.Errorf("set category of %s: %w", id, err)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(p.Fields)) {
		f := fields[name]
		_, err := tx.Exec(ctx, `UPDATE layer_fields SET category = $3, personal = $4 WHERE layer_id = $1 AND name = $2`,
			id, name, nullable(f.category), f.personal)
		if err != nil {
			return fmt.Errorf("set policy of field %s of %s: %w", name, id, err)
		}
	}
	// What the collection serves has changed: a new data version gives its tiles new cache
	// keys and its items new ETags, so no cache (in-process, Redis, a client's) goes on
	// serving a field under its old category.
	if _, err := tx.Exec(ctx, `UPDATE layers SET data_version = data_version + 1 WHERE id = $1`, id); err != nil {
		return fmt.Errorf("set policy of %s: %w", id, err)
	}
	return nil
}

// personalOpenError names the personal fields that would be open and where "open" comes from.
func personalOpenError(id string, names []string, fields map[string]*fieldState, from string, entry *string) error {
	var own, inheriting []string
	for _, n := range names {
		if fields[n].category == Open {
			own = append(own, n)
		} else {
			inheriting = append(inheriting, n)
		}
	}
	field := "fields." + names[0]
	if len(own) > 0 {
		return &PolicyError{field,
			fmt.Sprintf("Trường %s là dữ liệu cá nhân, không được chia sẻ mở; chọn default hoặc specific", strings.Join(own, ", ")),
			fmt.Sprintf("field %s holds personal data, which is never open; use default or specific", strings.Join(own, ", "))}
	}
	list := strings.Join(inheriting, ", ")
	if from == "collection" {
		return &PolicyError{field,
			fmt.Sprintf("Trường cá nhân %s sẽ thừa hưởng chia sẻ mở của lớp %q; đặt cho trường đó category default hoặc specific trước", list, id),
			fmt.Sprintf("personal field %s would inherit open sharing from collection %q; give it its own category default or specific first", list, id)}
	}
	e := ""
	if entry != nil {
		e = *entry
	}
	return &PolicyError{field,
		fmt.Sprintf("Trường cá nhân %s sẽ thừa hưởng chia sẻ mở từ mục danh mục %q; đặt cho trường đó category default hoặc specific, hoặc cho lớp %q một category khác open", list, e, id),
		fmt.Sprintf("personal field %s would inherit open sharing from catalogue entry %q; give it its own category default or specific, or give collection %q a category other than open", list, e, id)}
}

func checkCategory(field, c string) error {
	switch c {
	case Open, Default, Specific, Inherit:
		return nil
	}
	return &PolicyError{field,
		fmt.Sprintf("%s: %q không phải phân loại chia sẻ; chọn open, default, specific hoặc inherit", field, c),
		fmt.Sprintf("%s: %q is not a sharing category; use open, default, specific or inherit", field, c)}
}

// ownCategory is what is stored for a category given in a Policy: "" (NULL) for Inherit.
func ownCategory(c string) string {
	if c == Inherit {
		return ""
	}
	return c
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}
