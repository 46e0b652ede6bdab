package config

import (
	"os"
	"strings"
	"testing"
)

// TestDocumentationMatchesSettings keeps docs/configuration.md's table in
// step with the settings: one row per setting, with its flag and default.
func TestDocumentationMatchesSettings(t *testing.T) {
	doc, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatalf("read the operator documentation: %v", err)
	}
	rows := map[string]string{}
	for line := range strings.Lines(string(doc)) {
		if strings.HasPrefix(line, "| `DEFENDER_") {
			env := strings.Trim(strings.TrimSpace(strings.Split(line, "|")[1]), "`")
			rows[env] = line
		}
	}
	if len(rows) != len(settings) {
		t.Errorf("the table has %d settings, the code %d", len(rows), len(settings))
	}
	for _, s := range settings {
		row, ok := rows[s.env]
		if !ok {
			t.Errorf("%s is not in the table", s.env)
			continue
		}
		cells := strings.Split(row, "|")
		if got := strings.TrimSpace(cells[2]); got != "`--"+s.flag+"`" {
			t.Errorf("%s: flag cell %q, want `--%s`", s.env, got, s.flag)
		}
		wantDefault := s.def
		if wantDefault != "" && !strings.Contains(s.def, ": ") {
			wantDefault = "`" + s.def + "`"
		}
		gotDefault := strings.ReplaceAll(strings.TrimSpace(cells[3]), "`", "")
		if gotDefault != strings.ReplaceAll(wantDefault, "`", "") {
			t.Errorf("%s: default cell %q, want %q", s.env, strings.TrimSpace(cells[3]), wantDefault)
		}
	}
}

// TestDocumentedDefaultsAreTheDefaults applies each documented default and
// expects no change from defaults().
func TestDocumentedDefaultsAreTheDefaults(t *testing.T) {
	want := defaults()
	want.fillBackendDefaults()
	for _, s := range settings {
		if s.def == "" {
			continue
		}
		if strings.Contains(s.def, ": ") { // per backend
			for kind, d := range backendDefaults {
				if !strings.Contains(s.def, string(kind)+": "+d.APIURL) && !strings.Contains(s.def, string(kind)+": "+d.Scope) {
					t.Errorf("%s: documented default %q lacks the %s value", s.env, s.def, kind)
				}
			}
			continue
		}
		got := defaults()
		got.fillBackendDefaults()
		if err := s.set(got, s.def); err != nil {
			t.Fatalf("%s: documented default %q: %v", s.env, s.def, err)
		}
		if got.LogValue().String() != want.LogValue().String() {
			t.Errorf("%s: documented default %q differs from the code's default", s.env, s.def)
		}
	}
}
