package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/haiduong/hub/access"
)

const agenciesUsage = `hub agencies list
hub agencies add --id ID --name NAME [--name-en NAME]       a consuming agency
hub agencies app --agency ID --id ID --name NAME            an application of an agency
`

const keysUsage = `hub keys create --agency ID [--application ID] [--label TEXT] [--expires 90d|YYYY-MM-DD]
hub keys list [--agency ID]
hub keys revoke KEY-ID

A key is printed once, when it is made; the hub keeps only its SHA-256.
`

// agenciesCmd registers and lists agencies and their applications.
func agenciesCmd(ctx context.Context, args []string, stdout io.Writer) error {
	var id, name, nameEn, agency *string
	verb, pool, _, err := subcommand(ctx, "agencies", agenciesUsage, args, func(fs *flag.FlagSet) {
		id = fs.String("id", "", "agency or application id (lower-case, hyphens)")
		name = fs.String("name", "", "name, in Vietnamese")
		nameEn = fs.String("name-en", "", "name in English")
		agency = fs.String("agency", "", "the agency an application belongs to")
	})
	if err != nil {
		return err
	}
	defer pool.Close()
	switch verb {
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
	return fmt.Errorf("hub agencies %s: use list, add or app", verb)
}

// keysCmd makes, lists and revokes API keys.
func keysCmd(ctx context.Context, args []string, stdout io.Writer) error {
	var agency, app, label, expires *string
	verb, pool, fs, err := subcommand(ctx, "keys", keysUsage, args, func(fs *flag.FlagSet) {
		agency = fs.String("agency", "", "the agency the key speaks for")
		app = fs.String("application", "", "the application the key is for")
		label = fs.String("label", "", "a note on what the key is for")
		expires = fs.String("expires", "", "when the key stops working: a duration in days (90d) or a date (2027-01-31); default never")
	})
	if err != nil {
		return err
	}
	defer pool.Close()
	switch verb {
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
	return fmt.Errorf("hub keys %s: use create, list or revoke", verb)
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
