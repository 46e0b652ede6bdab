package chartcheck

import (
	"fmt"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"
)

// object is one decoded manifest: its template, kind and typed value.
type object struct {
	template string
	kind     string
	name     string
	value    any
}

// serviceMonitor is the part of monitoring.coreos.com/v1 ServiceMonitor the
// chart uses; decoded strictly, so a field outside it (a typo) fails. The
// operator's CRD is not a Go module worth the dependency for its shape.
type serviceMonitor struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		Selector  metav1.LabelSelector `json:"selector"`
		Endpoints []struct {
			Port     string `json:"port"`
			Path     string `json:"path"`
			Interval string `json:"interval"`
		} `json:"endpoints"`
	} `json:"spec"`
}

// kinds are the apiVersion/kind pairs the chart may render, each with a new
// typed value to decode into.
var kinds = map[string]func() any{
	"apps/v1/Deployment":                      func() any { return &appsv1.Deployment{} },
	"v1/Service":                              func() any { return &corev1.Service{} },
	"v1/ServiceAccount":                       func() any { return &corev1.ServiceAccount{} },
	"v1/ConfigMap":                            func() any { return &corev1.ConfigMap{} },
	"policy/v1/PodDisruptionBudget":           func() any { return &policyv1.PodDisruptionBudget{} },
	"autoscaling/v2/HorizontalPodAutoscaler":  func() any { return &autoscalingv2.HorizontalPodAutoscaler{} },
	"networking.k8s.io/v1/NetworkPolicy":      func() any { return &networkingv1.NetworkPolicy{} },
	"monitoring.coreos.com/v1/ServiceMonitor": func() any { return &serviceMonitor{} },
}

// decodeAll decodes every document of a render strictly into its
// k8s.io/api type: an unknown or duplicate field, a wrong type or an
// unknown kind fails the test. It also checks the names and labels
// Kubernetes would refuse.
func decodeAll(t *testing.T, out map[string]string) []object {
	t.Helper()
	var objs []object
	for _, name := range sortedNames(out) {
		for _, doc := range documents(out[name]) {
			obj, err := decode(doc)
			if err != nil {
				t.Errorf("%s: %v\n%s", name, err, doc)
				continue
			}
			obj.template = name
			objs = append(objs, obj)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	return objs
}

func decode(doc string) (object, error) {
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal([]byte(doc), &tm); err != nil {
		return object{}, fmt.Errorf("not YAML: %w", err)
	}
	key := tm.APIVersion + "/" + tm.Kind
	newValue, ok := kinds[key]
	if !ok {
		return object{}, fmt.Errorf("unexpected kind %s", key)
	}
	v := newValue()
	if err := yaml.UnmarshalStrict([]byte(doc), v); err != nil {
		return object{}, fmt.Errorf("%s does not decode strictly: %w", key, err)
	}
	meta := v.(metav1.Object)
	if errs := validation.IsDNS1123Subdomain(meta.GetName()); len(errs) > 0 {
		return object{}, fmt.Errorf("%s name %q: %s", key, meta.GetName(), strings.Join(errs, "; "))
	}
	if err := checkLabels(meta.GetLabels()); err != nil {
		return object{}, fmt.Errorf("%s %s labels: %w", key, meta.GetName(), err)
	}
	return object{kind: tm.Kind, name: meta.GetName(), value: v}, nil
}

// checkLabels applies Kubernetes' rules for label keys and values.
func checkLabels(labels map[string]string) error {
	for k, v := range labels {
		if errs := validation.IsQualifiedName(k); len(errs) > 0 {
			return fmt.Errorf("key %q: %s", k, strings.Join(errs, "; "))
		}
		if errs := validation.IsValidLabelValue(v); len(errs) > 0 {
			return fmt.Errorf("%s=%q: %s", k, v, strings.Join(errs, "; "))
		}
	}
	return nil
}

// find returns the objects of a kind, by name.
func find[T any](objs []object, kind string) map[string]T {
	out := map[string]T{}
	for _, o := range objs {
		if o.kind == kind {
			out[o.name] = o.value.(T)
		}
	}
	return out
}

// TestDecodeIsStrict: the decoding the checks rely on refuses an unknown
// field and a duplicate one, and an unknown kind.
func TestDecodeIsStrict(t *testing.T) {
	for name, doc := range map[string]string{
		"unknown field":   "apiVersion: v1\nkind: Service\nmetadata:\n  name: a\nspec:\n  prots: []\n",
		"duplicate field": "apiVersion: v1\nkind: Service\nmetadata:\n  name: a\n  name: b\n",
		"wrong type":      "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: a\nspec:\n  replicas: two\n",
		"unknown kind":    "apiVersion: v1\nkind: Servce\nmetadata:\n  name: a\n",
		"bad name":        "apiVersion: v1\nkind: Service\nmetadata:\n  name: A_b\n",
		"bad label":       "apiVersion: v1\nkind: Service\nmetadata:\n  name: a\n  labels:\n    a: \"-x-\"\n",
		"monitor typo":    "apiVersion: monitoring.coreos.com/v1\nkind: ServiceMonitor\nmetadata:\n  name: a\nspec:\n  endpoint: []\n",
	} {
		if _, err := decode(doc); err == nil {
			t.Errorf("%s: decoded without error", name)
		}
	}
	if _, err := decode("apiVersion: v1\nkind: Service\nmetadata:\n  name: a\nspec:\n  ports: []\n"); err != nil {
		t.Errorf("a valid Service: %v", err)
	}
}
