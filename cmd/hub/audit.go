package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/haiduong/hub/audit"
)

const auditUsage = `hub audit verify [--database-url URL]

verify walks the access log (Decree 47/2020 Art. 45) from its first record, recomputes every
hash of the chain and checks that no sequence number is missing. It prints the number of records
and the last hash (note it: removing records from the end is only detected against it) and exits
non-zero naming the first broken link.
`

func auditCmd(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "verify" {
		fmt.Fprint(os.Stderr, auditUsage)
		return errors.New("hub audit: say verify")
	}
	fs, dbURL := flags("audit verify")
	fs.Usage = func() { fmt.Fprint(os.Stderr, auditUsage); fs.PrintDefaults() }
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	pool, err := openMigrated(ctx, *dbURL)
	if err != nil {
		return err
	}
	defer pool.Close()
	res, err := audit.Verify(ctx, pool)
	if err != nil {
		return err
	}
	if b := res.Broken; b != nil {
		return fmt.Errorf("nhật ký truy cập bị sửa đổi — audit log broken at seq %d: %s (%s); the %d records before it are intact, %d records read",
			b.Seq, b.Problem, b.Detail, res.Intact, res.Records)
	}
	last := "none"
	if res.LastHash != nil {
		last = fmt.Sprintf("%x (seq %d)", res.LastHash, res.LastSeq)
	}
	fmt.Fprintf(stdout, "nhật ký truy cập toàn vẹn — audit log intact: %d records, last hash %s\n", res.Records, last)
	return nil
}
