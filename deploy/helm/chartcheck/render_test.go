package chartcheck

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/common/util"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/engine"
	"helm.sh/helm/v4/pkg/strvals"
)

// chartDir is the chart under test, from this module's directory.
const chartDir = "../defender-gateway"

// releaseName is the release every render uses; with the chart's name in
// it, the objects are named defender-gateway (as `helm install
// defender-gateway` names them).
const releaseName = "defender-gateway"

// render renders the chart as `helm template` does, with the values files
// (relative to the chart) and then the --set style overrides applied on top
// of the chart's values.yaml, checking values.schema.json. Templates are
// rendered strictly: a reference to a value that is not there fails. It
// returns the manifests by template path.
func render(t *testing.T, valuesFiles []string, set ...string) (map[string]string, error) {
	t.Helper()
	chrt, err := loader.Load(chartDir)
	if err != nil {
		t.Fatalf("load the chart: %v", err)
	}
	vals := map[string]any{}
	for _, f := range valuesFiles {
		v, err := common.ReadValuesFile(filepath.Join(chartDir, f))
		if err != nil {
			t.Fatalf("read %s: %v", f, err)
		}
		vals = mergeMaps(vals, v)
	}
	for _, s := range set {
		if err := strvals.ParseInto(s, vals); err != nil {
			t.Fatalf("--set %s: %v", s, err)
		}
	}
	top, err := util.ToRenderValues(chrt, vals, common.ReleaseOptions{Name: releaseName, Namespace: "defender-gateway", IsInstall: true, Revision: 1}, nil)
	if err != nil {
		return nil, err
	}
	out, err := engine.Engine{Strict: true}.Render(chrt, top)
	if err != nil {
		return nil, err
	}
	// Drop what `helm template` does not print: NOTES and partials.
	for name := range out {
		if !strings.HasSuffix(name, ".yaml") || strings.HasPrefix(filepath.Base(name), "_") {
			delete(out, name)
		}
	}
	return out, nil
}

// mustRender is render for values that must render.
func mustRender(t *testing.T, valuesFiles []string, set ...string) []object {
	t.Helper()
	out, err := render(t, valuesFiles, set...)
	if err != nil {
		t.Fatalf("render with %v %v: %v", valuesFiles, set, err)
	}
	return decodeAll(t, out)
}

// mergeMaps merges b into a, deeply (maps of maps); b wins.
func mergeMaps(a, b map[string]any) map[string]any {
	out := maps.Clone(a)
	for k, v := range b {
		if bv, ok := v.(map[string]any); ok {
			if av, ok := out[k].(map[string]any); ok {
				out[k] = mergeMaps(av, bv)
				continue
			}
		}
		out[k] = v
	}
	return out
}

// documents splits a rendered template into its YAML documents, dropping
// empty ones and comment-only ones.
func documents(rendered string) []string {
	var docs []string
	for doc := range strings.SplitSeq("\n"+rendered, "\n---") {
		body := false
		for line := range strings.Lines(doc) {
			if l := strings.TrimSpace(line); l != "" && !strings.HasPrefix(l, "#") {
				body = true
				break
			}
		}
		if body {
			docs = append(docs, doc)
		}
	}
	return docs
}

// sortedNames lists a render's templates in order, for stable failures.
func sortedNames(out map[string]string) []string {
	return slices.Sorted(maps.Keys(out))
}

// errText is err's message, or "" for nil.
func errText(err error) string {
	if err == nil {
		return ""
	}
	return fmt.Sprint(err)
}

// readRepoFile reads a file of the main module, from this module's
// directory.
func readRepoFile(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("../../..", path))
	if err != nil {
		t.Fatal(err)
	}
	return data
}
