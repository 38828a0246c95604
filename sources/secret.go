package sources

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"strings"
)

// Secrets are kept as "env:NAME" — the credential stays in the hub process's environment and
// only its name is stored — or "enc:…", the value sealed with AES-256-GCM under a key derived
// from HUB_SECRET_KEY. Neither form holds the secret in clear, and the store never prints a
// resolved value.

// KeyEnv names the environment variable holding the hub's secret key.
const KeyEnv = "HUB_SECRET_KEY"

// EnvPrefix starts the names of the environment variables a source may read a credential from.
const EnvPrefix = "HUB_SOURCE_"

// Seal turns what a user gave into the stored form: "env:NAME" is kept as it is; any other
// value is encrypted.
func Seal(v string) (string, error) {
	if strings.HasPrefix(v, "env:") {
		name := strings.TrimPrefix(v, "env:")
		if !validEnvName(name) || !strings.HasPrefix(name, EnvPrefix) {
			return "", fmt.Errorf("%q: a credential is read from an environment variable named %s… (letters, digits and _), "+
				"so that no source can send the hub's own settings (its database URL, its keys) to an endpoint", v, EnvPrefix)
		}
		return v, nil
	}
	aead, err := sealer()
	if err != nil {
		return "", err
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	return "enc:" + base64.RawStdEncoding.EncodeToString(aead.Seal(nonce, nonce, []byte(v), nil)), nil
}

// Reveal resolves a stored secret for a run.
func Reveal(stored string) (string, error) {
	switch {
	case strings.HasPrefix(stored, "env:"):
		name := strings.TrimPrefix(stored, "env:")
		if !strings.HasPrefix(name, EnvPrefix) {
			return "", fmt.Errorf("the source's credential names environment variable %s; only %s… variables are read", name, EnvPrefix)
		}
		v, ok := os.LookupEnv(name)
		if !ok {
			return "", fmt.Errorf("the source's credential is read from environment variable %s, which this hub process does not have", name)
		}
		return v, nil
	case strings.HasPrefix(stored, "enc:"):
		aead, err := sealer()
		if err != nil {
			return "", err
		}
		b, err := base64.RawStdEncoding.DecodeString(strings.TrimPrefix(stored, "enc:"))
		if err != nil || len(b) < aead.NonceSize() {
			return "", errors.New("a stored credential is damaged: set it again")
		}
		v, err := aead.Open(nil, b[:aead.NonceSize()], b[aead.NonceSize():], nil)
		if err != nil {
			return "", fmt.Errorf("a stored credential cannot be decrypted: %s is not the key it was sealed with", KeyEnv)
		}
		return string(v), nil
	}
	return "", errors.New("a stored credential has an unknown form")
}

func sealer() (cipher.AEAD, error) {
	k := os.Getenv(KeyEnv)
	if k == "" {
		return nil, fmt.Errorf("storing a credential needs %s (the hub's secret key) to encrypt it, or give it as env:NAME to read it from the environment", KeyEnv)
	}
	sum := sha256.Sum256([]byte(k))
	block, err := aes.NewCipher(sum[:])
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

func validEnvName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if !(r == '_' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}
