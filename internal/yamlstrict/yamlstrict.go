// Package yamlstrict decodes the gateway's YAML files (the partner
// allow-list, the API keys, the authorization policy) strictly: unknown
// keys are errors, and a file holds exactly one document.
package yamlstrict

import (
	"bytes"
	"errors"
	"io"

	"go.yaml.in/yaml/v3"
)

// ErrEmpty is returned for a file with no document.
var ErrEmpty = errors.New("is empty")

// Decode decodes the single YAML document of data into v. Unknown keys are
// errors; an empty file is ErrEmpty; a second document is an error.
func Decode(data []byte, v any) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return ErrEmpty
		}
		return err
	}
	var extra any
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return errors.New("must hold a single YAML document")
	}
	return nil
}
