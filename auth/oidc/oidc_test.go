package oidc_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"

	"github.com/haiduong/hub/auth/oidc"
	"github.com/haiduong/hub/auth/oidc/oidctest"
)

func newVerifier(t *testing.T, iss *oidctest.Issuer, opts ...oidc.Option) *oidc.Verifier {
	t.Helper()
	v, err := oidc.New(context.Background(), iss.Issuer(), iss.Audience(), opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return v
}

func TestVerifyGoodToken(t *testing.T) {
	iss := oidctest.New(t)
	v := newVerifier(t, iss)
	exp := time.Now().Add(2 * time.Minute).Truncate(time.Second)

	tok := iss.Token(map[string]any{
		"sub":    "nguyen.van.a",
		"email":  "a@stc.example.gov.vn",
		"name":   "Nguyễn Văn A",
		"agency": "so-tai-chinh",
		"azp":    "cong-du-lieu-stc",
		"exp":    exp,
	})
	id, err := v.Verify(context.Background(), tok)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	want := oidc.Identity{
		Subject: "nguyen.van.a", Issuer: iss.Issuer(), Email: "a@stc.example.gov.vn", Name: "Nguyễn Văn A",
		Agency: "so-tai-chinh", Application: "cong-du-lieu-stc", Expiry: exp,
	}
	got := id
	got.Claims = nil
	if !got.Expiry.Equal(want.Expiry) {
		t.Errorf("Expiry = %v, want %v", got.Expiry, want.Expiry)
	}
	got.Expiry = want.Expiry
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Identity = %+v\nwant %+v", got, want)
	}
	if id.Claims["agency"] != "so-tai-chinh" || id.Claims["aud"] != iss.Audience() {
		t.Errorf("Claims = %v", id.Claims)
	}

	// A machine client: client_id instead of azp, no agency.
	id, err = v.Verify(context.Background(), iss.Token(map[string]any{"sub": "svc-1", "client_id": "etl-so-xay-dung"}))
	if err != nil {
		t.Fatalf("Verify client_id token: %v", err)
	}
	if id.Application != "etl-so-xay-dung" || id.Agency != "" {
		t.Errorf("Application, Agency = %q, %q", id.Application, id.Agency)
	}

	// aud may be an array that includes the hub.
	if _, err := v.Verify(context.Background(), iss.Token(map[string]any{"sub": "x", "aud": []string{"other", iss.Audience()}})); err != nil {
		t.Errorf("Verify with aud array: %v", err)
	}
}

func TestVerifyES256(t *testing.T) {
	iss := oidctest.New(t)
	v := newVerifier(t, iss)
	id, err := v.Verify(context.Background(), iss.TokenES256(map[string]any{"sub": "ec-user", "agency": "so-y-te"}))
	if err != nil {
		t.Fatalf("Verify ES256: %v", err)
	}
	if id.Subject != "ec-user" || id.Agency != "so-y-te" {
		t.Errorf("Identity = %+v", id)
	}
}

func TestAgencyClaimOption(t *testing.T) {
	iss := oidctest.New(t)
	v := newVerifier(t, iss, oidc.WithAgencyClaim("ma_don_vi"))
	id, err := v.Verify(context.Background(), iss.Token(map[string]any{"sub": "u", "agency": "ignored", "ma_don_vi": "so-giao-duc"}))
	if err != nil {
		t.Fatal(err)
	}
	if id.Agency != "so-giao-duc" {
		t.Errorf("Agency = %q", id.Agency)
	}
}

func TestClockSkew(t *testing.T) {
	iss := oidctest.New(t)
	v := newVerifier(t, iss) // 30 s by default
	now := time.Now()
	for _, c := range []struct {
		name   string
		claims map[string]any
	}{
		{"expired 10s ago", map[string]any{"exp": now.Add(-10 * time.Second)}},
		{"nbf in 10s", map[string]any{"nbf": now.Add(10 * time.Second)}},
		{"iat in 10s", map[string]any{"iat": now.Add(10 * time.Second)}},
	} {
		c.claims["sub"] = "u"
		if _, err := v.Verify(context.Background(), iss.Token(c.claims)); err != nil {
			t.Errorf("%s: within skew, got %v", c.name, err)
		}
	}
	strict := newVerifier(t, iss, oidc.WithClockSkew(0))
	_, err := strict.Verify(context.Background(), iss.Token(map[string]any{"sub": "u", "exp": now.Add(-10 * time.Second)}))
	if !errors.Is(err, oidc.ErrExpired) {
		t.Errorf("skew 0, expired 10s ago: got %v", err)
	}
}

func TestRejections(t *testing.T) {
	iss := oidctest.New(t)
	v := newVerifier(t, iss)
	ctx := context.Background()
	now := time.Now()
	good := iss.Token(map[string]any{"sub": "u", "agency": "so-tai-chinh"})
	parts := strings.Split(good, ".")

	// Forged payload under the issuer's signature.
	forgedPayload := b64(map[string]any{"iss": iss.Issuer(), "aud": iss.Audience(), "sub": "admin",
		"agency": "ubnd-tinh", "exp": now.Add(time.Hour).Unix()})
	tampered := parts[0] + "." + forgedPayload + "." + parts[2]

	// Signed by an attacker's key that claims the issuer's kid.
	var hdr struct {
		Kid string `json:"kid"`
	}
	raw, _ := base64.RawURLEncoding.DecodeString(parts[0])
	_ = json.Unmarshal(raw, &hdr)
	attacker, _ := rsa.GenerateKey(rand.Reader, 2048)
	foreign := sign(t, jose.RS256, jose.JSONWebKey{Key: attacker, KeyID: hdr.Kid}, claims(iss, "u"))

	// An ES256 token from an unknown EC key and kid: the JWKS is refetched, in vain.
	ecAttacker, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	foreignEC := sign(t, jose.ES256, jose.JSONWebKey{Key: ecAttacker, KeyID: "whatever"}, claims(iss, "u"))

	// alg "none": header and payload, empty signature.
	none := b64(map[string]any{"alg": "none", "typ": "JWT"}) + "." + b64(claims(iss, "u")) + "."

	// HS256 keyed with the issuer's public RSA key, as fetched from its JWKS (the classic
	// algorithm-confusion attack), both as PEM and as DER.
	pub := jwksRSAKey(t, iss)
	der, _ := x509.MarshalPKIXPublicKey(pub)
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	hsPEM := sign(t, jose.HS256, jose.JSONWebKey{Key: pemKey, KeyID: hdr.Kid}, claims(iss, "u"))
	hsDER := sign(t, jose.HS256, jose.JSONWebKey{Key: der}, claims(iss, "u"))

	cases := []struct {
		name   string
		token  string
		reason error
		text   string // in the message
	}{
		{"tampered payload", tampered, oidc.ErrSignature, "invalid signature"},
		{"foreign key, same kid", foreign, oidc.ErrSignature, "invalid signature"},
		{"foreign EC key", foreignEC, oidc.ErrSignature, "invalid signature"},
		{"alg none", none, oidc.ErrAlgorithm, `"none"`},
		{"HS256 with PEM public key", hsPEM, oidc.ErrAlgorithm, `"HS256"`},
		{"HS256 with DER public key", hsDER, oidc.ErrAlgorithm, `"HS256"`},
		{"wrong issuer", iss.Token(map[string]any{"sub": "u", "iss": "https://idp.other.example"}), oidc.ErrIssuer, "wrong issuer"},
		{"no issuer", iss.Token(map[string]any{"sub": "u", "iss": nil}), oidc.ErrIssuer, "wrong issuer"},
		{"wrong audience", iss.Token(map[string]any{"sub": "u", "aud": "another-app"}), oidc.ErrAudience, "wrong audience"},
		{"no audience", iss.Token(map[string]any{"sub": "u", "aud": nil}), oidc.ErrAudience, "wrong audience"},
		{"expired", iss.Token(map[string]any{"sub": "u", "exp": now.Add(-time.Minute)}), oidc.ErrExpired, "expired"},
		{"no exp", iss.Token(map[string]any{"sub": "u", "exp": nil}), oidc.ErrMissingClaim, "exp"},
		{"not yet valid", iss.Token(map[string]any{"sub": "u", "nbf": now.Add(5 * time.Minute)}), oidc.ErrNotYetValid, "not yet valid"},
		{"issued in the future", iss.Token(map[string]any{"sub": "u", "iat": now.Add(5 * time.Minute)}), oidc.ErrNotYetValid, "iat"},
		{"missing sub", iss.Token(map[string]any{}), oidc.ErrMissingClaim, "sub"},
		{"empty sub", iss.Token(map[string]any{"sub": ""}), oidc.ErrMissingClaim, "sub"},
		{"agency not a string", iss.Token(map[string]any{"sub": "u", "agency": []string{"a", "b"}}), oidc.ErrMalformed, "agency"},
		{"exp not a number", iss.Token(map[string]any{"sub": "u", "exp": "tomorrow"}), oidc.ErrMalformed, "malformed"},
		{"empty", "", oidc.ErrMalformed, "empty"},
		{"garbage", "not-a-jwt", oidc.ErrMalformed, "malformed"},
		{"five parts (JWE)", good + ".a.b", oidc.ErrMalformed, "malformed"},
		{"JSON serialization", `{"payload":"` + parts[1] + `","signatures":[]}`, oidc.ErrMalformed, "malformed"},
		{"huge", strings.Repeat("a", 20000) + "." + parts[1] + "." + parts[2], oidc.ErrMalformed, "too long"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := v.Verify(ctx, c.token)
			if err == nil {
				t.Fatal("accepted")
			}
			if !errors.Is(err, c.reason) {
				t.Errorf("error %q is not %v", err, c.reason)
			}
			var te *oidc.TokenError
			if !errors.As(err, &te) {
				t.Errorf("error %T is not a *TokenError", err)
			}
			msg := err.Error()
			if !strings.Contains(msg, c.text) {
				t.Errorf("error %q does not mention %q", msg, c.text)
			}
			for _, p := range strings.Split(c.token, ".") {
				if len(p) > 8 && strings.Contains(msg, p) {
					t.Errorf("error %q echoes the token", msg)
				}
			}
		})
	}
	// The good token still verifies: nothing above poisoned the key cache.
	if _, err := v.Verify(ctx, good); err != nil {
		t.Errorf("good token after rejections: %v", err)
	}
}

func TestKeyRotation(t *testing.T) {
	iss := oidctest.New(t)
	v := newVerifier(t, iss)
	ctx := context.Background()

	before := iss.Token(map[string]any{"sub": "u"})
	if _, err := v.Verify(ctx, before); err != nil { // caches the first key
		t.Fatalf("before rotation: %v", err)
	}
	iss.Rotate()
	after := iss.Token(map[string]any{"sub": "u"})
	if _, err := v.Verify(ctx, after); err != nil {
		t.Fatalf("token signed after rotation (JWKS should be refetched): %v", err)
	}
	// go-oidc hands the refetched keys to the waiting verification before it stores them in
	// its cache, so for a moment the old key may still be cached: the removed key must stop
	// working, at once or within that moment.
	deadline := time.Now().Add(time.Second)
	_, err := v.Verify(ctx, before)
	for err == nil && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
		_, err = v.Verify(ctx, before)
	}
	if !errors.Is(err, oidc.ErrSignature) {
		t.Fatalf("token signed with the removed key: got %v, want ErrSignature", err)
	}
	// Still good after the failed lookup.
	if _, err := v.Verify(ctx, after); err != nil {
		t.Fatalf("new key after a refused old one: %v", err)
	}
}

func TestKeysUnavailable(t *testing.T) {
	iss := oidctest.New(t)
	v := newVerifier(t, iss, oidc.WithTimeout(2*time.Second))
	tok := iss.Token(map[string]any{"sub": "u"})
	iss.Close() // the IdP goes down after discovery, before any key was fetched
	_, err := v.Verify(context.Background(), tok)
	if !errors.Is(err, oidc.ErrKeysUnavailable) {
		t.Fatalf("got %v, want ErrKeysUnavailable", err)
	}
}

func TestNewIssuerDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	issuer := "http://" + ln.Addr().String()
	ln.Close()
	start := time.Now()
	_, err = oidc.New(context.Background(), issuer, "hub", oidc.WithTimeout(2*time.Second))
	if err == nil {
		t.Fatal("New succeeded with nothing listening")
	}
	if !strings.Contains(err.Error(), issuer) {
		t.Errorf("error %q does not name the issuer %s", err, issuer)
	}
	var de *oidc.DiscoveryError
	if !errors.As(err, &de) || de.URL != issuer+"/.well-known/openid-configuration" {
		t.Errorf("error %#v is not a DiscoveryError for the well-known URL", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v", d)
	}
}

func TestNewIssuerMismatch(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"issuer":"https://idp.other.example","jwks_uri":"https://idp.other.example/jwks"}`))
	}))
	defer srv.Close()
	_, err := oidc.New(context.Background(), srv.URL, "hub")
	if err == nil {
		t.Fatal("New accepted a discovery document naming another issuer")
	}
	var mm *gooidc.IssuerMismatchError
	if !errors.As(err, &mm) {
		t.Errorf("error %v is not an IssuerMismatchError", err)
	}
	if !strings.Contains(err.Error(), srv.URL) || !strings.Contains(err.Error(), "idp.other.example") {
		t.Errorf("error %q should name both issuers", err)
	}
}

func TestNewBadDiscovery(t *testing.T) {
	var body string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/.well-known/openid-configuration" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte(body))
	}))
	defer srv.Close()
	for _, c := range []struct{ name, body, text string }{
		{"not JSON", "<html>Bảo trì hệ thống</html>", "decode"},
		{"no jwks_uri", `{"issuer":"` + srv.URL + `"}`, "jwks_uri"},
		{"plain-http jwks_uri", `{"issuer":"` + srv.URL + `","jwks_uri":"http://keys.example.vn/jwks"}`, "https"},
	} {
		body = c.body
		_, err := oidc.New(context.Background(), srv.URL, "hub")
		if err == nil {
			t.Errorf("%s: accepted", c.name)
			continue
		}
		if !strings.Contains(err.Error(), srv.URL) || !strings.Contains(err.Error(), c.text) {
			t.Errorf("%s: error %q should name %s and %q", c.name, err, srv.URL, c.text)
		}
	}
	_, err := oidc.New(context.Background(), srv.URL+"/realms/missing", "hub")
	if err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("404 discovery: got %v", err)
	}
}

func TestNewTimeout(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done() // hangs until the client gives up
	}))
	defer srv.Close()
	start := time.Now()
	_, err := oidc.New(context.Background(), srv.URL, "hub", oidc.WithTimeout(200*time.Millisecond))
	if err == nil {
		t.Fatal("New succeeded against a hanging issuer")
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("New took %v with a 200ms timeout", d)
	}
	if !strings.Contains(err.Error(), srv.URL) {
		t.Errorf("error %q does not name the issuer", err)
	}
}

func TestNewConfigErrors(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct{ issuer, aud, text string }{
		{"http://idp.example.gov.vn/realms/hub", "hub", "https"},
		{"idp.example.gov.vn", "hub", "absolute"},
		{"https://idp.example.gov.vn", "", "audience"},
	} {
		if _, err := oidc.New(ctx, c.issuer, c.aud); err == nil || !strings.Contains(err.Error(), c.text) {
			t.Errorf("New(%q, %q): got %v, want error about %q", c.issuer, c.aud, err, c.text)
		}
	}
}

func TestNewFromEnv(t *testing.T) {
	ctx := context.Background()
	t.Setenv(oidc.EnvIssuer, "")
	t.Setenv(oidc.EnvAudience, "")
	if _, err := oidc.NewFromEnv(ctx); !errors.Is(err, oidc.ErrNotConfigured) {
		t.Errorf("unset: got %v, want ErrNotConfigured", err)
	}
	iss := oidctest.New(t)
	t.Setenv(oidc.EnvIssuer, iss.Issuer())
	if _, err := oidc.NewFromEnv(ctx); err == nil || !strings.Contains(err.Error(), oidc.EnvAudience) {
		t.Errorf("no audience: got %v", err)
	}
	t.Setenv(oidc.EnvAudience, iss.Audience())
	v, err := oidc.NewFromEnv(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(ctx, iss.Token(map[string]any{"sub": "u"})); err != nil {
		t.Error(err)
	}
}

func claims(iss *oidctest.Issuer, sub string) map[string]any {
	now := time.Now()
	return map[string]any{"iss": iss.Issuer(), "aud": iss.Audience(), "sub": sub,
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
}

func b64(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}

func sign(t *testing.T, alg jose.SignatureAlgorithm, key jose.JSONWebKey, claims map[string]any) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(claims)
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	s, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// jwksRSAKey fetches the issuer's JWKS over HTTP, as an attacker could, and returns its RSA key.
func jwksRSAKey(t *testing.T, iss *oidctest.Issuer) *rsa.PublicKey {
	t.Helper()
	resp, err := http.Get(iss.Issuer() + "/jwks")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		t.Fatal(err)
	}
	for _, k := range set.Keys {
		if pub, ok := k.Key.(*rsa.PublicKey); ok {
			return pub
		}
	}
	t.Fatal("no RSA key in JWKS")
	return nil
}
