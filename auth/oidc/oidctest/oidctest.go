// Package oidctest runs a stand-in for the province's identity provider on loopback, for tests
// of code that verifies its tokens: discovery, a JWKS and token signing, with keys made per test.
package oidctest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// DefaultAudience is the audience Token puts in tokens unless told otherwise.
const DefaultAudience = "hub"

// Issuer is an OpenID Connect issuer served by an httptest server on 127.0.0.1. It signs with
// an RSA 2048 key (RS256) that Rotate replaces, and also publishes a P-256 key for TokenES256.
type Issuer struct {
	t   testing.TB
	srv *httptest.Server

	mu  sync.Mutex
	rsa jose.JSONWebKey // current private RSA key
	ec  jose.JSONWebKey // private EC key
}

// New starts an issuer that is stopped when the test ends.
func New(t testing.TB) *Issuer {
	t.Helper()
	iss := &Issuer{t: t}
	iss.rsa = newRSAKey(t)
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("oidctest: %v", err)
	}
	iss.ec = jwk(t, ecKey, jose.ES256)

	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		base := iss.Issuer()
		writeJSON(w, map[string]any{
			"issuer":                                base,
			"authorization_endpoint":                base + "/authorize",
			"token_endpoint":                        base + "/token",
			"jwks_uri":                              base + "/jwks",
			"response_types_supported":              []string{"code"},
			"subject_types_supported":               []string{"public"},
			"id_token_signing_alg_values_supported": []string{"RS256", "ES256"},
		})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		iss.mu.Lock()
		keys := []jose.JSONWebKey{iss.rsa.Public(), iss.ec.Public()}
		iss.mu.Unlock()
		writeJSON(w, jose.JSONWebKeySet{Keys: keys})
	})
	iss.srv = httptest.NewServer(mux) // listens on 127.0.0.1
	t.Cleanup(iss.srv.Close)
	return iss
}

// Issuer returns the issuer URL, e.g. "http://127.0.0.1:41234".
func (iss *Issuer) Issuer() string { return iss.srv.URL }

// Audience returns the audience Token fills in by default.
func (iss *Issuer) Audience() string { return DefaultAudience }

// Token returns a JWT signed RS256 with the current RSA key. claims are copied, with defaults
// for those missing: iss, aud, iat (now) and exp (now + 5 min). A nil value removes a claim; a
// time.Time value is written as Unix seconds.
func (iss *Issuer) Token(claims map[string]any) string {
	iss.t.Helper()
	iss.mu.Lock()
	key := iss.rsa
	iss.mu.Unlock()
	return iss.sign(key, claims)
}

// TokenES256 is Token signed ES256 with the P-256 key.
func (iss *Issuer) TokenES256(claims map[string]any) string {
	iss.t.Helper()
	return iss.sign(iss.ec, claims)
}

// Rotate replaces the RSA key: the JWKS lists the new key and no longer the old one, and Token
// signs with the new key.
func (iss *Issuer) Rotate() {
	iss.t.Helper()
	k := newRSAKey(iss.t)
	iss.mu.Lock()
	iss.rsa = k
	iss.mu.Unlock()
}

func (iss *Issuer) sign(key jose.JSONWebKey, claims map[string]any) string {
	iss.t.Helper()
	now := time.Now()
	c := map[string]any{
		"iss": iss.Issuer(),
		"aud": DefaultAudience,
		"iat": now.Unix(),
		"exp": now.Add(5 * time.Minute).Unix(),
	}
	for k, v := range claims {
		switch v := v.(type) {
		case nil:
			delete(c, k)
		case time.Time:
			c[k] = v.Unix()
		default:
			c[k] = v
		}
	}
	payload, err := json.Marshal(c)
	if err != nil {
		iss.t.Fatalf("oidctest: claims: %v", err)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(key.Algorithm), Key: key},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		iss.t.Fatalf("oidctest: signer: %v", err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		iss.t.Fatalf("oidctest: sign: %v", err)
	}
	s, err := jws.CompactSerialize()
	if err != nil {
		iss.t.Fatalf("oidctest: serialize: %v", err)
	}
	return s
}

func newRSAKey(t testing.TB) jose.JSONWebKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatalf("oidctest: %v", err)
	}
	return jwk(t, k, jose.RS256)
}

// jwk wraps a private key with its algorithm and a key id (its RFC 7638 thumbprint).
func jwk(t testing.TB, key crypto.Signer, alg jose.SignatureAlgorithm) jose.JSONWebKey {
	k := jose.JSONWebKey{Key: key, Algorithm: string(alg), Use: "sig"}
	tp, err := k.Thumbprint(crypto.SHA256)
	if err != nil {
		t.Fatalf("oidctest: %v", err)
	}
	k.KeyID = base64.RawURLEncoding.EncodeToString(tp)
	return k
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// Close stops the server before the test ends, as if the identity provider were down.
func (iss *Issuer) Close() { iss.srv.Close() }
