// Package chartcheck renders the Helm chart and checks its manifests.
package chartcheck
