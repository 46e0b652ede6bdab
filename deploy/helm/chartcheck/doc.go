// Package chartcheck checks the Helm chart deploy/helm/defender-gateway
// offline: it renders the chart with the Helm SDK, decodes every manifest
// strictly into the k8s.io/api types, checks what the chart promises and
// that it sets only settings the binary accepts (docs/testing.md). It is a
// module of its own, so that Helm and k8s.io stay out of the gateway's
// module, which it imports through a replace directive.
package chartcheck
