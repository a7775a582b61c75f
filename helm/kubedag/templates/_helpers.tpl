{{/*
Names, labels, the image and the operator's command line: shared by every template so that a
change (a label, a flag) happens in one place.
*/}}

{{/* The chart's name, or nameOverride. */}}
{{- define "kubedag.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* `<release>-kubedag`, or just the release name when it already holds the chart's name. */}}
{{- define "kubedag.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := include "kubedag.name" . -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* `<fullname>-<suffix>`, cut so that the whole stays a valid name. */}}
{{- define "kubedag.component.fullname" -}}
{{- $suffix := index . 1 -}}
{{- printf "%s-%s" (include "kubedag.fullname" (index . 0) | trunc (int (sub 62 (len $suffix)))) $suffix | trimSuffix "-" -}}
{{- end -}}

{{- define "kubedag.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels that select pods: they never change across upgrades. */}}
{{- define "kubedag.selectorLabels" -}}
app.kubernetes.io/name: {{ include "kubedag.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* Labels of every object. */}}
{{- define "kubedag.labels" -}}
helm.sh/chart: {{ include "kubedag.chart" . }}
{{ include "kubedag.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: kubedag
{{- end -}}

{{/* The operator's selector labels (call with the root context). */}}
{{- define "kubedag.operator.selectorLabels" -}}
{{ include "kubedag.selectorLabels" . }}
app.kubernetes.io/component: operator
{{- end -}}

{{/* The image: repository@digest when a digest is given, else repository:tag. */}}
{{- define "kubedag.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag | toString) -}}
{{- end -}}
{{- end -}}

{{- define "kubedag.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "kubedag.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The run pods' ServiceAccount; empty when they get none. */}}
{{- define "kubedag.runWorker.serviceAccountName" -}}
{{- $sa := .Values.instance.runLauncher.serviceAccount -}}
{{- if $sa.create -}}
{{- default (include "kubedag.component.fullname" (list . "run-worker")) $sa.name -}}
{{- else -}}
{{- $sa.name -}}
{{- end -}}
{{- end -}}

{{- define "kubedag.peeringName" -}}
{{- default (include "kubedag.fullname" .) .Values.operator.peering.name -}}
{{- end -}}

{{/* The namespaces the operator watches, as a list; empty means every namespace. */}}
{{- define "kubedag.watchedNamespaces" -}}
{{- if eq .Values.rbac.scope "cluster" -}}
{{- toJson (uniq .Values.watchNamespaces) -}}
{{- else -}}
{{- toJson (uniq (prepend .Values.watchNamespaces .Release.Namespace)) -}}
{{- end -}}
{{- end -}}

{{/* Whether the operator watches every namespace ("true" or ""). */}}
{{- define "kubedag.allNamespaces" -}}
{{- if and (eq .Values.rbac.scope "cluster") (empty .Values.watchNamespaces) -}}true{{- end -}}
{{- end -}}

{{/* The arguments of `kubedag operator`. */}}
{{- define "kubedag.operator.args" -}}
- operator
{{- if include "kubedag.allNamespaces" . }}
- --all-namespaces
{{- else }}
{{- range (include "kubedag.watchedNamespaces" . | fromJsonArray) }}
- --namespace
- {{ . | quote }}
{{- end }}
{{- end }}
{{- if .Values.operator.ha }}
- --peering
- {{ include "kubedag.peeringName" . | quote }}
{{- else }}
- --standalone
{{- end }}
{{- if not (kindIs "invalid" .Values.operator.priority) }}
- --priority
- {{ .Values.operator.priority | int | quote }}
{{- end }}
- --resync-seconds
- {{ .Values.operator.resyncSeconds | quote }}
- --liveness
- "http://0.0.0.0:8080/healthz"
{{- if .Values.metrics.enabled }}
- --metrics-port
- {{ .Values.metrics.port | int | quote }}
{{- end }}
{{- if eq .Values.operator.logLevel "debug" }}
- --verbose
{{- end }}
{{- end -}}

{{/* Host, port, database and password Secret of the Instance's PostgreSQL. */}}
{{- define "kubedag.postgres" -}}
{{- $pg := .Values.instance.postgres -}}
{{- if $pg.bundled.enabled -}}
{{- $name := include "kubedag.component.fullname" (list . "postgres") -}}
{{- toJson (dict "host" (printf "%s.%s.svc" $name .Release.Namespace) "port" 5432 "database" "kubedag" "username" "kubedag" "secretName" (default $name $pg.bundled.existingSecret) "secretKey" "password" "params" (dict)) -}}
{{- else -}}
{{- toJson (dict "host" $pg.external.host "port" $pg.external.port "database" $pg.external.database "username" $pg.external.username "secretName" $pg.external.passwordSecret.name "secretKey" $pg.external.passwordSecret.key "params" $pg.external.params) -}}
{{- end -}}
{{- end -}}
