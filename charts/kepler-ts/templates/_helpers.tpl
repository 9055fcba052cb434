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
config.yaml: .Values.config with the keys the chart's DaemonSet depends on set over it, and
experimental.gpu.enabled when the GPU is on (gpu.enabled). set, not mergeOverwrite: mergeOverwrite
does not overwrite with false.
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
{{- if (include "kepler-ts.gpu" . | fromYaml).on -}}
{{- if not (kindIs "map" (get $config "experimental")) -}}
{{- $_ := set $config "experimental" dict -}}
{{- end -}}
{{- if not (kindIs "map" (get $config.experimental "gpu")) -}}
{{- $_ := set $config.experimental "gpu" dict -}}
{{- end -}}
{{- $_ := set $config.experimental.gpu "enabled" true -}}
{{- end -}}
{{- $redfish := include "kepler-ts.redfish" . | fromYaml -}}
{{- if $redfish.on -}}
{{- if not (kindIs "map" (get $config "experimental")) -}}
{{- $_ := set $config "experimental" dict -}}
{{- end -}}
{{- if not (kindIs "map" (get $config.experimental "platform")) -}}
{{- $_ := set $config.experimental "platform" dict -}}
{{- end -}}
{{- if not (kindIs "map" (get $config.experimental.platform "redfish")) -}}
{{- $_ := set $config.experimental.platform "redfish" dict -}}
{{- end -}}
{{- $r := $config.experimental.platform.redfish -}}
{{- $_ := set $r "enabled" true -}}
{{- $_ := set $r "configFile" $redfish.configFile -}}
{{- $_ := set $r "pollInterval" $redfish.pollInterval -}}
{{- $_ := set $r "httpTimeout" $redfish.httpTimeout -}}
{{- if $redfish.nodeName -}}
{{- $_ := set $r "nodeName" $redfish.nodeName -}}
{{- end -}}
{{- end -}}
{{- $pt := include "kepler-ts.passthrough" . | fromYaml -}}
{{- if $pt.hostOn -}}
{{- if not (kindIs "map" (get $config "vm")) -}}
{{- $_ := set $config "vm" dict -}}
{{- end -}}
{{- if not (kindIs "map" (get $config.vm "passthrough")) -}}
{{- $_ := set $config.vm "passthrough" dict -}}
{{- end -}}
{{- $_ := set $config.vm.passthrough "enabled" true -}}
{{- $_ := set $config.vm.passthrough "dir" $pt.hostDir -}}
{{- $_ := set $config.vm.passthrough "keep" $pt.keep -}}
{{- end -}}
{{- if $pt.guestOn -}}
{{- if not (kindIs "map" (get $config "passthrough")) -}}
{{- $_ := set $config "passthrough" dict -}}
{{- end -}}
{{- $_ := set $config.passthrough "dir" $pt.guestDir -}}
{{- end -}}
{{- toYaml $config -}}
{{- end -}}

{{/*
VM power passthrough as YAML (read back with fromYaml): hostOn, hostDir, keep (vmPassthrough.*, the
hypervisor side, which writes each VM's powercap tree) and guestOn, guestDir (passthrough.*, the
guest side, which reads its own). Each folder is mounted at its host path; both on at one path
would be two volumes on one mount path.
*/}}
{{- define "kepler-ts.passthrough" -}}
{{- $host := .Values.vmPassthrough | default dict -}}
{{- $guest := .Values.passthrough | default dict -}}
{{- $hostOn := eq (get $host "enabled" | toString) "true" -}}
{{- $guestOn := eq (get $guest "enabled" | toString) "true" -}}
{{- $hostDir := get $host "dir" | default "/var/lib/libvirt/scaphandre" | toString | trimSuffix "/" -}}
{{- $guestDir := get $guest "dir" | default "/var/scaphandre" | toString | trimSuffix "/" -}}
{{- $keep := get $host "keep" -}}
{{- if kindIs "invalid" $keep -}}
{{- $keep = "10m" -}}
{{- end -}}
{{- if $hostOn -}}
{{- if not (regexMatch "^/[^/]" $hostDir) -}}
{{- fail (printf "vmPassthrough.dir: %q: expected an absolute path on the host, not /" (toString (get $host "dir"))) -}}
{{- end -}}
{{- /* A Go duration string, as the exporter reads one, or a number of seconds. */ -}}
{{- $goDuration := and (kindIs "string" $keep) (regexMatch "^(0|(([0-9]+(\\.[0-9]*)?|\\.[0-9]+)(ns|us|µs|ms|s|m|h))+)$" (toString $keep)) -}}
{{- $seconds := and (or (kindIs "int" $keep) (kindIs "int64" $keep) (kindIs "float64" $keep)) (regexMatch "^[0-9]+(\\.[0-9]+)?$" (toString $keep)) -}}
{{- if not (or $goDuration $seconds) -}}
{{- fail (printf "vmPassthrough.keep: %q: expected a duration, e.g. 10m, or a number of seconds" (toString $keep)) -}}
{{- end -}}
{{- end -}}
{{- if and $guestOn (not (regexMatch "^/[^/]" $guestDir)) -}}
{{- fail (printf "passthrough.dir: %q: expected an absolute path on the node, not /" (toString (get $guest "dir"))) -}}
{{- end -}}
{{- if and $hostOn $guestOn (eq $hostDir $guestDir) -}}
{{- fail (printf "vmPassthrough.dir and passthrough.dir are both %q: a node that is a hypervisor and a guest needs two folders" $hostDir) -}}
{{- end -}}
{{- $out := dict "hostOn" $hostOn "hostDir" $hostDir "keep" $keep "guestOn" $guestOn "guestDir" $guestDir -}}
{{- toYaml $out -}}
{{- end -}}

{{/*
Redfish (redfish.*) as YAML (read back with fromYaml): on (redfish.enabled), secretName (the Secret
mounted at /etc/kepler/redfish: redfish.existingSecret, else <fullname>-redfish, rendered by
templates/secret.yaml), render (whether the chart renders it), configFile, pollInterval,
httpTimeout and nodeName. Kepler's own switch, config.experimental.platform.redfish.enabled, is not
read here: Kepler's chart mounts no BMC file, so that config goes to config.yaml as it is.
*/}}
{{- define "kepler-ts.redfish" -}}
{{- $r := .Values.redfish | default dict -}}
{{- $on := eq (get $r "enabled" | toString) "true" -}}
{{- $existing := get $r "existingSecret" | default "" | toString -}}
{{- $bmcs := get $r "bmcs" | default dict -}}
{{- $nodes := get $r "nodes" | default dict -}}
{{- if $on -}}
{{- if not (and (kindIs "map" $bmcs) (kindIs "map" $nodes)) -}}
{{- fail "redfish.bmcs and redfish.nodes: expected mappings (BMC id to {endpoint, username, password, insecure}; node name to BMC id)" -}}
{{- end -}}
{{- if and $existing (or $bmcs $nodes) -}}
{{- fail "redfish.existingSecret is given with redfish.bmcs or redfish.nodes: expected one of them (the Secret's redfish.yaml holds the nodes and BMCs)" -}}
{{- end -}}
{{- if and (not $existing) (not (and $bmcs $nodes)) -}}
{{- fail "redfish.enabled: expected redfish.nodes and redfish.bmcs (the BMC file, rendered into a Secret) or redfish.existingSecret (a Secret with the key redfish.yaml)" -}}
{{- end -}}
{{- end -}}
{{- $out := dict
  "on" $on
  "render" (and $on (not $existing))
  "secretName" ($existing | default (printf "%s-redfish" (include "kepler-ts.fullname" .) | trunc 63 | trimSuffix "-"))
  "configFile" "/etc/kepler/redfish/redfish.yaml"
  "pollInterval" (get $r "pollInterval" | default "10s")
  "httpTimeout" (get $r "httpTimeout" | default "5s")
  "nodeName" (get $r "nodeName" | default "" | toString)
-}}
{{- toYaml $out -}}
{{- end -}}

{{/* The BMC file (Kepler's format) rendered into the Secret: redfish.nodes and redfish.bmcs. */}}
{{- define "kepler-ts.redfishFile" -}}
{{- toYaml (dict "nodes" .Values.redfish.nodes "bmcs" .Values.redfish.bmcs) -}}
{{- end -}}

{{/*
What of the BMC file rolls the pods when it changes: the file without usernames and passwords. A
hash of them in the pod template, which more people read than the Secret, would let a weak password
be guessed offline; a new password alone is picked up by restarting the pods.
*/}}
{{- define "kepler-ts.redfishChecksum" -}}
{{- $bmcs := dict -}}
{{- range $id, $bmc := .Values.redfish.bmcs -}}
{{- $_ := set $bmcs $id (omit ($bmc | default dict) "username" "password") -}}
{{- end -}}
{{- toYaml (dict "nodes" .Values.redfish.nodes "bmcs" $bmcs) | sha256sum -}}
{{- end -}}

{{/*
The GPU settings as YAML (read back with fromYaml): on (gpu.enabled, or Kepler's own switch
config.experimental.gpu.enabled), driverPath (gpu.driverPath, else Kepler's
daemonset.nvidia.driverPath, else /run/nvidia/driver), libraryPath, visibleDevices,
runtimeClassName, waitSeconds (gpu.driverWaitSeconds) and initImage (Kepler's
daemonset.nvidia.nvmlInitImage).
*/}}
{{- define "kepler-ts.gpu" -}}
{{- $gpu := .Values.gpu | default dict -}}
{{- $keplerSwitch := false -}}
{{- if kindIs "map" .Values.config -}}
{{- $experimental := get .Values.config "experimental" -}}
{{- if kindIs "map" $experimental -}}
{{- $g := get $experimental "gpu" -}}
{{- if kindIs "map" $g -}}
{{- $keplerSwitch = eq (get $g "enabled" | toString) "true" -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- $nvidia := dict -}}
{{- if kindIs "map" .Values.daemonset -}}
{{- $nvidia = get .Values.daemonset "nvidia" | default dict -}}
{{- end -}}
{{- $image := get $nvidia "nvmlInitImage" | default dict -}}
{{- $on := or (eq (get $gpu "enabled" | toString) "true") $keplerSwitch -}}
{{- $driverPath := get $gpu "driverPath" | default (get $nvidia "driverPath") | default "/run/nvidia/driver" | toString -}}
{{- if and $on (not (hasPrefix "/" $driverPath)) -}}
{{- fail (printf "gpu.driverPath (or daemonset.nvidia.driverPath): %q: expected an absolute path on the host" $driverPath) -}}
{{- end -}}
{{- $wait := get $gpu "driverWaitSeconds" -}}
{{- if kindIs "invalid" $wait -}}
{{- $wait = 300 -}}
{{- end -}}
{{- if and $on (not (regexMatch "^[0-9]+$" (toString $wait))) -}}
{{- fail (printf "gpu.driverWaitSeconds: %q: expected a whole number of seconds" (toString $wait)) -}}
{{- end -}}
{{- $wait = toString $wait -}}
{{- $out := dict
  "on" $on
  "driverPath" $driverPath
  "libraryPath" (get $gpu "libraryPath" | default "usr/lib64:usr/lib/x86_64-linux-gnu:usr/lib/aarch64-linux-gnu:lib64" | toString)
  "visibleDevices" (get $gpu "visibleDevices" | default "all" | toString)
  "runtimeClassName" (get $gpu "runtimeClassName" | default "" | toString)
  "waitSeconds" $wait
  "initImage" (printf "%s:%s" (get $image "repository" | default "busybox") (get $image "tag" | default "1.36.1" | toString))
-}}
{{- toYaml $out -}}
{{- end -}}

{{/*
The nvidia-libs init container's script (busybox sh), the same as deploy/overlays/gpu's. It copies
the first libnvidia-ml.so.1 found in NVML_LIBRARY_PATH (folders under DRIVER_ROOT, colon-separated)
to NVML_DIR, following symbolic links inside DRIVER_ROOT, and nothing else: the driver's folders
also hold its glibc, which LD_LIBRARY_PATH on them would make Node.js load at start. A node with an
NVIDIA GPU (PCI vendor 0x10de, display class) whose driver is not there yet (the GPU operator's
driver container can start after this pod) is waited for, up to NVML_WAIT_SECONDS. No library in
the end, or no NVIDIA GPU, is no error: the exporter then runs without GPU power.
*/}}
{{- define "kepler-ts.nvmlCopyScript" -}}
copy() {
  IFS=:
  for dir in $NVML_LIBRARY_PATH; do
    f="$DRIVER_ROOT/${dir#/}/libnvidia-ml.so.1"
    for hop in 1 2 3 4 5 6 7 8; do
      [ -L "$f" ] || break
      t=`readlink "$f"`
      case "$t" in
        /*) f="$DRIVER_ROOT$t" ;;
        *) f="${f%/*}/$t" ;;
      esac
    done
    if [ -f "$f" ]; then
      cp "$f" "$NVML_DIR/libnvidia-ml.so.1" || exit 1
      echo "nvidia-libs: copied $f"
      return 0
    fi
  done
  unset IFS
  return 1
}
nvidia_gpu() {
  for d in ${PCI_DEVICES:-/sys/bus/pci/devices}/*; do
    [ "`cat "$d/vendor" 2>/dev/null`" = 0x10de ] || continue
    case "`cat "$d/class" 2>/dev/null`" in 0x03*) return 0 ;; esac
  done
  return 1
}
waited=0
until copy; do
  if ! nvidia_gpu; then
    echo "nvidia-libs: no NVIDIA GPU on this node"
    exit 0
  fi
  if [ "$waited" -ge "${NVML_WAIT_SECONDS:-0}" ]; then
    echo "nvidia-libs: no libnvidia-ml.so.1 in $NVML_LIBRARY_PATH under the driver path after ${waited}s: no GPU power on this node"
    exit 0
  fi
  sleep 2
  waited=`expr "$waited" + 2`
done
{{- end -}}
