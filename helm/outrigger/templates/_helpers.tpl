{{/* Chart name and version, as used by the helm.sh/chart label. */}}
{{- define "outrigger.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels shared by every object of the release. */}}
{{- define "outrigger.labels" -}}
helm.sh/chart: {{ include "outrigger.chart" . }}
app.kubernetes.io/part-of: outrigger
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Selector labels of sentry (stable across upgrades: never add the version here). */}}
{{- define "outrigger.sentry.selectorLabels" -}}
app: dapr-sentry
app.kubernetes.io/name: dapr-sentry
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* All labels of sentry's objects. */}}
{{- define "outrigger.sentry.labels" -}}
{{ include "outrigger.labels" . }}
app: dapr-sentry
app.kubernetes.io/name: dapr-sentry
app.kubernetes.io/component: sentry
{{- end -}}

{{/* The image reference; the tag defaults to the chart's appVersion. */}}
{{- define "outrigger.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag | toString) -}}
{{- end -}}

{{/*
True (non-empty) when bring-your-own sentry credentials are given. Fails the render when only
some of the three PEMs are set, since sentry needs the root, the issuer certificate and its key.
*/}}
{{- define "outrigger.sentry.byoCredentials" -}}
{{- $tls := .Values.sentry.tls -}}
{{- $root := $tls.root.certPEM | default "" -}}
{{- $cert := $tls.issuer.certPEM | default "" -}}
{{- $key := $tls.issuer.keyPEM | default "" -}}
{{- if or $root $cert $key -}}
{{- if not (and $root $cert $key) -}}
{{- fail "sentry.tls: give all of root.certPEM, issuer.certPEM and issuer.keyPEM, or none of them" -}}
{{- end -}}
true
{{- end -}}
{{- end -}}
