package access_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/haiduong/hub/access"
	"github.com/haiduong/hub/internal/testdb"
)

func TestMain(m *testing.M) { testdb.Main(m) }

func TestKeys(t *testing.T) {
	ctx := context.Background()
	pool := testdb.Pool(t)
	if err := access.AddAgency(ctx, pool, "ubnd-xa-thanh-mien", "UBND xã Thanh Miện", "Thanh Miện commune"); err != nil {
		t.Fatal(err)
	}
	if err := access.AddApplication(ctx, pool, "mot-cua-thanh-mien", "ubnd-xa-thanh-mien", "Một cửa xã Thanh Miện"); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []func() error{
		func() error { return access.AddAgency(ctx, pool, "ubnd-xa-thanh-mien", "again", "") },
		func() error { return access.AddAgency(ctx, pool, "Bad Id", "x", "") },
		func() error { return access.AddApplication(ctx, pool, "x", "no-such-agency", "x") },
		func() error {
			_, _, err := access.CreateKey(ctx, pool, access.NewKey{Agency: "no-such-agency"})
			return err
		},
	} {
		if err := bad(); err == nil {
			t.Error("a bad agency, application or key was accepted")
		}
	}

	k, secret, err := access.CreateKey(ctx, pool, access.NewKey{Agency: "ubnd-xa-thanh-mien", Application: "mot-cua-thanh-mien", Label: "thử"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(secret, k.ID+"_") || len(secret) != len("hub_")+8+1+32 {
		t.Fatalf("key %s, secret of %d characters", k.ID, len(secret))
	}
	// Only the hash is stored, and nothing listed holds the secret.
	var stored int
	pool.QueryRow(ctx, `SELECT count(*) FROM api_keys WHERE secret_sha256 = sha256(convert_to($1, 'UTF8'))`, secret).Scan(&stored)
	var plain int
	pool.QueryRow(ctx, `SELECT count(*) FROM api_keys WHERE position($1 IN row(api_keys.*)::text) > 0`, secret[len(k.ID)+1:]).Scan(&plain)
	if stored != 1 || plain != 0 {
		t.Errorf("stored by hash: %d rows; in plain text: %d rows", stored, plain)
	}
	keys, err := access.ListKeys(ctx, pool, "ubnd-xa-thanh-mien")
	if err != nil || len(keys) != 1 || keys[0].ID != k.ID || !keys[0].Active(time.Now()) {
		t.Fatalf("list: %+v, %v", keys, err)
	}

	authn := access.NewAuthenticator(pool, nil)
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go authn.Listen(lctx)
	p, err := authn.Authenticate(ctx, secret)
	if err != nil || p.Kind != access.Agency || p.Agency != "ubnd-xa-thanh-mien" || p.Application != "mot-cua-thanh-mien" || p.Credential != k.ID {
		t.Fatalf("principal %+v, %v", p, err)
	}
	refused := func(cred, why string) {
		t.Helper()
		_, err := authn.Authenticate(ctx, cred)
		if !access.IsCredentialError(err) || !strings.Contains(err.Error(), why) {
			t.Errorf("%q: %v, want a refusal saying %q", cred, err, why)
		}
	}
	wrong := secret[:len(secret)-1] + map[bool]string{true: "b", false: "a"}[strings.HasSuffix(secret, "a")]
	refused(wrong, "unknown API key")
	refused("hub_nothing", "unknown API key")
	refused("password123", "not an API key")
	refused("a.b.c", "HUB_OIDC_ISSUER")

	// A revocation reaches the cached authenticator at once (NOTIFY).
	if err := access.RevokeKey(ctx, pool, k.ID); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := authn.Authenticate(ctx, secret)
		if access.IsCredentialError(err) && strings.Contains(err.Error(), "revoked") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a revoked key still works after 5 s: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := access.RevokeKey(ctx, pool, "hub_aaaaaaaa"); err != access.ErrNoKey {
		t.Errorf("revoking an unknown key: %v", err)
	}

	// An expired key is refused.
	soon := time.Now().Add(300 * time.Millisecond)
	_, short, err := access.CreateKey(ctx, pool, access.NewKey{Agency: "ubnd-xa-thanh-mien", Expires: &soon})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := authn.Authenticate(ctx, short); err != nil {
		t.Fatalf("a fresh key: %v", err)
	}
	time.Sleep(time.Until(soon) + 50*time.Millisecond)
	refused(short, "expired")
	past := time.Now().Add(-time.Hour)
	if _, _, err := access.CreateKey(ctx, pool, access.NewKey{Agency: "ubnd-xa-thanh-mien", Expires: &past}); err == nil {
		t.Error("a key expiring in the past was created")
	}
}
