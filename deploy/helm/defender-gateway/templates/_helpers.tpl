{{/* Names and labels. */}}
{{- define "dg.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "dg.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "dg.selectorLabels" -}}
app.kubernetes.io/name: {{ include "dg.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "dg.commonLabels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "dg.labels" -}}
{{ include "dg.commonLabels" . }}
app.kubernetes.io/name: {{ include "dg.name" . }}
app.kubernetes.io/component: gateway
{{- end -}}

{{- define "dg.redisSelectorLabels" -}}
app.kubernetes.io/name: {{ include "dg.name" . }}-redis
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "dg.redisLabels" -}}
{{ include "dg.commonLabels" . }}
app.kubernetes.io/name: {{ include "dg.name" . }}-redis
app.kubernetes.io/component: redis
{{- end -}}

{{- define "dg.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "dg.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "dg.credentialsSecret" -}}
{{- default (printf "%s-credentials" (include "dg.fullname" .)) .Values.credentials.existingSecret -}}
{{- end -}}

{{- define "dg.policyConfigMap" -}}
{{- if .Values.policy.content -}}
{{- printf "%s-policy" (include "dg.fullname" .) -}}
{{- else -}}
{{- default (printf "%s-policy" (include "dg.fullname" .)) .Values.policy.existingConfigMap -}}
{{- end -}}
{{- end -}}

{{- define "dg.partnersConfigMap" -}}
{{- if .Values.partnerTenants.content -}}
{{- printf "%s-partner-tenants" (include "dg.fullname" .) -}}
{{- else -}}
{{- .Values.partnerTenants.existingConfigMap -}}
{{- end -}}
{{- end -}}

{{- define "dg.apiKeysSecret" -}}
{{- default (printf "%s-api-keys" (include "dg.fullname" .)) .Values.apiKeys.existingSecret -}}
{{- end -}}

{{- define "dg.redisFullname" -}}
{{- printf "%s-redis" (include "dg.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* dg.redisEnabled is "true" when the pods get a Redis URL. */}}
{{- define "dg.redisEnabled" -}}
{{- if or .Values.redis.external.existingSecret .Values.redis.bundled.enabled -}}true{{- end -}}
{{- end -}}

{{/*
dg.validate refuses values the gateway would refuse at start, or that
would split its state: more than one replica without Redis, Redis without
a page-token key, mtls without TLS, an unknown mode or credential type.
*/}}
{{- define "dg.validate" -}}
{{- $redis := include "dg.redisEnabled" . -}}
{{- if and .Values.redis.external.existingSecret .Values.redis.bundled.enabled -}}
{{- fail "redis.external.existingSecret and redis.bundled.enabled are both set; choose one Redis" -}}
{{- end -}}
{{- if and (not $redis) (gt (int .Values.replicaCount) 1) -}}
{{- fail (printf "replicaCount is %d but no Redis is configured: the replicas would each spend the whole upstream quota and reject each other's page tokens. Set redis.external.existingSecret or redis.bundled.enabled, or replicaCount: 1" (int .Values.replicaCount)) -}}
{{- end -}}
{{- if and (not $redis) .Values.autoscaling.enabled -}}
{{- fail "autoscaling.enabled runs several replicas, which need Redis: set redis.external.existingSecret or redis.bundled.enabled" -}}
{{- end -}}
{{- if and $redis (not .Values.redis.sharePageTokenKey) (not .Values.pageTokenKey.key) -}}
{{- fail "Redis is configured, so the replicas need one page-token key: set pageTokenKey.key (a key of pageTokenKey.existingSecret or the credentials Secret) or redis.sharePageTokenKey: true" -}}
{{- end -}}
{{- if not (has .Values.credentials.type (list "secret" "certificate")) -}}
{{- fail (printf "credentials.type is %q; use secret or certificate" .Values.credentials.type) -}}
{{- end -}}
{{- if not (has .Values.callerAuth (list "mtls" "api-key" "jwt")) -}}
{{- fail (printf "callerAuth is %q; use mtls, api-key or jwt (none is for loopback listeners only)" .Values.callerAuth) -}}
{{- end -}}
{{- if not (has .Values.backend (list "graph" "xdr")) -}}
{{- fail (printf "backend is %q; use graph or xdr" .Values.backend) -}}
{{- end -}}
{{- if and (eq .Values.callerAuth "mtls") (not .Values.tls.enabled) -}}
{{- fail "callerAuth mtls needs tls.enabled and tls.existingSecret" -}}
{{- end -}}
{{- if and .Values.tls.enabled (not .Values.tls.existingSecret) -}}
{{- fail "tls.enabled needs tls.existingSecret (a kubernetes.io/tls Secret)" -}}
{{- end -}}
{{- if and (eq .Values.callerAuth "mtls") (not (or .Values.tls.clientCA.existingSecret .Values.tls.clientCA.existingConfigMap)) -}}
{{- fail "callerAuth mtls needs tls.clientCA.existingSecret or tls.clientCA.existingConfigMap" -}}
{{- end -}}
{{- if and .Values.policy.content .Values.policy.existingConfigMap -}}
{{- fail "policy.content and policy.existingConfigMap are both set; set one" -}}
{{- end -}}
{{- if and .Values.partnerTenants.content .Values.partnerTenants.existingConfigMap -}}
{{- fail "partnerTenants.content and partnerTenants.existingConfigMap are both set; set one" -}}
{{- end -}}
{{- range $name, $_ := .Values.extraEnv -}}
{{- if not (hasPrefix "DEFENDER_" $name) -}}
{{- fail (printf "extraEnv.%s: only DEFENDER_* settings belong here" $name) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* dg.probe is the probe handler: gRPC health on the admin port, or on the
gRPC port without TLS; with TLS and no admin port kubelet's plaintext gRPC
probe cannot connect, so the binary checks itself. */}}
{{- define "dg.probe" -}}
{{- if .Values.ports.admin.enabled -}}
grpc:
  port: {{ .Values.ports.admin.port }}
{{- else if .Values.tls.enabled -}}
exec:
  command: ["/defender-gateway", "healthcheck", "--timeout", "2s"]
{{- else -}}
grpc:
  port: {{ .Values.ports.grpc }}
{{- end -}}
{{- end -}}
