{{/* Chart name, at most 63 characters. nameOverride: kepler makes it Kepler's. */}}
{{- define "kepler-ts.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Full name: the release name, or release-name when the release name does not contain the name (as Kepler's chart). */}}
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

{{/*
The namespace of every namespaced object: namespace.name (default: the name) when namespace.create,
else the release's, as in Kepler's chart.
*/}}
{{- define "kepler-ts.namespace" -}}
{{- if .Values.namespace.create -}}
{{- default (include "kepler-ts.name" .) .Values.namespace.name -}}
{{- else -}}
{{- .Release.Namespace -}}
{{- end -}}
{{- end -}}

{{/*
Labels that select the pods: the DaemonSet's selector, the Service's, the ServiceMonitor's, the
NetworkPolicy's. Exactly Kepler's two, so that its selectors match and, with nameOverride: kepler,
an upgrade from Kepler's chart keeps the DaemonSet's selector, which cannot change.
*/}}
{{- define "kepler-ts.selectorLabels" -}}
app.kubernetes.io/name: {{ include "kepler-ts.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/*
Labels of every object: the selector labels, which nothing overrides, then .Values.labels, then the
chart's own. With `extra` (the pods' podLabels), those come between the selector labels and
.Values.labels. Called with (dict "root" $ "extra" labels).
*/}}
{{- define "kepler-ts.labelsWith" -}}
{{- $root := .root -}}
{{- $own := dict
  "app.kubernetes.io/component" "exporter"
  "app.kubernetes.io/part-of" "kepler"
  "app.kubernetes.io/version" ($root.Values.image.tag | default $root.Chart.AppVersion | toString)
  "app.kubernetes.io/managed-by" $root.Release.Service
  "helm.sh/chart" (printf "%s-%s" $root.Chart.Name $root.Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-")
-}}
{{- $labels := merge (include "kepler-ts.selectorLabels" $root | fromYaml) (.extra | default dict) ($root.Values.labels | default dict) $own -}}
{{- toYaml $labels -}}
{{- end -}}

{{- define "kepler-ts.labels" -}}
{{- include "kepler-ts.labelsWith" (dict "root" .) -}}
{{- end -}}

{{/*
Annotations of an object: its own (`extra`) over .Values.annotations; empty when there are none.
Called with (dict "root" $ "extra" annotations).
*/}}
{{- define "kepler-ts.annotations" -}}
{{- $annotations := merge (dict) (.extra | default dict) (.root.Values.annotations | default dict) -}}
{{- if $annotations -}}
{{- toYaml $annotations -}}
{{- end -}}
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
The DaemonSet's settings as YAML (read back with fromYaml): daemonset.*, where each top-level alias
that is set (not null) wins. An alias replaces the daemonset.* value, except securityContext and
podSecurityContext, whose keys are set over it. securityContext and podSecurityContext are then the
final ones: the keys given set over what `privileged` chooses (set, so that a false given wins).
*/}}
{{- define "kepler-ts.daemonset" -}}
{{- $ds := deepCopy (.Values.daemonset | default dict) -}}
{{- range $key := list "privileged" "resources" "tolerations" "nodeSelector" "affinity" "priorityClassName" "podLabels" "podAnnotations" "updateStrategy" "extraArgs" "extraEnv" -}}
{{- $alias := index $.Values $key -}}
{{- if not (kindIs "invalid" $alias) -}}
{{- $_ := set $ds $key $alias -}}
{{- end -}}
{{- end -}}
{{- $privileged := ne (get $ds "privileged" | toString) "false" -}}
{{- $container := dict "privileged" true "runAsUser" 0 "readOnlyRootFilesystem" true -}}
{{- $pod := dict -}}
{{- if not $privileged -}}
{{- $container = dict "privileged" false "runAsUser" 65532 "runAsGroup" 65532 "allowPrivilegeEscalation" false "readOnlyRootFilesystem" true "capabilities" (dict "drop" (list "ALL")) -}}
{{- $pod = dict "runAsNonRoot" true "runAsUser" 65532 "runAsGroup" 65532 "seccompProfile" (dict "type" "RuntimeDefault") -}}
{{- end -}}
{{- range $k, $v := (get $ds "securityContext" | default dict) -}}
{{- $_ := set $container $k $v -}}
{{- end -}}
{{- range $k, $v := ($.Values.securityContext | default dict) -}}
{{- $_ := set $container $k $v -}}
{{- end -}}
{{- range $k, $v := (get $ds "podSecurityContext" | default dict) -}}
{{- $_ := set $pod $k $v -}}
{{- end -}}
{{- range $k, $v := ($.Values.podSecurityContext | default dict) -}}
{{- $_ := set $pod $k $v -}}
{{- end -}}
{{- $_ := set $ds "privileged" $privileged -}}
{{- $_ := set $ds "securityContext" $container -}}
{{- $_ := set $ds "podSecurityContext" $pod -}}
{{- toYaml $ds -}}
{{- end -}}

{{/*
The container's port: that of config.web.listenAddresses[0] where the configuration sets it (Kepler's
chart hard-codes 28282, which breaks a changed address), else service.port.
*/}}
{{- define "kepler-ts.containerPort" -}}
{{- $addresses := list -}}
{{- if kindIs "map" .Values.config -}}
{{- if kindIs "map" .Values.config.web -}}
{{- $addresses = .Values.config.web.listenAddresses | default list -}}
{{- end -}}
{{- end -}}
{{- if $addresses -}}
{{- $first := first $addresses | toString | trim -}}
{{- $port := regexFind ":[0-9]+$" $first | trimPrefix ":" -}}
{{- if not $port -}}
{{- fail (printf "config.web.listenAddresses[0]: %q: expected [host]:port, e.g. \":28282\"" $first) -}}
{{- end -}}
{{- $port -}}
{{- else -}}
{{- .Values.service.port -}}
{{- end -}}
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
{{- if not (get $config.web "listenAddresses") -}}
{{- $_ := set $config.web "listenAddresses" (list (printf ":%s" (include "kepler-ts.containerPort" .))) -}}
{{- end -}}
{{- $_ := set $config.kube "enabled" true -}}
{{- if .Values.legacyMetrics -}}
{{- $_ := set $config.exporter.prometheus "legacyMetrics" true -}}
{{- end -}}
{{- toYaml $config -}}
{{- end -}}
