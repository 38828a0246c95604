package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/haiduong/hub/access"
	"github.com/haiduong/hub/accessapi"
	"github.com/haiduong/hub/audit"
)

// operator is who acts on the command line: the audit log names it "admin", by "command line".
var operator = access.Principal{Kind: access.Admin, Credential: "command line"}

// logged runs an administrative action of the command line and writes its audit record, which
// action returns. The log is started first, so that a log that cannot be written refuses the
// action before anything changes; the record is written after the action, because it names what
// the action made (a key's id, a request's number). If that write still fails, undo (when
// given) takes back what can be taken back, and the error says what happened.
func logged(ctx context.Context, pool *pgxpool.Pool, action func() (audit.Record, error), undo func(context.Context) error) error {
	l := audit.New(pool, audit.Options{})
	if err := l.Start(ctx); err != nil {
		return fmt.Errorf("không ghi được nhật ký truy cập, chưa làm gì — the audit log cannot be written, nothing was done: %w", err)
	}
	defer l.Close()
	rec, err := action()
	if err != nil {
		return err
	}
	if err := l.Record(ctx, rec); err != nil {
		if undo == nil {
			return fmt.Errorf("%s %s was done, but its audit record could not be written (note it for the log): %w", rec.Operation, rec.Query, err)
		}
		if uerr := undo(context.WithoutCancel(ctx)); uerr != nil {
			return fmt.Errorf("%s %s was done, its audit record could not be written (%w), and undoing it failed: %w", rec.Operation, rec.Query, err, uerr)
		}
		return fmt.Errorf("%s %s was undone: its audit record could not be written: %w", rec.Operation, rec.Query, err)
	}
	return nil
}

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
		err := logged(ctx, pool, func() (audit.Record, error) {
			return accessapi.ActionRecord(operator, "agencies.add", "/admin/agencies/"+*id), access.AddAgency(ctx, pool, *id, *name, *nameEn)
		}, nil)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "agency %s added\n", *id)
		return nil
	case "app":
		err := logged(ctx, pool, func() (audit.Record, error) {
			return accessapi.ActionRecord(operator, "applications.add", "/admin/agencies/"+*agency+"/applications/"+*id),
				access.AddApplication(ctx, pool, *id, *agency, *name)
		}, nil)
		if err != nil {
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
		expires = fs.String("expires", "", "when the key stops working: days (90d), a date (2027-01-31, a day in Vietnam) or an RFC 3339 time; default never")
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
		exp, err := accessapi.ParseExpiry(*expires, time.Now())
		if err != nil {
			return fmt.Errorf("--expires %w", err)
		}
		var k access.Key
		var secret string
		err = logged(ctx, pool, func() (audit.Record, error) {
			var err error
			k, secret, err = access.CreateKey(ctx, pool, access.NewKey{Agency: *agency, Application: *app, Label: *label, Expires: exp})
			return accessapi.ActionRecord(operator, "keys.create", "/admin/keys/"+k.ID), err
		}, func(ctx context.Context) error { return access.RevokeKey(ctx, pool, k.ID) }) // an unlogged key must not work
		if err != nil {
			return err
		}
		// Only now, with its record committed, is the secret shown.
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
		err := logged(ctx, pool, func() (audit.Record, error) {
			return accessapi.ActionRecord(operator, "keys.revoke", "/admin/keys/"+fs.Arg(0)), access.RevokeKey(ctx, pool, fs.Arg(0))
		}, nil)
		if err != nil {
			return fmt.Errorf("revoke %s: %w", fs.Arg(0), err)
		}
		fmt.Fprintf(stdout, "key %s revoked\n", fs.Arg(0))
		return nil
	}
	return fmt.Errorf("hub keys %s: use create, list or revoke", verb)
}
