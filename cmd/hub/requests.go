package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/haiduong/hub/access"
	"github.com/haiduong/hub/accessapi"
	"github.com/haiduong/hub/audit"
)

const requestsUsage = `hub requests list [--agency A] [--owner O] [--entry E] [--status S]
hub requests submit --agency A --application P --entry E --purpose TEXT [--fields a,b] [--frequency F]
hub requests agree  --agency A --application P --entry E --purpose TEXT --ends YYYY-MM-DD --retention TEXT
                    [--starts YYYY-MM-DD] [--fields a,b] [--unmask] [--rows field=v1,v2]
hub requests approve ID | refuse ID --reason TEXT | revoke ID --reason TEXT       a request
hub requests approve-agreement ID | refuse-agreement ID --reason TEXT | revoke-agreement ID --reason TEXT
hub requests grants --agency A --application P                           what the application may read now

The command line acts for the operator: it files on behalf of --agency and decides as the
owner would (through the API, owners decide for themselves).
`

// requestsCmd files, decides and lists access requests and agreements.
func requestsCmd(ctx context.Context, args []string, stdout io.Writer) error {
	var agency, app, entry, owner, status, purpose, fields, freq, reason, starts, ends, retention, rows *string
	var unmask *bool
	verb, pool, fs, err := subcommand(ctx, "requests", requestsUsage, args, func(fs *flag.FlagSet) {
		agency = fs.String("agency", "", "the requesting agency")
		app = fs.String("application", "", "its application")
		entry = fs.String("entry", "", "catalogue entry id")
		owner = fs.String("owner", "", "list: the owner's queue")
		status = fs.String("status", "", "list: submitted, approved, refused or revoked")
		purpose = fs.String("purpose", "", "what the data is for")
		fields = fs.String("fields", "", "fields asked for, comma-separated (default: all the category allows)")
		freq = fs.String("frequency", "", "how often (daily, on-demand…)")
		reason = fs.String("reason", "", "why (refuse, revoke)")
		starts = fs.String("starts", "", "agreement: first day (default today)")
		ends = fs.String("ends", "", "agreement: last day")
		retention = fs.String("retention", "", "agreement: how long the data is kept and how it is deleted")
		rows = fs.String("rows", "", "agreement: the rows covered, field=v1,v2")
		unmask = fs.Bool("unmask", false, "agreement: personal fields shown unmasked")
	})
	if err != nil {
		return err
	}
	defer pool.Close()
	asAgency := access.Principal{Kind: access.Agency, Agency: *agency, Application: *app}
	// "refuse 12 --reason …": flags may follow the ID, where the flag package stops.
	if fs.NArg() > 1 {
		first := fs.Arg(0)
		if err := fs.Parse(fs.Args()[1:]); err != nil {
			return err
		}
		if fs.NArg() != 0 {
			return fmt.Errorf("hub requests %s: one ID, then flags (%q is extra; quote a reason with spaces)", verb, fs.Arg(0))
		}
		if err := fs.Parse([]string{first}); err != nil {
			return err
		}
	}
	id := func() (int64, error) {
		n, err := strconv.ParseInt(fs.Arg(0), 10, 64)
		if fs.NArg() != 1 || err != nil {
			return 0, fmt.Errorf("hub requests %s ID: give the number that hub requests list shows", verb)
		}
		return n, nil
	}
	show := func(v any, err error) error {
		if err != nil {
			return err
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	// act runs a filing or decision, writes its audit record and shows the outcome. Filings
	// name the agency the operator files for.
	act := func(operation string, do func() (id int64, entry string, out any, err error)) error {
		var out any
		err := logged(ctx, pool, func() (audit.Record, error) {
			id, entry, o, err := do()
			out = o
			kind, _, _ := strings.Cut(operation, ".")
			path := fmt.Sprintf("/access/%s/%d", kind, id)
			if strings.HasSuffix(operation, ".submit") {
				path += "?" + url.Values{"agency": {*agency}, "application": {*app}}.Encode()
			}
			rec := accessapi.ActionRecord(operator, operation, path)
			rec.EntryID = entry
			return rec, err
		}, nil)
		return show(out, err)
	}
	list := func(s string) []string {
		if s == "" {
			return nil
		}
		return strings.Split(s, ",")
	}
	day := func(name, s string) (time.Time, error) {
		if s == "" {
			return time.Time{}, nil
		}
		t, err := time.Parse(time.DateOnly, s)
		if err != nil {
			return t, fmt.Errorf("--%s %q: give a date such as 2027-12-31", name, s)
		}
		return t, nil
	}
	switch verb {
	case "list":
		f := access.Filter{Agency: *agency, Owner: *owner, Entry: *entry, Status: *status}
		reqs, err := access.ListRequests(ctx, pool, f)
		if err != nil {
			return err
		}
		ags, err := access.ListAgreements(ctx, pool, f)
		return show(map[string]any{"requests": reqs, "agreements": ags}, err)
	case "submit":
		return act("requests.submit", func() (int64, string, any, error) {
			r, err := access.SubmitRequest(ctx, pool, asAgency, access.RequestInput{Application: *app, Entry: *entry,
				Purpose: *purpose, Fields: list(*fields), Frequency: *freq})
			return r.ID, r.Entry, r, err
		})
	case "agree":
		in := access.AgreementInput{Application: *app, Entry: *entry, Purpose: *purpose, Fields: list(*fields),
			UnmaskPersonal: *unmask, Retention: *retention}
		if in.Starts, err = day("starts", *starts); err != nil {
			return err
		}
		if in.Ends, err = day("ends", *ends); err != nil {
			return err
		}
		if *rows != "" {
			field, vals, ok := strings.Cut(*rows, "=")
			if !ok {
				return fmt.Errorf("--rows %q: write field=v1,v2", *rows)
			}
			in.Rows = map[string][]string{field: list(vals)}
		}
		return act("agreements.submit", func() (int64, string, any, error) {
			a, err := access.SubmitAgreement(ctx, pool, asAgency, in)
			return a.ID, a.Entry, a, err
		})
	case "approve", "refuse", "revoke", "approve-agreement", "refuse-agreement", "revoke-agreement":
		n, err := id()
		if err != nil {
			return err
		}
		action, isAgreement := strings.CutSuffix(verb, "-agreement")
		if isAgreement {
			return act("agreements."+action, func() (int64, string, any, error) {
				var a access.Agreement
				var err error
				if action == "revoke" {
					a, err = access.RevokeAgreement(ctx, pool, operator, n, *reason)
				} else {
					a, err = access.DecideAgreement(ctx, pool, operator, n, action == "approve", *reason)
				}
				return n, a.Entry, a, err
			})
		}
		return act("requests."+action, func() (int64, string, any, error) {
			var r access.Request
			var err error
			if action == "revoke" {
				r, err = access.RevokeRequest(ctx, pool, operator, n, *reason)
			} else {
				r, err = access.DecideRequest(ctx, pool, operator, n, action == "approve", *reason)
			}
			return n, r.Entry, r, err
		})
	case "grants":
		return show(access.Grants(ctx, pool, *agency, *app, time.Now()))
	}
	return fmt.Errorf("hub requests %s: see hub requests -h", verb)
}
