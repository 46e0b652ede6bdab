package yamlstrict

import (
	"errors"
	"strings"
	"testing"
)

func TestDecode(t *testing.T) {
	type doc struct {
		Name string `yaml:"name"`
	}
	tests := []struct {
		name, in string
		want     string // error fragment; "" for success
	}{
		{"valid", "name: x\n", ""},
		{"unknown key", "name: x\nnmae: y\n", "nmae"},
		{"two documents", "name: x\n---\nname: y\n", "single YAML document"},
		{"empty", "", "is empty"},
		{"wrong type", "name: [1, 2]\n", "cannot unmarshal"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d doc
			err := Decode([]byte(tt.in), &d)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("Decode: %v", err)
			case tt.want == "" && d.Name != "x":
				t.Errorf("decoded %+v", d)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("error = %v, want one containing %q", err, tt.want)
			}
		})
	}
	if err := Decode(nil, &struct{}{}); !errors.Is(err, ErrEmpty) {
		t.Errorf("Decode(nil) = %v, want ErrEmpty", err)
	}
}
