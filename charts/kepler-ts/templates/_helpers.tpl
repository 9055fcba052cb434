{{/* Chart name, at most 63 characters. */}}
{{- define "kepler-ts.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Full name: the release name, or release-chart when the release name does not contain the chart name. */}}
{{- define "kepler-ts.fullname" -}}
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

{{/* Labels that select the pods: the DaemonSet's selector, the Service's, the ServiceMonitor's. */}}
{{- define "kepler-ts.selectorLabels" -}}
app.kubernetes.io/name: {{ include "kepler-ts.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: exporter
{{- end -}}

{{- define "kepler-ts.labels" -}}
{{ include "kepler-ts.selectorLabels" . }}
app.kubernetes.io/part-of: kepler
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end -}}

{{- define "kepler-ts.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "kepler-ts.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "kepler-ts.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end -}}

{{/*
config.yaml: .Values.config with the keys the chart's DaemonSet depends on set over it. set, not
mergeOverwrite: mergeOverwrite does not overwrite with false.
*/}}
{{- define "kepler-ts.config" -}}
{{- $config := deepCopy (.Values.config | default dict) -}}
{{- range $key := list "host" "web" "kube" "exporter" -}}
{{- if not (kindIs "map" (get $config $key)) -}}
{{- $_ := set $config $key dict -}}
{{- end -}}
{{- end -}}
{{- if not (kindIs "map" (get $config.exporter "prometheus")) -}}
{{- $_ := set $config.exporter "prometheus" dict -}}
{{- end -}}
{{- $_ := set $config.host "procfs" "/host/proc" -}}
{{- $_ := set $config.host "sysfs" "/host/sys" -}}
{{- $_ := set $config.web "listenAddresses" (list (printf ":%d" (int .Values.service.port))) -}}
{{- $_ := set $config.kube "enabled" true -}}
{{- $_ := set $config.exporter.prometheus "legacyMetrics" (.Values.legacyMetrics | default false) -}}
{{- toYaml $config -}}
{{- end -}}

{{/*
The container securityContext chosen by .Values.privileged, with the keys of .Values.securityContext
set over it (set, so that a false in the values wins).
*/}}
{{- define "kepler-ts.securityContext" -}}
{{- $base := dict -}}
{{- if .Values.privileged -}}
{{- $base = dict "privileged" true "runAsUser" 0 "readOnlyRootFilesystem" true -}}
{{- else -}}
{{- $base = dict "privileged" false "runAsUser" 65532 "allowPrivilegeEscalation" false "readOnlyRootFilesystem" true "capabilities" (dict "drop" (list "ALL")) -}}
{{- end -}}
{{- range $k, $v := .Values.securityContext -}}
{{- $_ := set $base $k $v -}}
{{- end -}}
{{- toYaml $base -}}
{{- end -}}

{{- define "kepler-ts.podSecurityContext" -}}
{{- $base := dict -}}
{{- if not .Values.privileged -}}
{{- $base = dict "runAsNonRoot" true "runAsUser" 65532 "runAsGroup" 65532 "seccompProfile" (dict "type" "RuntimeDefault") -}}
{{- end -}}
{{- range $k, $v := .Values.podSecurityContext -}}
{{- $_ := set $base $k $v -}}
{{- end -}}
{{- toYaml $base -}}
{{- end -}}
