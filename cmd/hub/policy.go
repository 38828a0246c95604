package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/haiduong/hub/layers"
)

const layersUsage = `hub layers policy --collection ID [--category open|default|specific|inherit]
                  [--field NAME=CATEGORY]... [--personal NAME]... [--not-personal NAME]...

Sets the sharing categories (Decree 47/2020) of a collection and of its fields, and which
fields hold personal data. "inherit" removes a category of one's own: a field then takes its
collection's, a collection its catalogue entry's. A personal field is never open, whether by
its own category or by inheriting one: such a change is refused. Every running hub follows
at once. Flags may be repeated.
`

// layersCmd edits collections' definitions; today their sharing policy.
func layersCmd(ctx context.Context, args []string, stdout io.Writer) error {
	var collection, category *string
	var fieldCats, personal, notPersonal repeated
	verb, pool, fs, err := subcommand(ctx, "layers", layersUsage, args, func(fs *flag.FlagSet) {
		collection = fs.String("collection", "", "the layer or record collection")
		category = fs.String("category", "", "the collection's category: open, default, specific or inherit (its entry's)")
		fs.Var(&fieldCats, "field", "NAME=CATEGORY: a field's category (open, default, specific or inherit); repeatable")
		fs.Var(&personal, "personal", "NAME: the field holds personal data; repeatable")
		fs.Var(&notPersonal, "not-personal", "NAME: the field holds no personal data; repeatable")
	})
	if err != nil {
		return err
	}
	defer pool.Close()
	if verb != "policy" {
		return fmt.Errorf("hub layers %s: use policy", verb)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("hub layers policy: unexpected %q (every value goes with a flag)", fs.Arg(0))
	}
	if *collection == "" {
		return errors.New("hub layers policy needs --collection")
	}
	if *category == "" && len(fieldCats)+len(personal)+len(notPersonal) == 0 {
		return errors.New("hub layers policy: say what to change (--category, --field, --personal or --not-personal)")
	}
	p, err := policyFromFlags(*category, fieldCats, personal, notPersonal)
	if err != nil {
		return err
	}
	if err := layers.SetPolicy(ctx, pool, *collection, p); err != nil {
		return fmt.Errorf("hub layers policy %s: %w", *collection, err)
	}
	l, err := layers.LoadOne(ctx, pool, *collection)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "collection %s: %s\n", l.ID, strings.Join(l.Categories, ", "))
	tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "FIELD\tCATEGORY\tPERSONAL")
	for _, f := range l.Fields {
		pers := "-"
		if f.Personal {
			pers = "personal"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", f.Name, f.Category, pers)
	}
	return tw.Flush()
}

// policyFromFlags turns the command's flags into a layers.Policy, refusing a field named twice
// in contradiction.
func policyFromFlags(category string, fieldCats, personal, notPersonal []string) (layers.Policy, error) {
	var p layers.Policy
	if category != "" {
		p.Category = &category
	}
	field := func(name string) layers.FieldPolicy {
		if p.Fields == nil {
			p.Fields = map[string]layers.FieldPolicy{}
		}
		return p.Fields[name]
	}
	for _, fc := range fieldCats {
		name, cat, ok := strings.Cut(fc, "=")
		if !ok || name == "" || cat == "" {
			return p, fmt.Errorf("--field %q: give NAME=CATEGORY (open, default, specific or inherit)", fc)
		}
		f := field(name)
		if f.Category != nil {
			return p, fmt.Errorf("--field %s is given twice", name)
		}
		f.Category = &cat
		p.Fields[name] = f
	}
	for _, set := range []struct {
		names []string
		value bool
	}{{personal, true}, {notPersonal, false}} {
		for _, name := range set.names {
			f := field(name)
			if f.Personal != nil && *f.Personal != set.value {
				return p, fmt.Errorf("field %s is given both --personal and --not-personal", name)
			}
			v := set.value
			f.Personal = &v
			p.Fields[name] = f
		}
	}
	return p, nil
}

// repeated is a flag that may be given several times.
type repeated []string

func (r *repeated) String() string { return strings.Join(*r, ",") }

func (r *repeated) Set(s string) error {
	*r = append(*r, s)
	return nil
}
