{{- define "standin.labels" -}}
app: jupyterhub
release: {{ .Release.Name }}
heritage: {{ .Release.Service }}
chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
deployer.testing/stand-in: "true"
{{- end }}

{{- define "standin.deployment" -}}
{{- $root := index . 0 }}{{ $component := index . 1 }}{{ $port := index . 2 }}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ $component }}
  labels:
    {{- include "standin.labels" $root | nindent 4 }}
    component: {{ $component }}
spec:
  replicas: 1
  selector:
    matchLabels:
      app: jupyterhub
      release: {{ $root.Release.Name }}
      component: {{ $component }}
  template:
    metadata:
      labels:
        app: jupyterhub
        release: {{ $root.Release.Name }}
        component: {{ $component }}
      annotations:
        checksum/values: {{ toYaml $root.Values | sha256sum }}
    spec:
      containers:
        - name: {{ $component }}
          image: {{ $root.Values.image | default "registry.k8s.io/pause:3.10" }}
          ports:
            - containerPort: {{ $port }}
{{- end }}
