package access

import (
	"context"
	"crypto/sha256"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/haiduong/hub/database"
)

// Principal kinds.
const (
	Anonymous = "anonymous"
	Agency    = "agency" // an agency's application, by API key or OIDC token
	Admin     = "admin"  // the operator, by HUB_ADMIN_TOKEN
)

// Principal is who a request speaks for. The zero value is not valid; use AnonymousPrincipal.
type Principal struct {
	Kind        string `json:"kind"`
	Agency      string `json:"agency,omitempty"`
	Application string `json:"application,omitempty"`
	// Credential names the credential used (an API key's public id, "oidc:" and the token's
	// subject): what the audit log records. Never a secret.
	Credential string `json:"credential,omitempty"`
}

// AnonymousPrincipal is a caller without a credential.
var AnonymousPrincipal = Principal{Kind: Anonymous}

// String names the principal in logs: "anonymous" or "agency:so-tai-chinh".
func (p Principal) String() string {
	if p.Kind == Anonymous {
		return Anonymous
	}
	return p.Kind + ":" + p.Agency
}

// CredentialError says why a credential was refused (a 401).
type CredentialError struct{ Reason string }

func (e *CredentialError) Error() string { return e.Reason }

// TokenVerifier checks bearer tokens of the province's identity provider (auth/oidc).
type TokenVerifier interface {
	// Identify returns the agency and application a valid token speaks for and its subject.
	Identify(ctx context.Context, raw string) (agency, application, subject string, err error)
}

// ErrTokensUnavailable is wrapped by a TokenVerifier that cannot check tokens now (the
// provider's keys are out of reach): a 503, not the caller's fault.
var ErrTokensUnavailable = errors.New("the identity provider cannot be reached")

// Authenticator turns credentials into principals. What a key resolves to is cached, and the
// cache is emptied whenever a key or application changes in any hub process (NOTIFY), so a
// revocation takes effect at once everywhere.
type Authenticator struct {
	pool   *pgxpool.Pool
	tokens TokenVerifier // nil: OIDC not configured

	mu    sync.RWMutex
	cache map[[32]byte]cachedKey
}

type cachedKey struct {
	key   Key
	found bool
}

// maxCached bounds the cache; when full it starts again (a flood of made-up keys must not
// grow memory).
const maxCached = 10_000

// AccessChannel is the NOTIFY channel of credential changes.
const AccessChannel = "hub_access"

// NewAuthenticator returns an authenticator; tokens may be nil.
func NewAuthenticator(pool *pgxpool.Pool, tokens TokenVerifier) *Authenticator {
	return &Authenticator{pool: pool, tokens: tokens, cache: map[[32]byte]cachedKey{}}
}

// Listen keeps the cache honest until ctx ends.
func (a *Authenticator) Listen(ctx context.Context) {
	database.Listen(ctx, a.pool, AccessChannel, func(string) error {
		a.mu.Lock()
		clear(a.cache)
		a.mu.Unlock()
		return nil
	})
}

// Authenticate returns the principal of a presented credential: an API key, or, when OIDC is
// configured, a token of the identity provider. A refused credential is a *CredentialError.
func (a *Authenticator) Authenticate(ctx context.Context, credential string) (Principal, error) {
	if strings.HasPrefix(credential, keyPrefix) {
		return a.key(ctx, credential)
	}
	if strings.Count(credential, ".") == 2 {
		if a.tokens == nil {
			return Principal{}, &CredentialError{"this hub accepts no identity-provider tokens (HUB_OIDC_ISSUER is not set); use an API key"}
		}
		agency, app, sub, err := a.tokens.Identify(ctx, credential)
		if errors.Is(err, ErrTokensUnavailable) {
			return Principal{}, err
		}
		if err != nil {
			return Principal{}, &CredentialError{"token refused: " + err.Error()}
		}
		if agency == "" {
			return Principal{}, &CredentialError{"the token names no agency"}
		}
		return Principal{Kind: Agency, Agency: agency, Application: app, Credential: "oidc:" + sub}, nil
	}
	return Principal{}, &CredentialError{"not an API key (hub_…) or an identity-provider token"}
}

func (a *Authenticator) key(ctx context.Context, secret string) (Principal, error) {
	sum := sha256.Sum256([]byte(secret))
	a.mu.RLock()
	c, ok := a.cache[sum]
	a.mu.RUnlock()
	if !ok {
		k, found, err := lookupKey(ctx, a.pool, secret)
		if err != nil {
			return Principal{}, err
		}
		c = cachedKey{key: k, found: found}
		a.mu.Lock()
		if len(a.cache) >= maxCached {
			clear(a.cache)
		}
		a.cache[sum] = c
		a.mu.Unlock()
	}
	switch {
	case !c.found:
		return Principal{}, &CredentialError{"unknown API key"}
	case c.key.Revoked != nil:
		return Principal{}, &CredentialError{"API key " + c.key.ID + " was revoked on " + c.key.Revoked.Format(time.DateOnly)}
	case !c.key.Active(time.Now()):
		return Principal{}, &CredentialError{"API key " + c.key.ID + " expired on " + c.key.Expires.Format(time.DateOnly)}
	}
	return Principal{Kind: Agency, Agency: c.key.Agency, Application: c.key.Application, Credential: c.key.ID}, nil
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// From returns the principal of ctx: anonymous when none was set.
func From(ctx context.Context) Principal {
	if p, ok := ctx.Value(principalKey{}).(Principal); ok {
		return p
	}
	return AnonymousPrincipal
}

// IsCredentialError says whether err is a refused credential.
func IsCredentialError(err error) bool {
	var ce *CredentialError
	return errors.As(err, &ce)
}
