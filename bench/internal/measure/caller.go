package measure

import (
	"context"
	"log"
	"net/http"
	"os"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/haiduong/hub/access"
	"github.com/haiduong/hub/policy"
)

// Caller is who the benchmark speaks for: the API key in HUB_BENCH_KEY (none: anonymous) and
// that caller's policy, so that the direct-SQL reference runs the very statement the hub runs
// for it (its view of the collection), and a client over transport that sends the key with
// every request.
func Caller(ctx context.Context, pool *pgxpool.Pool, transport *http.Transport) (*policy.Policy, *http.Client) {
	key := os.Getenv("HUB_BENCH_KEY")
	if key == "" {
		return policy.Open(), &http.Client{Transport: transport}
	}
	p, err := access.NewAuthenticator(pool, nil).Authenticate(ctx, key)
	if err != nil {
		log.Fatalf("HUB_BENCH_KEY: %v", err)
	}
	pol, err := policy.NewDecider(pool).For(ctx, p)
	if err != nil {
		log.Fatal(err)
	}
	return pol, &http.Client{Transport: withKey{key, transport}}
}

type withKey struct {
	key  string
	next http.RoundTripper
}

func (k withKey) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+k.key)
	return k.next.RoundTrip(r)
}
