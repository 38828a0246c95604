// Package access is who is asking and what they may see: agencies, their applications and
// credentials (API keys; OIDC tokens through auth/oidc), the principal of every request, and —
// as the access issue grows — the policy that decides fields and rows per principal. It never
// imports an HTTP package: the server's middleware calls it.
package access

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// A key reads hub_<id>_<secret>: the id (8 base32 characters) is public and names the key in
// lists and logs; the secret (32 characters, 160 bits) is shown once and kept only as the
// SHA-256 of the whole key. A fast hash is right here: the secret is random, not a password,
// so there is nothing for a slow hash to protect against, and every request checks a key.
const (
	keyPrefix  = "hub_"
	idLen      = 8
	secretLen  = 32
	keyLen     = len(keyPrefix) + idLen + 1 + secretLen
	idAlphabet = "abcdefghijklmnopqrstuvwxyz234567"
)

var b32 = base32.NewEncoding(idAlphabet).WithPadding(base32.NoPadding)

// Key is an API key as lists show it: never its secret.
type Key struct {
	ID          string     `json:"id"`
	Agency      string     `json:"agency"`
	Application string     `json:"application,omitempty"`
	Label       string     `json:"label,omitempty"`
	Created     time.Time  `json:"created"`
	Expires     *time.Time `json:"expires,omitempty"`
	Revoked     *time.Time `json:"revoked,omitempty"`
}

// Active says whether the key may be used at t.
func (k Key) Active(t time.Time) bool {
	return k.Revoked == nil && (k.Expires == nil || t.Before(*k.Expires))
}

// NewKey is what CreateKey needs to know.
type NewKey struct {
	Agency      string
	Application string // optional: the application the key is for
	Label       string
	Expires     *time.Time // nil: until revoked
}

// CreateKey makes a key for an agency and returns it with its secret, the only time the secret
// exists outside the caller.
func CreateKey(ctx context.Context, pool *pgxpool.Pool, n NewKey) (Key, string, error) {
	if n.Expires != nil && !n.Expires.After(time.Now()) {
		return Key{}, "", errors.New("the expiry is in the past")
	}
	raw := make([]byte, 25) // 5 bytes of id, 20 of secret: 8 and 32 base32 characters
	if _, err := rand.Read(raw); err != nil {
		return Key{}, "", err
	}
	id := keyPrefix + b32.EncodeToString(raw[:5])
	secret := id + "_" + b32.EncodeToString(raw[5:])
	sum := sha256.Sum256([]byte(secret))
	var app any
	if n.Application != "" {
		app = n.Application
	}
	k := Key{ID: id, Agency: n.Agency, Application: n.Application, Label: n.Label, Expires: n.Expires}
	err := pool.QueryRow(ctx, `
INSERT INTO api_keys (id, secret_sha256, agency_id, application_id, label, expires_at)
VALUES ($1, $2, $3, $4, $5, $6) RETURNING created_at`, id, sum[:], n.Agency, app, n.Label, n.Expires).Scan(&k.Created)
	if err != nil {
		return Key{}, "", constraintError(err, n)
	}
	return k, secret, nil
}

func constraintError(err error, n NewKey) error {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "api_keys_agency_id_fkey"):
		return fmt.Errorf("no agency %q (hub agencies list)", n.Agency)
	case strings.Contains(msg, "api_keys_application_id_fkey"):
		return fmt.Errorf("no application %q", n.Application)
	}
	return err
}

// ListKeys lists the keys of an agency ("" for every agency), newest first.
func ListKeys(ctx context.Context, pool *pgxpool.Pool, agency string) ([]Key, error) {
	rows, err := pool.Query(ctx, `
SELECT id, agency_id, COALESCE(application_id, ''), label, created_at, expires_at, revoked_at
FROM api_keys WHERE $1 = '' OR agency_id = $1 ORDER BY created_at DESC, id`, agency)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (Key, error) {
		var k Key
		err := row.Scan(&k.ID, &k.Agency, &k.Application, &k.Label, &k.Created, &k.Expires, &k.Revoked)
		return k, err
	})
}

// ErrNoKey is returned for a key id that does not exist.
var ErrNoKey = errors.New("no such key")

// RevokeKey ends a key at once, in every hub process (the caches hear of it by NOTIFY).
func RevokeKey(ctx context.Context, pool *pgxpool.Pool, id string) error {
	tag, err := pool.Exec(ctx, `UPDATE api_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL`, id)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		var exists bool
		if err := pool.QueryRow(ctx, `SELECT EXISTS (SELECT FROM api_keys WHERE id = $1)`, id).Scan(&exists); err != nil {
			return err
		}
		if !exists {
			return ErrNoKey
		}
	}
	return nil
}

// parseKey splits a presented key into its id and checks its shape, so that garbage never
// reaches the database.
func parseKey(s string) (id string, ok bool) {
	if len(s) != keyLen || !strings.HasPrefix(s, keyPrefix) || s[len(keyPrefix)+idLen] != '_' {
		return "", false
	}
	for _, c := range s[len(keyPrefix):] {
		if c != '_' && !strings.ContainsRune(idAlphabet, c) {
			return "", false
		}
	}
	return s[:len(keyPrefix)+idLen], true
}

// lookupKey reads the key behind a presented secret; found is false for an unknown id or a
// wrong secret (compared in constant time).
func lookupKey(ctx context.Context, pool *pgxpool.Pool, secret string) (k Key, found bool, err error) {
	id, ok := parseKey(secret)
	if !ok {
		return Key{}, false, nil
	}
	var stored []byte
	err = pool.QueryRow(ctx, `
SELECT id, secret_sha256, agency_id, COALESCE(application_id, ''), label, created_at, expires_at, revoked_at
FROM api_keys WHERE id = $1`, id).Scan(&k.ID, &stored, &k.Agency, &k.Application, &k.Label, &k.Created, &k.Expires, &k.Revoked)
	if errors.Is(err, pgx.ErrNoRows) {
		return Key{}, false, nil
	}
	if err != nil {
		return Key{}, false, err
	}
	sum := sha256.Sum256([]byte(secret))
	if subtle.ConstantTimeCompare(sum[:], stored) != 1 {
		return Key{}, false, nil
	}
	return k, true, nil
}
