// Package oidc verifies the bearer tokens issued by the province's OpenID Connect identity
// provider (HUB_OIDC_ISSUER), so the access-control middleware can tell which agency's user or
// application is calling the hub. It only verifies: a token is accepted when it is signed by a
// key in the issuer's JWKS with an asymmetric algorithm the issuer advertises, names the issuer
// and the hub's client id (HUB_OIDC_AUDIENCE) as its audience, is within its validity window and
// has a subject. What the caller may then do is for access control to decide; API keys are
// handled elsewhere.
//
// Discovery happens once, in New. Signing keys are fetched and cached by go-oidc's RemoteKeySet,
// which refetches the JWKS when a token names a key id it has not seen, so key rotation at the
// identity provider needs no restart.
//
// A rejection is a *TokenError whose message names the check that failed and never contains the
// token, so it can be returned in a 401 body; errors.Is matches it against ErrMalformed,
// ErrAlgorithm, ErrSignature, ErrKeysUnavailable, ErrIssuer, ErrAudience, ErrExpired,
// ErrNotYetValid and ErrMissingClaim.
package oidc

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"

	"github.com/haiduong/hub/access"
)

// Environment variables read by NewFromEnv.
const (
	EnvIssuer   = "HUB_OIDC_ISSUER"
	EnvAudience = "HUB_OIDC_AUDIENCE"
)

// Defaults for the options.
const (
	DefaultAgencyClaim = "agency"
	DefaultClockSkew   = 30 * time.Second
	DefaultTimeout     = 10 * time.Second
)

// maxTokenLen bounds the work spent on a token before its signature is checked.
const maxTokenLen = 16 << 10

// asymmetric lists the algorithms a token may be signed with, in the order go-jose names them.
// HMAC and "none" are never accepted: the keys come from a public JWKS.
var asymmetric = []string{
	gooidc.RS256, gooidc.RS384, gooidc.RS512,
	gooidc.ES256, gooidc.ES384, gooidc.ES512,
	gooidc.PS256, gooidc.PS384, gooidc.PS512,
	gooidc.EdDSA,
}

// Identity is what a verified token says about its bearer.
type Identity struct {
	Subject string // "sub": the user or service account at the identity provider
	Issuer  string // "iss"
	Email   string // "email", if present
	Name    string // "name", if present
	// Agency is the agency the token speaks for (e.g. "so-tai-chinh"), from the claim set with
	// WithAgencyClaim ("agency" by default); empty when the token has none.
	Agency string
	// Application is the client the token was issued to: "azp", or else "client_id".
	Application string
	Expiry      time.Time      // "exp"
	Claims      map[string]any // all claims, as decoded by encoding/json
}

// Verifier checks tokens from one issuer for one audience. It is safe for concurrent use.
type Verifier struct {
	issuer, audience string
	agencyClaim      string
	skew             time.Duration
	algs             []string
	idv              *gooidc.IDTokenVerifier
}

type config struct {
	agencyClaim string
	skew        time.Duration
	timeout     time.Duration
	client      *http.Client
}

// Option configures New.
type Option func(*config)

// WithAgencyClaim names the claim that carries the agency (default "agency").
func WithAgencyClaim(name string) Option { return func(c *config) { c.agencyClaim = name } }

// WithClockSkew sets how far exp, nbf and iat may be off from this machine's clock (default 30 s).
func WithClockSkew(d time.Duration) Option { return func(c *config) { c.skew = d } }

// WithTimeout bounds discovery and each JWKS fetch (default 10 s).
func WithTimeout(d time.Duration) Option { return func(c *config) { c.timeout = d } }

// WithHTTPClient sets the client for discovery and JWKS fetches, e.g. one trusting the
// province's CA. If its Timeout is zero, a copy with the WithTimeout value is used.
func WithHTTPClient(hc *http.Client) Option { return func(c *config) { c.client = hc } }

// ErrNotConfigured is returned by NewFromEnv when HUB_OIDC_ISSUER is not set.
var ErrNotConfigured = errors.New("oidc: " + EnvIssuer + " is not set")

// NewFromEnv calls New with HUB_OIDC_ISSUER and HUB_OIDC_AUDIENCE. It returns ErrNotConfigured
// when the issuer is unset, so the caller can run without OIDC.
func NewFromEnv(ctx context.Context, opts ...Option) (*Verifier, error) {
	issuer := os.Getenv(EnvIssuer)
	if issuer == "" {
		return nil, ErrNotConfigured
	}
	aud := os.Getenv(EnvAudience)
	if aud == "" {
		return nil, fmt.Errorf("oidc: %s is set but %s, the client id tokens must be issued for, is not", EnvIssuer, EnvAudience)
	}
	return New(ctx, issuer, aud, opts...)
}

// New fetches the issuer's discovery document and returns a Verifier for tokens whose audience
// includes audience. The issuer must be https, or http on a loopback address (tests).
func New(ctx context.Context, issuer, audience string, opts ...Option) (*Verifier, error) {
	cfg := config{agencyClaim: DefaultAgencyClaim, skew: DefaultClockSkew, timeout: DefaultTimeout}
	for _, o := range opts {
		o(&cfg)
	}
	if audience == "" {
		return nil, errors.New("oidc: audience (the hub's client id) must not be empty")
	}
	if err := checkURL(issuer); err != nil {
		return nil, fmt.Errorf("oidc: issuer %q: %w", issuer, err)
	}
	if cfg.timeout <= 0 {
		cfg.timeout = DefaultTimeout
	}
	hc := cfg.client
	if hc == nil {
		hc = &http.Client{}
	}
	if hc.Timeout == 0 {
		c := *hc
		c.Timeout = cfg.timeout
		hc = &c
	}

	wellKnown := strings.TrimSuffix(issuer, "/") + "/.well-known/openid-configuration"
	dctx, cancel := context.WithTimeout(gooidc.ClientContext(ctx, hc), cfg.timeout)
	defer cancel()
	provider, err := gooidc.NewProvider(dctx, issuer)
	if err != nil {
		return nil, &DiscoveryError{Issuer: issuer, URL: wellKnown, Err: err}
	}
	var doc struct {
		JWKSURI string   `json:"jwks_uri"`
		Algs    []string `json:"id_token_signing_alg_values_supported"`
	}
	if err := provider.Claims(&doc); err != nil {
		return nil, &DiscoveryError{Issuer: issuer, URL: wellKnown, Err: err}
	}
	if doc.JWKSURI == "" {
		return nil, &DiscoveryError{Issuer: issuer, URL: wellKnown, Err: errors.New("no jwks_uri")}
	}
	if err := checkURL(doc.JWKSURI); err != nil {
		return nil, &DiscoveryError{Issuer: issuer, URL: wellKnown, Err: fmt.Errorf("jwks_uri %q: %w", doc.JWKSURI, err)}
	}
	var algs []string
	for _, a := range doc.Algs {
		if slices.Contains(asymmetric, a) && !slices.Contains(algs, a) {
			algs = append(algs, a)
		}
	}
	if len(algs) == 0 {
		algs = []string{gooidc.RS256} // the one algorithm OpenID Connect requires
	}

	// iss, aud, exp and nbf are checked by Verify itself, with the configured clock skew and an
	// error that says which check failed; go-oidc checks the algorithm and the signature.
	idv := provider.Verifier(&gooidc.Config{
		SupportedSigningAlgs: algs,
		SkipClientIDCheck:    true,
		SkipIssuerCheck:      true,
		SkipExpiryCheck:      true,
	})
	return &Verifier{
		issuer: issuer, audience: audience,
		agencyClaim: cfg.agencyClaim, skew: cfg.skew,
		algs: algs, idv: idv,
	}, nil
}

// Issuer returns the issuer URL tokens must name.
func (v *Verifier) Issuer() string { return v.issuer }

// Audience returns the client id tokens must be issued for.
func (v *Verifier) Audience() string { return v.audience }

// Verify checks rawToken (without the "Bearer " prefix) and returns who it identifies. Errors
// are *TokenError.
func (v *Verifier) Verify(ctx context.Context, rawToken string) (Identity, error) {
	if rawToken == "" {
		return Identity{}, reject(ErrMalformed, "empty token", nil)
	}
	if len(rawToken) > maxTokenLen {
		return Identity{}, reject(ErrMalformed, "token too long", nil)
	}
	alg, err := headerAlg(rawToken)
	if err != nil {
		return Identity{}, reject(ErrMalformed, err.Error(), nil)
	}
	if !slices.Contains(v.algs, alg) {
		return Identity{}, reject(ErrAlgorithm, fmt.Sprintf("%s is not one of %s", algName(alg), strings.Join(v.algs, ", ")), nil)
	}

	tok, err := v.idv.Verify(ctx, rawToken)
	if err != nil {
		// go-oidc's errors are plain strings; the signature step is the only one prefixed so.
		msg := err.Error()
		switch {
		case strings.Contains(msg, "fetching keys"):
			return Identity{}, reject(ErrKeysUnavailable, "could not fetch the issuer's JWKS", err)
		case strings.HasPrefix(msg, "failed to verify signature"):
			return Identity{}, reject(ErrSignature, "", err)
		default:
			return Identity{}, reject(ErrMalformed, "claims could not be decoded", err)
		}
	}

	var c struct {
		Iss      string       `json:"iss"`
		Sub      string       `json:"sub"`
		Aud      audience     `json:"aud"`
		Exp      *numericDate `json:"exp"`
		Nbf      *numericDate `json:"nbf"`
		Iat      *numericDate `json:"iat"`
		Email    string       `json:"email"`
		Name     string       `json:"name"`
		Azp      string       `json:"azp"`
		ClientID string       `json:"client_id"`
	}
	var all map[string]any
	if err := tok.Claims(&c); err != nil {
		return Identity{}, reject(ErrMalformed, "claims have the wrong types", err)
	}
	if err := tok.Claims(&all); err != nil {
		return Identity{}, reject(ErrMalformed, "claims are not a JSON object", err)
	}

	if c.Iss != v.issuer {
		return Identity{}, reject(ErrIssuer, "want "+v.issuer, nil)
	}
	if !slices.Contains(c.Aud, v.audience) {
		return Identity{}, reject(ErrAudience, "want "+v.audience, nil)
	}
	now := time.Now()
	if c.Exp == nil {
		return Identity{}, reject(ErrMissingClaim, "exp", nil)
	}
	if exp := c.Exp.time(); !now.Before(exp.Add(v.skew)) {
		return Identity{}, reject(ErrExpired, "exp "+exp.UTC().Format(time.RFC3339), nil)
	}
	if c.Nbf != nil {
		if nbf := c.Nbf.time(); now.Add(v.skew).Before(nbf) {
			return Identity{}, reject(ErrNotYetValid, "nbf "+nbf.UTC().Format(time.RFC3339), nil)
		}
	}
	if c.Iat != nil {
		if iat := c.Iat.time(); now.Add(v.skew).Before(iat) {
			return Identity{}, reject(ErrNotYetValid, "iat "+iat.UTC().Format(time.RFC3339)+" is in the future", nil)
		}
	}
	if c.Sub == "" {
		return Identity{}, reject(ErrMissingClaim, "sub", nil)
	}
	var agency string
	if a, ok := all[v.agencyClaim]; ok {
		s, ok := a.(string)
		if !ok {
			return Identity{}, reject(ErrMalformed, fmt.Sprintf("claim %q is not a string", v.agencyClaim), nil)
		}
		agency = s
	}
	app := c.Azp
	if app == "" {
		app = c.ClientID
	}
	return Identity{
		Subject:     c.Sub,
		Issuer:      c.Iss,
		Email:       c.Email,
		Name:        c.Name,
		Agency:      agency,
		Application: app,
		Expiry:      c.Exp.time(),
		Claims:      all,
	}, nil
}

// Reasons a token is rejected; a *TokenError matches one of them with errors.Is.
var (
	ErrMalformed       = errors.New("malformed token")
	ErrAlgorithm       = errors.New("signing algorithm not accepted")
	ErrSignature       = errors.New("invalid signature")
	ErrKeysUnavailable = errors.New("signing keys unavailable")
	ErrIssuer          = errors.New("wrong issuer")
	ErrAudience        = errors.New("wrong audience")
	ErrExpired         = errors.New("token expired")
	ErrNotYetValid     = errors.New("token not yet valid")
	ErrMissingClaim    = errors.New("missing claim")
)

// TokenError is a rejected token. Its message names the failed check, never the token.
// ErrKeysUnavailable means the identity provider could not be reached, not that the token is
// bad: a middleware may answer 503 rather than 401 for it.
type TokenError struct {
	Reason error  // one of the Err* reasons above
	Detail string // what exactly, built by this package (never token bytes beyond an alg name)
	Cause  error  // underlying error from go-oidc, for logs; nil when the check is ours
}

func reject(reason error, detail string, cause error) *TokenError {
	return &TokenError{Reason: reason, Detail: detail, Cause: cause}
}

func (e *TokenError) Error() string {
	if e.Detail == "" {
		return "oidc: " + e.Reason.Error()
	}
	return "oidc: " + e.Reason.Error() + ": " + e.Detail
}

func (e *TokenError) Unwrap() []error {
	if e.Cause == nil {
		return []error{e.Reason}
	}
	return []error{e.Reason, e.Cause}
}

// DiscoveryError is a failure to fetch or accept the issuer's discovery document.
type DiscoveryError struct {
	Issuer string // as configured
	URL    string // the discovery document's URL
	Err    error
}

func (e *DiscoveryError) Error() string {
	msg := e.Err.Error()
	if len(msg) > 300 { // a non-200 answer includes its body
		msg = strings.ToValidUTF8(msg[:300], "") + "…"
	}
	return fmt.Sprintf("oidc: discovery for issuer %s failed (GET %s): %s", e.Issuer, e.URL, msg)
}

func (e *DiscoveryError) Unwrap() error { return e.Err }

// checkURL accepts https URLs, and http ones on loopback.
func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return err
	}
	switch {
	case u.Host == "":
		return errors.New("not an absolute URL")
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && isLoopback(u.Hostname()):
		return nil
	}
	return errors.New("must be https (http only on loopback)")
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// headerAlg returns the alg of a compact JWS, refusing anything else (JSON serialization,
// JWE with five parts, stray characters).
func headerAlg(raw string) (string, error) {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return "", errors.New("not a compact JWS (header.payload.signature)")
	}
	for _, p := range parts {
		if strings.IndexFunc(p, func(r rune) bool {
			return !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_')
		}) >= 0 {
			return "", errors.New("not base64url")
		}
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		return "", errors.New("header is not base64url")
	}
	var h struct {
		Alg string `json:"alg"`
	}
	if err := json.Unmarshal(b, &h); err != nil {
		return "", errors.New("header is not a JSON object")
	}
	return h.Alg, nil
}

// algName quotes alg if it is a registered JOSE name, so an error never echoes arbitrary input.
func algName(alg string) string {
	switch alg {
	case "none", "HS256", "HS384", "HS512":
		return fmt.Sprintf("%q", alg)
	case "":
		return "no alg"
	}
	if slices.Contains(asymmetric, alg) {
		return fmt.Sprintf("%q", alg)
	}
	return "this alg"
}

// audience is "aud": a string or an array of strings.
type audience []string

func (a *audience) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		*a = audience{s}
		return nil
	}
	var ss []string
	if err := json.Unmarshal(b, &ss); err != nil {
		return err
	}
	*a = ss
	return nil
}

// numericDate is a JWT NumericDate: seconds since the epoch, possibly fractional.
type numericDate float64

func (n numericDate) time() time.Time {
	sec := float64(n)
	return time.Unix(int64(sec), int64((sec-float64(int64(sec)))*1e9))
}

// Identify verifies a token for the hub's authenticator (access.TokenVerifier): the agency and
// application it speaks for and its subject. When the provider's keys cannot be fetched the
// error wraps access.ErrTokensUnavailable, which is the hub's fault, not the caller's (a 503).
func (v *Verifier) Identify(ctx context.Context, raw string) (agency, application, subject string, err error) {
	id, err := v.Verify(ctx, raw)
	if errors.Is(err, ErrKeysUnavailable) {
		return "", "", "", fmt.Errorf("%w: %v", access.ErrTokensUnavailable, err)
	}
	if err != nil {
		return "", "", "", err
	}
	return id.Agency, id.Application, id.Subject, nil
}
