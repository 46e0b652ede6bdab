package callerauth

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"

	"github.com/defender-gateway/gateway/internal/yamlstrict"

	"github.com/defender-gateway/gateway/internal/caller"
	"github.com/defender-gateway/gateway/internal/defender"
)

// HashAPIKey returns the hex SHA-256 of key, as the keys file stores it.
func HashAPIKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// keysFile is the YAML API keys file.
type keysFile struct {
	Keys []keyEntry `yaml:"keys"`
}

type keyEntry struct {
	Name   string `yaml:"name"`
	SHA256 string `yaml:"sha256"`
}

// keyNamePattern keeps key names printable in identities and logs.
var keyNamePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// keySet is a loaded keys file.
type keySet struct {
	keys []apiKey
}

type apiKey struct {
	name string
	hash [sha256.Size]byte
}

// loadAPIKeys reads and checks an API keys file. Errors name the file and
// the entry, never a hash.
func loadAPIKeys(path string) (*keySet, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("API keys file: %w", err)
	}
	ks, err := parseAPIKeys(data)
	if err != nil {
		return nil, fmt.Errorf("API keys file %s: %w", path, err)
	}
	return ks, nil
}

func parseAPIKeys(data []byte) (*keySet, error) {
	var f keysFile
	if err := yamlstrict.Decode(data, &f); err != nil {
		if errors.Is(err, yamlstrict.ErrEmpty) {
			return nil, errors.New("is empty; it must list keys")
		}
		return nil, err
	}
	if len(f.Keys) == 0 {
		return nil, errors.New("keys: is empty")
	}
	ks := &keySet{}
	names := map[string]bool{}
	hashes := map[[sha256.Size]byte]string{}
	var errs []error
	for i, e := range f.Keys {
		if !keyNamePattern.MatchString(e.Name) {
			errs = append(errs, fmt.Errorf("keys[%d]: name %q must be 1-64 letters, digits, '.', '_' or '-'", i, e.Name))
			continue
		}
		raw, err := hex.DecodeString(strings.TrimSpace(e.SHA256))
		if err != nil || len(raw) != sha256.Size {
			errs = append(errs, fmt.Errorf("keys[%d] (%s): sha256 must be 64 hex digits (the output of hash-api-key)", i, e.Name))
			continue
		}
		k := apiKey{name: e.Name}
		copy(k.hash[:], raw)
		if names[e.Name] {
			errs = append(errs, fmt.Errorf("keys[%d] (%s): duplicate name", i, e.Name))
			continue
		}
		if other, dup := hashes[k.hash]; dup {
			errs = append(errs, fmt.Errorf("keys[%d] (%s): same key hash as %s", i, e.Name, other))
			continue
		}
		names[e.Name], hashes[k.hash] = true, e.Name
		ks.keys = append(ks.keys, k)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return ks, nil
}

// match returns the name of the key presented in the x-api-key values. It
// compares the key's hash with every stored hash in constant time.
func (ks *keySet) match(values []string) (string, error) {
	switch {
	case len(values) == 0 || values[0] == "":
		return "", defender.Errorf(defender.KindUnauthenticated, defender.ReasonCallerCredentialsMissing,
			"an API key is required in %s", caller.HeaderAPIKey)
	case len(values) > 1:
		return "", defender.Errorf(defender.KindUnauthenticated, defender.ReasonAPIKeyInvalid,
			"present one API key in %s", caller.HeaderAPIKey)
	}
	sum := sha256.Sum256([]byte(values[0]))
	matched := -1
	for i := range ks.keys {
		if subtle.ConstantTimeCompare(sum[:], ks.keys[i].hash[:]) == 1 {
			matched = i
		}
	}
	if matched < 0 {
		return "", defender.Errorf(defender.KindUnauthenticated, defender.ReasonAPIKeyInvalid, "the API key is not valid")
	}
	return ks.keys[matched].name, nil
}
