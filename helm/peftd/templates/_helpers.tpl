{{/* Chart name, truncated to the 63 characters a label value allows. */}}
{{- define "peftd.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Release-qualified name; components append "-api" / "-worker", so leave room for them. */}}
{{- define "peftd.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 56 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 56 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 56 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "peftd.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "peftd.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "peftd.selectorLabels" -}}
app.kubernetes.io/name: {{ include "peftd.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Selector labels of one component: (dict "root" $ "component" "api") */}}
{{- define "peftd.componentSelectorLabels" -}}
{{ include "peftd.selectorLabels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "peftd.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "peftd.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Name of a referenced Secret: the configured one, or "<fullname>-<suffix>". (dict "root" $ "ref" .Values.secrets.x "suffix" "x") */}}
{{- define "peftd.secretName" -}}
{{- default (printf "%s-%s" (include "peftd.fullname" .root) .suffix) .ref.name }}
{{- end }}

{{/* PEFTD_WORKER_DEVICES of the worker pods: explicit, or one entry per requested GPU, or cpu. */}}
{{- define "peftd.workerDevices" -}}
{{- $w := .Values.worker }}
{{- if $w.devices }}
{{- $w.devices }}
{{- else if $w.gpu.enabled }}
{{- $devices := list }}
{{- range $i := until (int $w.gpu.count) }}
{{- $devices = append $devices (printf "gpu:%d" $i) }}
{{- end }}
{{- join "," $devices }}
{{- else -}}
cpu
{{- end }}
{{- end }}

{{/* PEFTD_WORKER_COUNT of the worker pods: explicit, or one per device. */}}
{{- define "peftd.workerCount" -}}
{{- if gt (int .Values.worker.count) 0 }}
{{- .Values.worker.count }}
{{- else }}
{{- len (splitList "," (include "peftd.workerDevices" .)) }}
{{- end }}
{{- end }}

{{/*
The pod template shared by the API and worker Deployments.
(dict "root" $ "component" "api" "spec" .Values.api "image" "repo:tag" "workerCount" "0" "workerDevices" "cpu" "gpuLimit" 0)
*/}}
{{- define "peftd.podTemplate" -}}
{{- $root := .root }}
{{- $spec := .spec -}}
metadata:
  labels:
    {{- include "peftd.labels" $root | nindent 4 }}
    app.kubernetes.io/component: {{ .component }}
  annotations:
    checksum/config: {{ include (print $root.Template.BasePath "/configmap.yaml") $root | sha256sum }}
    {{- with $spec.podAnnotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  serviceAccountName: {{ include "peftd.serviceAccountName" $root }}
  {{- with $root.Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  securityContext:
    {{- toYaml $root.Values.podSecurityContext | nindent 4 }}
  terminationGracePeriodSeconds: {{ $spec.terminationGracePeriodSeconds }}
  containers:
    - name: peftd
      image: {{ .image | quote }}
      imagePullPolicy: {{ $root.Values.image.pullPolicy }}
      securityContext:
        {{- toYaml $root.Values.securityContext | nindent 8 }}
      ports:
        - name: http
          containerPort: 8080
          protocol: TCP
      envFrom:
        - configMapRef:
            name: {{ include "peftd.fullname" $root }}-config
      env:
        - name: PEFTD_WORKER_COUNT
          value: {{ .workerCount | quote }}
        - name: PEFTD_WORKER_DEVICES
          value: {{ .workerDevices | quote }}
        # graceful shutdown (stop claiming, checkpoint, release the lease) must end before Kubernetes kills the pod
        - name: PEFTD_WORKER_SHUTDOWN_TIMEOUT
          value: {{ printf "%ds" (div (mul (int $spec.terminationGracePeriodSeconds) 4) 5) | quote }}
        - name: JDK_JAVA_OPTIONS
          value: {{ $spec.javaOptions | quote }}
        - name: SPRING_DATASOURCE_USERNAME
          valueFrom:
            secretKeyRef:
              name: {{ include "peftd.secretName" (dict "root" $root "ref" $root.Values.secrets.database "suffix" "database") }}
              key: {{ $root.Values.secrets.database.usernameKey }}
        - name: SPRING_DATASOURCE_PASSWORD
          valueFrom:
            secretKeyRef:
              name: {{ include "peftd.secretName" (dict "root" $root "ref" $root.Values.secrets.database "suffix" "database") }}
              key: {{ $root.Values.secrets.database.passwordKey }}
        - name: PEFTD_API_KEYS
          valueFrom:
            secretKeyRef:
              name: {{ include "peftd.secretName" (dict "root" $root "ref" $root.Values.secrets.apiKeys "suffix" "api-keys") }}
              key: {{ $root.Values.secrets.apiKeys.key }}
        # the key Prometheus scrapes with (the ServiceMonitor's); optional, so a chart without monitoring still starts
        - name: PEFTD_OPERATOR_KEYS
          valueFrom:
            secretKeyRef:
              name: {{ include "peftd.secretName" (dict "root" $root "ref" $root.Values.secrets.metrics "suffix" "metrics") }}
              key: {{ $root.Values.secrets.metrics.key }}
              optional: true
        {{- if $root.Values.config.storage.s3.enabled }}
        - name: PEFTD_STORAGE_S3_ACCESS_KEY
          valueFrom:
            secretKeyRef:
              name: {{ include "peftd.secretName" (dict "root" $root "ref" $root.Values.secrets.s3 "suffix" "s3") }}
              key: {{ $root.Values.secrets.s3.accessKeyKey }}
        - name: PEFTD_STORAGE_S3_SECRET_KEY
          valueFrom:
            secretKeyRef:
              name: {{ include "peftd.secretName" (dict "root" $root "ref" $root.Values.secrets.s3 "suffix" "s3") }}
              key: {{ $root.Values.secrets.s3.secretKeyKey }}
        {{- end }}
      startupProbe:
        httpGet:
          path: {{ $root.Values.actuator.livenessPath }}
          port: http
        periodSeconds: {{ $spec.startupProbe.periodSeconds }}
        failureThreshold: {{ $spec.startupProbe.failureThreshold }}
      livenessProbe:
        httpGet:
          path: {{ $root.Values.actuator.livenessPath }}
          port: http
        periodSeconds: 10
        timeoutSeconds: 5
        failureThreshold: 3
      readinessProbe:
        httpGet:
          path: {{ $root.Values.actuator.readinessPath }}
          port: http
        periodSeconds: 10
        timeoutSeconds: 5
        failureThreshold: 3
      resources:
        {{- $resources := deepCopy ($spec.resources | default dict) }}
        {{- if gt (int .gpuLimit) 0 }}
        {{- $limits := merge (dict .gpuResource (int .gpuLimit)) ($resources.limits | default dict) }}
        {{- $_ := set $resources "limits" $limits }}
        {{- end }}
        {{- toYaml $resources | nindent 8 }}
      volumeMounts:
        - name: data
          mountPath: {{ $root.Values.config.dataDir }}
        - name: cache
          mountPath: /var/cache/peftd
        - name: tmp
          mountPath: /tmp
  volumes:
    - name: data
      {{- if $spec.existingClaim }}
      persistentVolumeClaim:
        claimName: {{ $spec.existingClaim }}
      {{- else }}
      emptyDir:
        sizeLimit: {{ $spec.dataVolumeSizeLimit }}
      {{- end }}
    - name: cache
      emptyDir: {}
    - name: tmp
      emptyDir: {}
  {{- with $spec.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $spec.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $spec.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}

{{- define "peftd.image" -}}
{{- $repo := default .root.Values.image.repository .override.repository }}
{{- $tag := default (default .root.Chart.AppVersion .root.Values.image.tag) .override.tag }}
{{- printf "%s:%s" $repo $tag }}
{{- end }}
