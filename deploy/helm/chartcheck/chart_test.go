package chartcheck

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"
)

// gatewayName is what the objects of the gateway are called in a render.
const gatewayName = "defender-gateway"

// TestChartRenders renders the defaults and the production example and
// checks what matters of every object.
func TestChartRenders(t *testing.T) {
	for _, tc := range []struct {
		name   string
		files  []string
		checks func(t *testing.T, objs []object)
	}{
		{name: "default values", checks: func(t *testing.T, objs []object) {
			d := gateway(t, objs)
			if d.Spec.Replicas == nil || *d.Spec.Replicas != 2 {
				t.Errorf("replicas = %v, want 2", d.Spec.Replicas)
			}
			if got := find[*autoscalingv2.HorizontalPodAutoscaler](objs, "HorizontalPodAutoscaler"); len(got) != 0 {
				t.Error("an HPA by default")
			}
			if got := find[*serviceMonitor](objs, "ServiceMonitor"); len(got) != 0 {
				t.Error("a ServiceMonitor by default")
			}
			// Two replicas need Redis: the bundled one, by default.
			if _, ok := find[*appsv1.Deployment](objs, "Deployment")[gatewayName+"-redis"]; !ok {
				t.Error("no bundled Redis by default")
			}
			c := container(t, d)
			wantEnv(t, c, "DEFENDER_REDIS_URL", "redis://defender-gateway-redis:6379/0")
			wantSecretEnv(t, c, "DEFENDER_PAGE_TOKEN_KEY", "defender-gateway-credentials", "page-token-key")
			wantSecretEnv(t, c, "DEFENDER_TENANT_ID", "defender-gateway-credentials", "tenant-id")
			wantEnv(t, c, "DEFENDER_CLIENT_SECRET_FILE", "/etc/defender-gateway/credentials/client-secret")
			wantEnv(t, c, "DEFENDER_RELOAD_WATCH_INTERVAL", "10s")
			wantProbes(t, c, "grpc")
		}},
		{name: "production example", files: []string{"examples/production.yaml"}, checks: func(t *testing.T, objs []object) {
			d := gateway(t, objs)
			if d.Spec.Replicas != nil {
				t.Errorf("replicas = %d with the HPA, want none (the HPA owns them)", *d.Spec.Replicas)
			}
			hpa, ok := find[*autoscalingv2.HorizontalPodAutoscaler](objs, "HorizontalPodAutoscaler")[gatewayName]
			if !ok {
				t.Fatal("no HPA")
			}
			if hpa.Spec.MinReplicas == nil || *hpa.Spec.MinReplicas != 3 || hpa.Spec.MaxReplicas < 3 {
				t.Errorf("HPA replicas %v..%d, want 3..", hpa.Spec.MinReplicas, hpa.Spec.MaxReplicas)
			}
			if ref := hpa.Spec.ScaleTargetRef; ref.Kind != "Deployment" || ref.Name != d.Name || ref.APIVersion != "apps/v1" {
				t.Errorf("HPA targets %+v", ref)
			}
			if d.Spec.Template.Spec.Affinity.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil {
				t.Error("the production example's anti-affinity is not required (hard)")
			}
			if _, ok := find[*appsv1.Deployment](objs, "Deployment")[gatewayName+"-redis"]; ok {
				t.Error("a bundled Redis beside the external one")
			}
			c := container(t, d)
			wantSecretEnv(t, c, "DEFENDER_REDIS_URL", "defender-gateway-redis", "redis-url")
			wantSecretEnv(t, c, "DEFENDER_PAGE_TOKEN_KEY", "defender-gateway-credentials", "page-token-key")
			wantEnv(t, c, "DEFENDER_CLIENT_CERTIFICATE_FILE", "/etc/defender-gateway/credentials/client-certificate.pem")
			wantEnv(t, c, "DEFENDER_ADMIN_ADDR", ":9090")
			wantEnv(t, c, "DEFENDER_CALLER_AUTH", "api-key")
			wantEnv(t, c, "DEFENDER_TLS_CERT_FILE", "/etc/defender-gateway/tls/tls.crt")
			if hasEnv(c, "DEFENDER_CLIENT_SECRET_FILE") {
				t.Error("a client secret beside the certificate")
			}
			wantProbes(t, c, "admin")
			sm, ok := find[*serviceMonitor](objs, "ServiceMonitor")[gatewayName]
			if !ok {
				t.Fatal("no ServiceMonitor")
			}
			svc := find[*corev1.Service](objs, "Service")[gatewayName]
			if len(sm.Spec.Endpoints) != 1 || sm.Spec.Endpoints[0].Port != "admin" || sm.Spec.Endpoints[0].Path != "/metrics" {
				t.Errorf("ServiceMonitor endpoints %+v, want the admin port's /metrics", sm.Spec.Endpoints)
			}
			if !selects(t, &sm.Spec.Selector, svc.Labels) {
				t.Errorf("the ServiceMonitor's selector %v does not select the Service (labels %v)", sm.Spec.Selector, svc.Labels)
			}
			if !slices.ContainsFunc(svc.Spec.Ports, func(p corev1.ServicePort) bool { return p.Name == "admin" }) {
				t.Error("no admin port on the Service")
			}
			np := find[*networkingv1.NetworkPolicy](objs, "NetworkPolicy")[gatewayName]
			if len(np.Spec.Egress) == 0 || !slices.Contains(np.Spec.PolicyTypes, networkingv1.PolicyTypeEgress) {
				t.Error("the production example's NetworkPolicy does not restrict egress")
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			objs := mustRender(t, tc.files)
			checkCommon(t, objs)
			tc.checks(t, objs)
		})
	}
}

// TestChartVariants renders other supported shapes and applies the common
// checks: the admin port kept off the Service, one replica without Redis,
// the shared page-token key, a client secret with ids in the values.
func TestChartVariants(t *testing.T) {
	for _, set := range [][]string{
		{"ports.admin.enabled=true", "service.exposeAdmin=false"},
		{"replicaCount=1", "redis.bundled.enabled=false", "podAntiAffinity=hard"},
		{"pageTokenKey.key=", "redis.sharePageTokenKey=true", "tenantId=contoso.onmicrosoft.com", "clientId=c1"},
		{"callerAuth=mtls", "tls.enabled=true", "tls.existingSecret=t", "tls.clientCA.existingConfigMap=ca"},
	} {
		t.Run(strings.Join(set, ","), func(t *testing.T) {
			checkCommon(t, mustRender(t, nil, set...))
		})
	}
}

// TestPolicyContentBecomesTheMountedConfigMap: policy.content makes the
// ConfigMap the pods mount, holding the text as given.
func TestPolicyContentBecomesTheMountedConfigMap(t *testing.T) {
	const text = "callers: [] # plumbing only"
	objs := mustRender(t, nil, "policy.content="+text)
	cm, ok := find[*corev1.ConfigMap](objs, "ConfigMap")[gatewayName+"-policy"]
	if !ok || cm.Data["policy.yaml"] != text {
		t.Fatalf("policy ConfigMap %v (found %v), want policy.yaml = %q", cm, ok, text)
	}
	for _, v := range gateway(t, objs).Spec.Template.Spec.Volumes {
		if v.Name == "policy" && (v.ConfigMap == nil || v.ConfigMap.Name != cm.Name) {
			t.Errorf("the policy volume %+v does not mount %s", v, cm.Name)
		}
	}
}

// checkCommon checks what holds for every render: the gateway's pod
// security, anti-affinity, resources, mounts, PDB, Service and NetworkPolicy
// agreeing with the pods.
func checkCommon(t *testing.T, objs []object) {
	t.Helper()
	d := gateway(t, objs)
	pod := d.Spec.Template.Spec
	podLabels := d.Spec.Template.Labels
	if !selects(t, d.Spec.Selector, podLabels) {
		t.Errorf("the Deployment's selector %v does not select its pods %v", d.Spec.Selector, podLabels)
	}

	// Anti-affinity: by host, selecting the gateway's own pods.
	aa := pod.Affinity
	if aa == nil || aa.PodAntiAffinity == nil {
		t.Fatal("no pod anti-affinity")
	}
	var terms []corev1.PodAffinityTerm
	terms = append(terms, aa.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution...)
	for _, w := range aa.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution {
		terms = append(terms, w.PodAffinityTerm)
	}
	if len(terms) == 0 {
		t.Error("the anti-affinity has no term")
	}
	for _, term := range terms {
		if term.TopologyKey != "kubernetes.io/hostname" || !selects(t, term.LabelSelector, podLabels) {
			t.Errorf("anti-affinity term %+v is not by host over the gateway's pods", term)
		}
	}

	// Pod and container security.
	psc := pod.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("pod securityContext %+v: want runAsNonRoot and seccomp RuntimeDefault", psc)
	}
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		t.Error("the pods mount a service account token they do not use")
	}
	for _, d := range find[*appsv1.Deployment](objs, "Deployment") {
		for _, c := range d.Spec.Template.Spec.Containers {
			checkContainerSecurity(t, d.Name+"/"+c.Name, c)
		}
	}
	c := container(t, d)
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
		t.Errorf("resources %+v: want cpu and memory requests and a memory limit", c.Resources)
	}
	for _, p := range c.Ports {
		if errs := validation.IsValidPortName(p.Name); len(errs) > 0 {
			t.Errorf("port name %q: %v", p.Name, errs)
		}
	}

	// Every file setting lies in a mounted volume, mounted whole (a subPath
	// mount never sees a ConfigMap's or Secret's update), and /tmp is
	// writable.
	volumes := map[string]bool{}
	for _, v := range pod.Volumes {
		volumes[v.Name] = true
	}
	var tmp bool
	for _, m := range c.VolumeMounts {
		if m.SubPath != "" || m.SubPathExpr != "" {
			t.Errorf("volume mount %s uses a subPath", m.Name)
		}
		if !volumes[m.Name] {
			t.Errorf("volume mount %s has no volume", m.Name)
		}
		tmp = tmp || m.MountPath == "/tmp"
	}
	if !tmp {
		t.Error("no writable /tmp under the read-only root")
	}
	for _, e := range c.Env {
		if !strings.HasSuffix(e.Name, "_FILE") {
			continue
		}
		if !slices.ContainsFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool { return strings.HasPrefix(e.Value, m.MountPath+"/") }) {
			t.Errorf("%s=%s is in no mounted volume", e.Name, e.Value)
		}
	}

	// PDB over the gateway's pods.
	pdb, ok := find[*policyv1.PodDisruptionBudget](objs, "PodDisruptionBudget")[gatewayName]
	if !ok {
		t.Fatal("no PodDisruptionBudget")
	}
	if !selects(t, pdb.Spec.Selector, podLabels) {
		t.Errorf("the PDB's selector %v does not select the pods", pdb.Spec.Selector)
	}
	if pdb.Spec.MaxUnavailable == nil && pdb.Spec.MinAvailable == nil {
		t.Error("the PDB bounds nothing")
	}

	// The Service reaches the pods' named ports; the NetworkPolicy admits
	// exactly the Service's ports.
	svc, ok := find[*corev1.Service](objs, "Service")[gatewayName]
	if !ok {
		t.Fatal("no Service")
	}
	if !selects(t, &metav1.LabelSelector{MatchLabels: svc.Spec.Selector}, podLabels) {
		t.Errorf("the Service's selector %v does not select the pods", svc.Spec.Selector)
	}
	containerPorts := map[string]int32{}
	for _, p := range c.Ports {
		containerPorts[p.Name] = p.ContainerPort
	}
	var svcPorts []string
	for _, p := range svc.Spec.Ports {
		if _, ok := containerPorts[p.TargetPort.String()]; !ok {
			t.Errorf("Service port %s targets %s, which the container does not have", p.Name, p.TargetPort.String())
		}
		svcPorts = append(svcPorts, p.TargetPort.String())
	}
	for _, want := range []string{"grpc", "http"} {
		if !slices.Contains(svcPorts, want) {
			t.Errorf("the Service has no %s port", want)
		}
	}
	np, ok := find[*networkingv1.NetworkPolicy](objs, "NetworkPolicy")[gatewayName]
	if !ok {
		t.Fatal("no NetworkPolicy")
	}
	if !selects(t, &np.Spec.PodSelector, podLabels) {
		t.Errorf("the NetworkPolicy's podSelector %v does not select the pods", np.Spec.PodSelector)
	}
	var npPorts []string
	for _, rule := range np.Spec.Ingress {
		for _, p := range rule.Ports {
			npPorts = append(npPorts, p.Port.String())
		}
	}
	slices.Sort(svcPorts)
	slices.Sort(npPorts)
	if !slices.Equal(svcPorts, npPorts) {
		t.Errorf("NetworkPolicy ingress ports %v, Service ports %v: want the same", npPorts, svcPorts)
	}

	// The dashboard ConfigMap holds the repository's dashboard as is.
	cm, ok := find[*corev1.ConfigMap](objs, "ConfigMap")[gatewayName+"-dashboard"]
	if !ok {
		t.Fatal("no dashboard ConfigMap")
	}
	if got, want := cm.Data["defender-gateway.json"], strings.TrimRight(string(readRepoFile(t, "deploy/grafana/defender-gateway.json")), "\n"); got != want {
		t.Error("the dashboard ConfigMap's JSON differs from deploy/grafana/defender-gateway.json")
	}
	if cm.Labels["grafana_dashboard"] != "1" {
		t.Errorf("dashboard labels %v: want grafana_dashboard=1 for Grafana's sidecar", cm.Labels)
	}
}

func checkContainerSecurity(t *testing.T, name string, c corev1.Container) {
	t.Helper()
	sc := c.SecurityContext
	switch {
	case sc == nil:
		t.Errorf("%s: no securityContext", name)
	case sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot:
		t.Errorf("%s: not runAsNonRoot", name)
	case sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem:
		t.Errorf("%s: root filesystem not read-only", name)
	case sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation:
		t.Errorf("%s: privilege escalation allowed", name)
	case sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) > 0:
		t.Errorf("%s: capabilities %+v, want drop ALL and none added", name, sc.Capabilities)
	case sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault:
		t.Errorf("%s: seccomp %+v, want RuntimeDefault", name, sc.SeccompProfile)
	}
}

// TestDashboardCopyIsTheRepositorys: Helm's .Files.Get reads only inside
// the chart, so the chart holds a copy of deploy/grafana's dashboard; it
// must stay byte for byte the same.
func TestDashboardCopyIsTheRepositorys(t *testing.T) {
	if !bytes.Equal(readRepoFile(t, "deploy/helm/defender-gateway/dashboards/defender-gateway.json"), readRepoFile(t, "deploy/grafana/defender-gateway.json")) {
		t.Error("deploy/helm/defender-gateway/dashboards/defender-gateway.json differs from deploy/grafana/defender-gateway.json: cp deploy/grafana/defender-gateway.json deploy/helm/defender-gateway/dashboards/")
	}
}

// TestChartRefuses: values the gateway would refuse, or that split its
// state across replicas, fail the render with a message saying why.
func TestChartRefuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  []string
		want string
	}{
		{"three replicas without Redis", []string{"replicaCount=3", "redis.bundled.enabled=false"}, "replicaCount is 3 but no Redis is configured"},
		{"two replicas without Redis", []string{"redis.bundled.enabled=false"}, "replicaCount is 2 but no Redis is configured"},
		{"the HPA without Redis", []string{"replicaCount=1", "redis.bundled.enabled=false", "autoscaling.enabled=true"}, "autoscaling.enabled runs several replicas, which need Redis"},
		{"Redis without a page-token key", []string{"pageTokenKey.key="}, "the replicas need one page-token key"},
		{"two Redis", []string{"redis.external.existingSecret=r"}, "choose one Redis"},
		// values.schema.json refuses these before the templates see them.
		{"caller auth none", []string{"callerAuth=none"}, `at '/callerAuth': value must be one of 'mtls', 'api-key', 'jwt'`},
		{"unknown credential", []string{"credentials.type=password"}, `at '/credentials/type': value must be one of 'secret', 'certificate'`},
		{"a misspelt value", []string{"replicas=3"}, "additional properties 'replicas' not allowed"},
		{"a bad reload interval", []string{"reloadWatchInterval=often"}, "at '/reloadWatchInterval'"},
		{"mtls without TLS", []string{"callerAuth=mtls"}, "callerAuth mtls needs tls.enabled"},
		{"TLS without a Secret", []string{"tls.enabled=true"}, "tls.enabled needs tls.existingSecret"},
		{"not a setting in extraEnv", []string{"extraEnv.HOME=/"}, "'HOME' does not match pattern '^DEFENDER_"},
		{"not a flag in extraArgs", []string{"extraArgs={-v}"}, "'-v' does not match pattern"},
		{"a ServiceMonitor that cannot scrape", []string{"serviceMonitor.enabled=true", "tls.enabled=true", "tls.existingSecret=t"}, "needs ports.admin.enabled"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := render(t, nil, tc.set...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("render with %v: error %q, want one containing %q", tc.set, errText(err), tc.want)
			}
		})
	}
	// One replica needs no Redis; with Redis the shared key may replace a
	// configured one.
	for _, set := range [][]string{
		{"replicaCount=1", "redis.bundled.enabled=false"},
		{"pageTokenKey.key=", "redis.sharePageTokenKey=true"},
	} {
		if _, err := render(t, nil, set...); err != nil {
			t.Errorf("render with %v: %v", set, err)
		}
	}
}

// TestProbesWithTLSAndNoAdminPort: kubelet's gRPC probe speaks plaintext,
// so with TLS on the gRPC port and no admin port the pod checks itself.
func TestProbesWithTLSAndNoAdminPort(t *testing.T) {
	objs := mustRender(t, nil, "tls.enabled=true", "tls.existingSecret=gw-tls")
	c := container(t, gateway(t, objs))
	for name, p := range map[string]*corev1.Probe{"liveness": c.LivenessProbe, "readiness": c.ReadinessProbe} {
		if p == nil || p.Exec == nil || !slices.Equal(p.Exec.Command[:2], []string{"/defender-gateway", "healthcheck"}) {
			t.Errorf("%s probe %+v, want exec /defender-gateway healthcheck", name, p)
		}
	}
}

// gateway is the gateway's Deployment of a render.
func gateway(t *testing.T, objs []object) *appsv1.Deployment {
	t.Helper()
	d, ok := find[*appsv1.Deployment](objs, "Deployment")[gatewayName]
	if !ok {
		t.Fatal("no gateway Deployment")
	}
	return d
}

// container is the gateway container.
func container(t *testing.T, d *appsv1.Deployment) corev1.Container {
	t.Helper()
	for _, c := range d.Spec.Template.Spec.Containers {
		if c.Name == "gateway" {
			return c
		}
	}
	t.Fatal("no gateway container")
	return corev1.Container{}
}

// wantProbes checks both probes are grpc.health.v1 probes on the named
// container port.
func wantProbes(t *testing.T, c corev1.Container, port string) {
	t.Helper()
	var number int32
	for _, p := range c.Ports {
		if p.Name == port {
			number = p.ContainerPort
		}
	}
	for name, p := range map[string]*corev1.Probe{"liveness": c.LivenessProbe, "readiness": c.ReadinessProbe} {
		if p == nil || p.GRPC == nil || p.GRPC.Port != number || number == 0 {
			t.Errorf("%s probe %+v: want grpc on the %s port (%d)", name, p, port, number)
			continue
		}
		if p.PeriodSeconds == 0 || p.TimeoutSeconds == 0 || p.FailureThreshold == 0 {
			t.Errorf("%s probe timings %+v", name, p)
		}
	}
}

func hasEnv(c corev1.Container, name string) bool {
	return slices.ContainsFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == name })
}

func wantEnv(t *testing.T, c corev1.Container, name, value string) {
	t.Helper()
	for _, e := range c.Env {
		if e.Name == name {
			if e.Value != value || e.ValueFrom != nil {
				t.Errorf("%s = %q (from %v), want %q", name, e.Value, e.ValueFrom, value)
			}
			return
		}
	}
	t.Errorf("%s is not set, want %q", name, value)
}

func wantSecretEnv(t *testing.T, c corev1.Container, name, secret, key string) {
	t.Helper()
	for _, e := range c.Env {
		if e.Name == name {
			if e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil || e.ValueFrom.SecretKeyRef.Name != secret || e.ValueFrom.SecretKeyRef.Key != key {
				t.Errorf("%s = %q from %+v, want Secret %s key %s", name, e.Value, e.ValueFrom, secret, key)
			}
			return
		}
	}
	t.Errorf("%s is not set, want it from Secret %s key %s", name, secret, key)
}

// selects reports whether sel selects a set of labels.
func selects(t *testing.T, sel *metav1.LabelSelector, set map[string]string) bool {
	t.Helper()
	if sel == nil {
		return false
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		t.Errorf("selector %v: %v", sel, err)
		return false
	}
	return !s.Empty() && s.Matches(labels.Set(set))
}
