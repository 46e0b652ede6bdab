package chartcheck

import (
	"path/filepath"
	"testing"

	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/v2/lint"
	"helm.sh/helm/v4/pkg/chart/v2/lint/support"
)

// TestChartLints runs `helm lint`'s rules (Chart.yaml, values, the schema,
// templates, the manifests' API versions for the oldest supported
// Kubernetes) with the defaults and the production example, and accepts
// no warning: info-level messages (a missing icon) pass.
func TestChartLints(t *testing.T) {
	oldest, err := common.ParseKubeVersion("v1.30.0")
	if err != nil {
		t.Fatal(err)
	}
	for _, files := range [][]string{nil, {"examples/production.yaml"}} {
		vals := map[string]any{}
		for _, f := range files {
			v, err := common.ReadValuesFile(filepath.Join(chartDir, f))
			if err != nil {
				t.Fatal(err)
			}
			vals = v
		}
		linter := lint.RunAll(chartDir, vals, "defender-gateway", lint.WithKubeVersion(oldest))
		for _, m := range linter.Messages {
			if m.Severity >= support.WarningSev {
				t.Errorf("values %v: %s", files, m)
			} else {
				t.Logf("values %v: %s", files, m)
			}
		}
	}
}
