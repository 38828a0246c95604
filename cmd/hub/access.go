package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/haiduong/hub/access"
)

// agenciesCmd: hub agencies list | add --id ID --name NAME [--name-en N] | app --agency A --id ID --name NAME.
func agenciesCmd(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New("hub agencies list | add --id ID --name NAME [--name-en NAME] | app --agency ID --id ID --name NAME")
	}
	fs, dbURL := flags("agencies " + args[0])
	id := fs.String("id", "", "agency or application id (lower-case, hyphens)")
	name := fs.String("name", "", "name, in Vietnamese")
	nameEn := fs.String("name-en", "", "name in English")
	agency := fs.String("agency", "", "the agency an application belongs to")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	pool, err := openMigrated(ctx, *dbURL)
	if err != nil {
		return err
	}
	defer pool.Close()
	switch args[0] {
	case "list":
		list, err := access.ListAgencies(ctx, pool)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tENTRIES\tAPPLICATIONS\tNAME")
		for _, a := range list {
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", a.ID, a.Entries, strings.Join(a.Applications, ","), a.Name)
		}
		return tw.Flush()
	case "add":
		if err := access.AddAgency(ctx, pool, *id, *name, *nameEn); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "agency %s added\n", *id)
		return nil
	case "app":
		if err := access.AddApplication(ctx, pool, *id, *agency, *name); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "application %s of %s added\n", *id, *agency)
		return nil
	}
	return fmt.Errorf("hub agencies %s: use list, add or app", args[0])
}

// keysCmd: hub keys create --agency A [--application APP] [--label L] [--expires 90d|2027-01-31] | list [--agency A] | revoke ID.
func keysCmd(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New("hub keys create --agency ID [--application ID] [--label TEXT] [--expires 90d|YYYY-MM-DD] | list [--agency ID] | revoke KEY-ID")
	}
	fs, dbURL := flags("keys " + args[0])
	agency := fs.String("agency", "", "the agency the key speaks for")
	app := fs.String("application", "", "the application the key is for")
	label := fs.String("label", "", "a note on what the key is for")
	expires := fs.String("expires", "", "when the key stops working: a duration in days (90d) or a date (2027-01-31); default never")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	pool, err := openMigrated(ctx, *dbURL)
	if err != nil {
		return err
	}
	defer pool.Close()
	switch args[0] {
	case "create":
		if *agency == "" {
			return errors.New("hub keys create needs --agency")
		}
		exp, err := parseExpiry(*expires, time.Now())
		if err != nil {
			return err
		}
		k, secret, err := access.CreateKey(ctx, pool, access.NewKey{Agency: *agency, Application: *app, Label: *label, Expires: exp})
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "key %s for %s created; it is shown this once, keep it secret:\n%s\n", k.ID, k.Agency, secret)
		return nil
	case "list":
		keys, err := access.ListKeys(ctx, pool, *agency)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tAGENCY\tAPPLICATION\tCREATED\tEXPIRES\tSTATE\tLABEL")
		now := time.Now()
		for _, k := range keys {
			state, exp := "active", "-"
			if k.Expires != nil {
				exp = k.Expires.Format(time.DateOnly)
			}
			switch {
			case k.Revoked != nil:
				state = "revoked " + k.Revoked.Format(time.DateOnly)
			case !k.Active(now):
				state = "expired"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.Agency, k.Application, k.Created.Format(time.DateOnly), exp, state, k.Label)
		}
		return tw.Flush()
	case "revoke":
		if fs.NArg() != 1 {
			return errors.New("hub keys revoke KEY-ID (the hub_… id that hub keys list shows)")
		}
		if err := access.RevokeKey(ctx, pool, fs.Arg(0)); err != nil {
			return fmt.Errorf("revoke %s: %w", fs.Arg(0), err)
		}
		fmt.Fprintf(stdout, "key %s revoked\n", fs.Arg(0))
		return nil
	}
	return fmt.Errorf("hub keys %s: use create, list or revoke", args[0])
}

// parseExpiry reads "90d" (days from now) or a date; "" is no expiry.
func parseExpiry(s string, now time.Time) (*time.Time, error) {
	if s == "" {
		return nil, nil
	}
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(d)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("--expires %q: give days (90d) or a date (2027-01-31)", s)
		}
		t := now.AddDate(0, 0, n)
		return &t, nil
	}
	t, err := time.ParseInLocation(time.DateOnly, s, time.Local)
	if err != nil {
		return nil, fmt.Errorf("--expires %q: give days (90d) or a date (2027-01-31)", s)
	}
	return &t, nil
}
