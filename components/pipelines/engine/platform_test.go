package engine

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/kfup/kfup/components/pipelines/ir"
	"github.com/kfup/kfup/components/pipelines/plan"
)

// testIR is a small pipeline: produce, then train (which the platform cases configure),
// and a loop over two items running inner.
const testIR = `
pipelineInfo: {name: test}
schemaVersion: 2.1.0
root:
  inputDefinitions:
    parameters:
      name: {parameterType: STRING, defaultValue: my-secret}
      opt: {parameterType: STRING, isOptional: true}
      sel: {parameterType: STRUCT, isOptional: true}
      tols: {parameterType: LIST, isOptional: true}
      cpu: {parameterType: STRING, defaultValue: "2"}
  dag:
    tasks:
      produce:
        taskInfo: {name: produce}
        componentRef: {name: comp-produce}
      train:
        taskInfo: {name: train}
        componentRef: {name: comp-train}
        dependentTasks: [produce]
        inputs:
          parameters:
            msg: {runtimeValue: {constant: hi}}
            pipelinechannel--cpu: {componentInputParameter: cpu}
      loop:
        taskInfo: {name: loop}
        componentRef: {name: comp-for-loop-1}
        dependentTasks: [produce]
        parameterIterator:
          itemInput: pipelinechannel--loop-item-param-1
          items: {raw: '["sec-a", "sec-b"]'}
        inputs:
          parameters:
            pipelinechannel--name: {componentInputParameter: name}
            pipelinechannel--produce-out: {taskOutputParameter: {producerTask: produce, outputParameterKey: out}}
components:
  comp-produce:
    executorLabel: exec-produce
    outputDefinitions:
      parameters:
        out: {parameterType: STRING}
  comp-train:
    executorLabel: exec-train
    inputDefinitions:
      parameters:
        msg: {parameterType: STRING}
  comp-for-loop-1:
    inputDefinitions:
      parameters:
        pipelinechannel--loop-item-param-1: {parameterType: STRING}
        pipelinechannel--name: {parameterType: STRING}
        pipelinechannel--produce-out: {parameterType: STRING}
    dag:
      tasks:
        inner:
          taskInfo: {name: inner}
          componentRef: {name: comp-inner}
          inputs:
            parameters:
              msg: {componentInputParameter: pipelinechannel--loop-item-param-1}
  comp-inner:
    executorLabel: exec-inner
    inputDefinitions:
      parameters:
        msg: {parameterType: STRING}
deploymentSpec:
  executors:
    exec-produce:
      container: {image: alpine, command: [sh, -c, 'echo x > "$0"', "{{$.outputs.parameters['out'].output_file}}"]}
    exec-train:
      container: {image: "python:3.11", command: [python, -c, "print(1)"], args: ["{{$.inputs.parameters['msg']}}"]}
    exec-inner:
      container: {image: alpine, command: [echo], args: ["{{$.inputs.parameters['msg']}}"]}
`

// testPipeline is testIR with the kfp-kubernetes config cfgs (JSON, by executor label).
func testPipeline(t testing.TB, cfgs map[string]string) *ir.Pipeline {
	t.Helper()
	if len(cfgs) == 0 {
		return parse(t, testIR)
	}
	var execs []string
	for label, cfg := range cfgs {
		execs = append(execs, fmt.Sprintf("%q: %s", label, cfg))
	}
	return parse(t, testIR+"\n---\n"+`{"platforms": {"kubernetes": {"deploymentSpec": {"executors": {`+strings.Join(execs, ",")+`}}}}}`)
}

var produced = map[string]map[string]any{"produce": {"out": "from-output"}}

// trainPod makes train's pod and the pod the tests expect without the config.
func trainPod(t *testing.T, cfg string, params map[string]any, mod func(*PodInput)) (*corev1.Pod, *corev1.Pod, error) {
	t.Helper()
	p := testPipeline(t, map[string]string{"exec-train": cfg})
	s, ok := readySteps(t, p, params, produced)["train"]
	if !ok {
		t.Fatal("train is not ready")
	}
	in := input(p, s, testRun(params, produced))
	if mod != nil {
		mod(&in)
	}
	want := wantPod(t, p, s, in)
	got, err := TaskPod(in)
	if err == nil {
		checkPod(t, got)
	}
	return want, got, err
}

func envAt(pod *corev1.Pod, e ...corev1.EnvVar) {
	c := &pod.Spec.Containers[0]
	c.Env = append(append([]corev1.EnvVar(nil), e...), c.Env...)
}

func mountAt(pod *corev1.Pod, v corev1.Volume, m corev1.VolumeMount) {
	pod.Spec.Volumes = append(pod.Spec.Volumes, v)
	pod.Spec.Containers[0].VolumeMounts = append(pod.Spec.Containers[0].VolumeMounts, m)
}

func secretEnv(name, secret, key string, optional *bool) corev1.EnvVar {
	return corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: secret}, Key: key, Optional: optional,
	}}}
}

func secretVolume(vol, secret string, optional bool) corev1.Volume {
	return corev1.Volume{Name: vol, VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: secret, Optional: ptr.To(optional)}}}
}

func pvcVolume(vol, claim string) corev1.Volume {
	return corev1.Volume{Name: vol, VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim}}}
}

// TestPlatform checks each kfp-kubernetes feature on train's pod.
func TestPlatform(t *testing.T) {
	longPVC := strings.Repeat("here-is-a-pipeline-very-long-name-", 3) + "my-pvc"
	longVol := fit("pvc-"+longPVC, "-"+shortHash(longPVC))
	for _, tc := range []struct {
		name   string
		cfg    string
		params map[string]any
		mod    func(*PodInput)
		want   func(*corev1.Pod)
	}{{
		name: "secretAsVolume, literal and from a pipeline parameter",
		cfg: `{"secretAsVolume": [{"secretName": "db", "mountPath": "/mnt/db", "optional": true},
			{"secretNameParameter": {"componentInputParameter": "name"}, "mountPath": "/mnt/s"}]}`,
		want: func(p *corev1.Pod) {
			mountAt(p, secretVolume("secret-db", "db", true), corev1.VolumeMount{Name: "secret-db", MountPath: "/mnt/db"})
			mountAt(p, secretVolume("secret-my-secret", "my-secret", false), corev1.VolumeMount{Name: "secret-my-secret", MountPath: "/mnt/s"})
		},
	}, {
		name: "secretAsVolume: one secret twice, a name with dots",
		cfg: `{"secretAsVolume": [{"secretName": "s", "mountPath": "/a"}, {"secretName": "s", "mountPath": "/b"},
			{"secretName": "tls.example.com", "mountPath": "/c"}]}`,
		want: func(p *corev1.Pod) {
			mountAt(p, secretVolume("secret-s", "s", false), corev1.VolumeMount{Name: "secret-s", MountPath: "/a"})
			mountAt(p, secretVolume("secret-s-2", "s", false), corev1.VolumeMount{Name: "secret-s-2", MountPath: "/b"})
			v := "secret-tls-example-com-" + shortHash("tls.example.com")
			mountAt(p, secretVolume(v, "tls.example.com", false), corev1.VolumeMount{Name: v, MountPath: "/c"})
		},
	}, {
		name: "secretAsEnv from a run parameter, a constant and an upstream output",
		cfg: `{"secretAsEnv": [
			{"secretNameParameter": {"componentInputParameter": "name"}, "keyToEnv": [{"secretKey": "user", "envVar": "USER_NAME"}], "optional": false},
			{"secretName": "old", "secretNameParameter": {"runtimeValue": {"constant": "new"}}, "keyToEnv": [{"secretKey": "pw", "envVar": "PW"}]},
			{"secretNameParameter": {"taskOutputParameter": {"producerTask": "produce", "outputParameterKey": "out"}}, "keyToEnv": [{"secretKey": "k", "envVar": "K1"}, {"secretKey": "k2", "envVar": "K2"}]}]}`,
		params: map[string]any{"name": "given"},
		want: func(p *corev1.Pod) {
			envAt(p, secretEnv("USER_NAME", "given", "user", ptr.To(false)), secretEnv("PW", "new", "pw", nil),
				secretEnv("K1", "from-output", "k", nil), secretEnv("K2", "from-output", "k2", nil))
		},
	}, {
		name: "an optional parameter left unset skips the feature",
		cfg: `{"secretAsEnv": [{"secretNameParameter": {"componentInputParameter": "opt"}, "keyToEnv": [{"secretKey": "k", "envVar": "K"}]}],
			"secretAsVolume": [{"secretNameParameter": {"componentInputParameter": "opt"}, "mountPath": "/s"}],
			"configMapAsEnv": [{"configMapNameParameter": {"componentInputParameter": "opt"}, "keyToEnv": [{"configMapKey": "k", "envVar": "C"}]}],
			"configMapAsVolume": [{"configMapNameParameter": {"componentInputParameter": "opt"}, "mountPath": "/c"}],
			"imagePullSecret": [{"secretNameParameter": {"componentInputParameter": "opt"}}],
			"nodeSelector": {"nodeSelectorJson": {"componentInputParameter": "sel"}},
			"tolerations": [{"tolerationJson": {"componentInputParameter": "tols"}}],
			"nodeAffinity": [{"nodeAffinityJson": {"componentInputParameter": "sel"}}]}`,
		want: func(*corev1.Pod) {},
	}, {
		name: "configMapAsVolume and configMapAsEnv",
		cfg: `{"configMapAsVolume": [{"configMapName": "cfg", "mountPath": "/etc/cfg/"}],
			"configMapAsEnv": [{"configMapName": "cfg", "keyToEnv": [{"configMapKey": "a.b", "envVar": "AB"}], "optional": true}]}`,
		want: func(p *corev1.Pod) {
			mountAt(p, corev1.Volume{Name: "configmap-cfg", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
				LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}, Optional: ptr.To(false),
			}}}, corev1.VolumeMount{Name: "configmap-cfg", MountPath: "/etc/cfg"})
			envAt(p, corev1.EnvVar{Name: "AB", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}, Key: "a.b", Optional: ptr.To(true),
			}}})
		},
	}, {
		name: "pvcMount: pvcNameParameter, the deprecated constant, a long name",
		cfg: `{"pvcMount": [{"pvcNameParameter": {"runtimeValue": {"constant": "data"}}, "mountPath": "/data", "subPath": "x/y"},
			{"componentInputParameter": "name", "mountPath": "/named"},
			{"constant": "` + longPVC + `", "mountPath": "/long"}]}`,
		want: func(p *corev1.Pod) {
			mountAt(p, pvcVolume("pvc-data", "data"), corev1.VolumeMount{Name: "pvc-data", MountPath: "/data", SubPath: "x/y"})
			mountAt(p, pvcVolume("pvc-my-secret", "my-secret"), corev1.VolumeMount{Name: "pvc-my-secret", MountPath: "/named"})
			mountAt(p, pvcVolume(longVol, longPVC), corev1.VolumeMount{Name: longVol, MountPath: "/long"})
		},
	}, {
		name: "nodeSelector labels",
		cfg:  `{"nodeSelector": {"labels": {"disk": "ssd", "kubernetes.io/arch": "amd64"}}}`,
		want: func(p *corev1.Pod) {
			p.Spec.NodeSelector = map[string]string{"disk": "ssd", "kubernetes.io/arch": "amd64"}
		},
	}, {
		name:   "nodeSelectorJson from a parameter",
		cfg:    `{"nodeSelector": {"labels": {"ignored": "x"}, "nodeSelectorJson": {"componentInputParameter": "sel"}}}`,
		params: map[string]any{"sel": map[string]any{"gpu": "a100"}},
		want:   func(p *corev1.Pod) { p.Spec.NodeSelector = map[string]string{"gpu": "a100"} },
	}, {
		name: "podMetadata under kfup's labels and annotations",
		cfg:  `{"podMetadata": {"labels": {"team": "ml", "app": "mine"}, "annotations": {"note": "hi"}}}`,
		mod:  func(in *PodInput) { in.Labels["app"] = "kfup" },
		want: func(p *corev1.Pod) {
			p.Labels["team"], p.Labels["app"] = "ml", "kfup"
			p.Annotations["note"] = "hi"
		},
	}, {
		name: "image pull secrets and policy",
		cfg: `{"imagePullPolicy": "Always", "imagePullSecret": [{"secretName": "reg"},
			{"secretNameParameter": {"componentInputParameter": "name"}}, {"secretName": "reg"}]}`,
		want: func(p *corev1.Pod) {
			p.Spec.Containers[0].ImagePullPolicy = corev1.PullAlways
			p.Spec.ImagePullSecrets = []corev1.LocalObjectReference{{Name: "reg"}, {Name: "my-secret"}}
		},
	}, {
		name: "activeDeadlineSeconds as protobuf writes an int64",
		cfg:  `{"activeDeadlineSeconds": "3600"}`,
		want: func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = ptr.To[int64](3600) },
	}, {
		name: "fieldPathAsEnv",
		cfg:  `{"fieldPathAsEnv": [{"name": "POD", "fieldPath": "metadata.name"}, {"name": "L", "fieldPath": "metadata.labels['team']"}]}`,
		want: func(p *corev1.Pod) {
			envAt(p, corev1.EnvVar{Name: "POD", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
				corev1.EnvVar{Name: "L", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels['team']"}}})
		},
	}, {
		name: "tolerations, literal and JSON",
		cfg: `{"tolerations": [{"key": "gpu", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": "30"},
			{"tolerationJson": {"componentInputParameter": "tols"}}]}`,
		params: map[string]any{"tols": []any{map[string]any{"key": "a", "operator": "Equal", "value": "b", "effect": "NoSchedule"}}},
		want: func(p *corev1.Pod) {
			p.Spec.Tolerations = []corev1.Toleration{
				{Key: "gpu", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr.To[int64](30)},
				{Key: "a", Operator: corev1.TolerationOpEqual, Value: "b", Effect: corev1.TaintEffectNoSchedule},
			}
		},
	}, {
		name: "genericEphemeralVolume",
		cfg: `{"genericEphemeralVolume": [{"volumeName": "scratch", "mountPath": "/scratch", "accessModes": ["ReadWriteOnce"], "size": "5Gi",
			"storageClassName": "standard", "metadata": {"labels": {"a": "b"}}}, {"volumeName": "dflt", "mountPath": "/d", "accessModes": ["ReadWriteMany"], "size": "1Gi", "defaultStorageClass": true}]}`,
		want: func(p *corev1.Pod) {
			eph := func(name, size, class string, mode corev1.PersistentVolumeAccessMode, labels map[string]string) corev1.Volume {
				var sc *string
				if class != "" {
					sc = ptr.To(class)
				}
				return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{Ephemeral: &corev1.EphemeralVolumeSource{
					VolumeClaimTemplate: &corev1.PersistentVolumeClaimTemplate{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: corev1.PersistentVolumeClaimSpec{
						AccessModes: []corev1.PersistentVolumeAccessMode{mode}, StorageClassName: sc,
						Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(size)}},
					}},
				}}}
			}
			mountAt(p, eph("scratch", "5Gi", "standard", corev1.ReadWriteOnce, map[string]string{"a": "b"}), corev1.VolumeMount{Name: "scratch", MountPath: "/scratch"})
			mountAt(p, eph("dflt", "1Gi", "", corev1.ReadWriteMany, nil), corev1.VolumeMount{Name: "dflt", MountPath: "/d"})
		},
	}, {
		name: "emptyDirMounts and shared memory",
		cfg: `{"emptyDirMounts": [{"volumeName": "tmp", "mountPath": "/tmp"}, {"volumeName": "ram", "mountPath": "/ram", "medium": "Memory", "sizeLimit": "1Gi"}],
			"enabledSharedMemory": {"size": "2Gi"}}`,
		want: func(p *corev1.Pod) {
			mountAt(p, emptyDir("tmp"), corev1.VolumeMount{Name: "tmp", MountPath: "/tmp"})
			mountAt(p, corev1.Volume{Name: "ram", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory, SizeLimit: ptr.To(resource.MustParse("1Gi"))}}},
				corev1.VolumeMount{Name: "ram", MountPath: "/ram"})
			mountAt(p, corev1.Volume{Name: "shm", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory, SizeLimit: ptr.To(resource.MustParse("2Gi"))}}},
				corev1.VolumeMount{Name: "shm", MountPath: "/dev/shm"})
		},
	}, {
		name: "nodeAffinity: required, weighted and JSON terms",
		cfg: `{"nodeAffinity": [{"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]},
			{"matchFields": [{"key": "metadata.name", "operator": "NotIn", "values": ["n1"]}], "weight": 10},
			{}, {"nodeAffinityJson": {"componentInputParameter": "sel"}}]}`,
		params: map[string]any{"sel": map[string]any{"requiredDuringSchedulingIgnoredDuringExecution": map[string]any{
			"nodeSelectorTerms": []any{map[string]any{"matchExpressions": []any{map[string]any{"key": "gpu", "operator": "Exists"}}}}}}},
		want: func(p *corev1.Pod) {
			p.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
				RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{
					{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "zone", Operator: corev1.NodeSelectorOpIn, Values: []string{"a"}}}},
					{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "gpu", Operator: corev1.NodeSelectorOpExists}}},
				}},
				PreferredDuringSchedulingIgnoredDuringExecution: []corev1.PreferredSchedulingTerm{{Weight: 10, Preference: corev1.NodeSelectorTerm{
					MatchFields: []corev1.NodeSelectorRequirement{{Key: "metadata.name", Operator: corev1.NodeSelectorOpNotIn, Values: []string{"n1"}}},
				}}},
			}}
		},
	}, {
		name: "podAffinity and anti-affinity",
		cfg: `{"podAffinity": [{"matchPodLabels": {"app": "db"}, "topologyKey": "kubernetes.io/hostname"},
			{"matchPodExpressions": [{"key": "app", "operator": "In", "values": ["web"]}], "matchNamespaceLabels": {"team": "ml"}, "topologyKey": "zone", "weight": 50, "anti": true}]}`,
		want: func(p *corev1.Pod) {
			p.Spec.Affinity = &corev1.Affinity{
				PodAffinity: &corev1.PodAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{
					LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}}, TopologyKey: "kubernetes.io/hostname",
				}}},
				PodAntiAffinity: &corev1.PodAntiAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []corev1.WeightedPodAffinityTerm{{Weight: 50, PodAffinityTerm: corev1.PodAffinityTerm{
					LabelSelector:     &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "app", Operator: metav1.LabelSelectorOpIn, Values: []string{"web"}}}},
					NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"team": "ml"}},
					TopologyKey:       "zone",
				}}}},
			}
		},
	}, {
		name: "securityContext, ids as protobuf writes them",
		cfg:  `{"securityContext": {"runAsUser": "1000", "runAsGroup": 100, "runAsNonRoot": true}}`,
		want: func(p *corev1.Pod) {
			p.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{RunAsUser: ptr.To[int64](1000), RunAsGroup: ptr.To[int64](100),
				RunAsNonRoot: ptr.To(true), Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}}
		},
	}, {
		name: "initContainers after kfup's, mounting the task's volumes by KFP's names",
		cfg: `{"pvcMount": [{"constant": "data", "mountPath": "/data"}], "emptyDirMounts": [{"volumeName": "work", "mountPath": "/work"}],
			"initContainers": [{"name": "fetch", "image": "busybox", "command": ["sh", "-c"], "args": ["cp -r /data/. /work"],
				"env": [{"name": "A", "value": "1"}], "volumeMounts": [{"volumeName": "data", "mountPath": "/data"}, {"volumeName": "work", "mountPath": "/work"}],
				"resources": {"requests": {"cpu": "100m"}, "limits": {"memory": "64Mi"}}},
				{"name": "proxy", "image": "envoy", "restartPolicy": "Always"}]}`,
		want: func(p *corev1.Pod) {
			mountAt(p, pvcVolume("pvc-data", "data"), corev1.VolumeMount{Name: "pvc-data", MountPath: "/data"})
			mountAt(p, emptyDir("work"), corev1.VolumeMount{Name: "work", MountPath: "/work"})
			p.Spec.InitContainers = append(p.Spec.InitContainers, corev1.Container{
				Name: "fetch", Image: "busybox", Command: []string{"sh", "-c"}, Args: []string{"cp -r /data/. /work"},
				Env:          []corev1.EnvVar{{Name: "A", Value: "1"}},
				VolumeMounts: []corev1.VolumeMount{{Name: "pvc-data", MountPath: "/data"}, {Name: "work", MountPath: "/work"}},
				Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")},
					Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("64Mi")}},
				TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
			}, corev1.Container{Name: "proxy", Image: "envoy", RestartPolicy: ptr.To(corev1.ContainerRestartPolicyAlways),
				TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError})
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			want, got, err := trainPod(t, tc.cfg, tc.params, tc.mod)
			if err != nil {
				t.Fatal(err)
			}
			tc.want(want)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("pod (-want +got):\n%s", diff)
			}
		})
	}
}

// TestPlatformErrors checks that what kfup cannot honour is an error naming the task and
// the field.
func TestPlatformErrors(t *testing.T) {
	const at = "task train: platformSpec.platforms.kubernetes.deploymentSpec.executors.exec-train."
	for _, tc := range []struct {
		cfg    string
		params map[string]any
		want   string
	}{
		{`{"secretAsVolume": [{"mountPath": "/s"}]}`, nil, at + "secretAsVolume[0].secretName: no secret name"},
		{`{"secretAsVolume": [{"secretNameParameter": {"componentInputParameter": "nope"}, "mountPath": "/s"}]}`, nil, "secretAsVolume[0].secretNameParameter: the task's DAG has no input parameter nope"},
		{`{"secretAsVolume": [{"secretName": "Bad_Name", "mountPath": "/s"}]}`, nil, `secretAsVolume[0].secretName: secret name "Bad_Name"`},
		{`{"secretAsEnv": [{"secretNameParameter": {"componentInputParameter": "cpu"}, "keyToEnv": [{"secretKey": "k", "envVar": "A=B"}]}]}`, nil, `secretAsEnv[0].keyToEnv[0].envVar: environment variable "A=B"`},
		{`{"secretAsEnv": [{"secretName": "s", "keyToEnv": [{"secretKey": "k", "envVar": "KFUP_RESULT_KEY"}]}]}`, nil, "secretAsEnv[0].keyToEnv[0].envVar: environment variable KFUP_RESULT_KEY is kfup's own"},
		{`{"secretAsEnv": [{"secretName": "s", "keyToEnv": [{"secretKey": "k", "envVar": "KFUP_ARTIFACT_STORE"}]}]}`, nil, "is kfup's own"},
		{`{"secretAsEnv": [{"secretName": "s", "keyToEnv": [{"secretKey": "a/b", "envVar": "X"}]}]}`, nil, "secretAsEnv[0].keyToEnv[0].secretKey"},
		{`{"secretAsEnv": [{"secretNameParameter": {"taskOutputParameter": {"producerTask": "train", "outputParameterKey": "x"}}}]}`, nil, "task train has not run"},
		{`{"secretAsEnv": [{"secretNameParameter": {"taskOutputParameter": {"producerTask": "produce", "outputParameterKey": "x"}}}]}`, nil, "task produce has no output parameter x"},
		{`{"secretAsEnv": [{"secretNameParameter": {"taskOutputParameter": {"producerTask": "loop", "outputParameterKey": "x"}}}]}`, nil, "task loop is a DAG"},
		{`{"secretAsEnv": [{"secretNameParameter": {"componentInputParameter": "sel"}}]}`, map[string]any{"sel": map[string]any{"a": "b"}}, `input parameter sel is {"a":"b"}, not a secret name`},
		{`{"secretAsEnv": [{"secretNameParameter": {"componentInputParameter": "name", "parameterExpressionSelector": "parseJson(string_value)['a']"}}]}`, nil, "parameterExpressionSelector"},
		{`{"configMapAsVolume": [{"configMapName": "c"}]}`, nil, `configMapAsVolume[0].mountPath: mountPath "" is not an absolute path`},
		{`{"configMapAsEnv": [{"keyToEnv": [{"configMapKey": "k", "envVar": "K"}]}]}`, nil, "configMapAsEnv[0].configMapName: no config map name"},
		{`{"pvcMount": [{"mountPath": "/d"}]}`, nil, "pvcMount[0]: no PVC"},
		{`{"pvcMount": [{"pvcNameParameter": {"componentInputParameter": "opt"}, "mountPath": "/d"}]}`, nil, "pvcMount[0].pvcNameParameter: input parameter opt has no value"},
		{`{"pvcMount": [{"constant": "d", "mountPath": "d"}]}`, nil, `pvcMount[0].mountPath: mountPath "d" is not an absolute path`},
		{`{"pvcMount": [{"constant": "d", "mountPath": "/kfup-pod/outputs"}]}`, nil, "pvcMount[0].mountPath: mountPath /kfup-pod/outputs: kfup's launcher uses /kfup-pod and what is under it"},
		{`{"pvcMount": [{"constant": "d", "mountPath": "/kfup-image"}]}`, nil, "pvcMount[0].mountPath: mountPath /kfup-image: kfup's launcher uses /kfup-image and what is under it"},
		{`{"pvcMount": [{"constant": "d", "mountPath": "/minio"}]}`, nil, "mountPath /minio is already taken by kfup's kfup-minio volume"},
		{`{"pvcMount": [{"constant": "d", "mountPath": "/d"}, {"constant": "e", "mountPath": "/d/"}]}`, nil, "pvcMount[1].mountPath: mountPath /d is already taken by " + at[len("task train: "):] + "pvcMount[0].mountPath"},
		{`{"pvcMount": [{"constant": "d", "mountPath": "/d", "subPath": "../x"}]}`, nil, `subPath "../x" must be a relative path`},
		{`{"nodeSelector": {"labels": {"a b": "c"}}}`, nil, `nodeSelector.labels: label key "a b"`},
		{`{"nodeSelector": {"nodeSelectorJson": {"componentInputParameter": "tols"}}}`, map[string]any{"tols": []any{"x"}}, "nodeSelector.nodeSelectorJson: not a map of node labels"},
		{`{"podMetadata": {"labels": {"kfup.dev/api": "mine"}}}`, nil, "podMetadata.labels: kfup.dev/api is in kfup's own domain"},
		{`{"podMetadata": {"annotations": {"pipelines.kfup.dev/task-id": "x"}}}`, nil, "podMetadata.annotations: pipelines.kfup.dev/task-id is in kfup's own domain"},
		{`{"podMetadata": {"labels": {"a": "not valid!"}}}`, nil, `podMetadata.labels: label a value "not valid!"`},
		{`{"imagePullPolicy": "Sometimes"}`, nil, `imagePullPolicy: "Sometimes": want Always, Never or IfNotPresent`},
		{`{"activeDeadlineSeconds": -5}`, nil, "activeDeadlineSeconds: -5 is negative"},
		{`{"activeDeadlineSeconds": "soon"}`, nil, `activeDeadlineSeconds: "soon" is not an integer`},
		{`{"fieldPathAsEnv": [{"name": "X", "fieldPath": "spec.containers"}]}`, nil, `fieldPathAsEnv[0].fieldPath: "spec.containers"`},
		{`{"tolerations": [{"key": "k", "operator": "Maybe"}]}`, nil, `tolerations[0]: operator "Maybe"`},
		{`{"tolerations": [{"key": "k", "effect": "NoRun"}]}`, nil, `tolerations[0]: effect "NoRun"`},
		{`{"tolerations": [{"operator": "Equal", "value": "v"}]}`, nil, "tolerations[0]: operator Equal needs a key"},
		{`{"tolerations": [{"key": "k", "tolerationSeconds": 5}]}`, nil, "tolerationSeconds goes with effect NoExecute"},
		{`{"tolerations": [{"tolerationJson": {"componentInputParameter": "tols"}}]}`, map[string]any{"tols": []any{map[string]any{"kee": "x"}}}, `tolerations[0].tolerationJson: not a list of tolerations: unknown field "kee"`},
		{`{"tolerations": [{"tolerationJson": {"componentInputParameter": "cpu"}}]}`, nil, "tolerations[0].tolerationJson: 2 is neither a toleration nor a list"},
		{`{"genericEphemeralVolume": [{"volumeName": "v", "mountPath": "/v", "accessModes": ["ReadWriteOnce"]}]}`, nil, "genericEphemeralVolume[0].size: an ephemeral volume needs a size"},
		{`{"genericEphemeralVolume": [{"volumeName": "v", "mountPath": "/v", "accessModes": ["RWO"], "size": "1Gi"}]}`, nil, `genericEphemeralVolume[0].accessModes[0]: "RWO"`},
		{`{"genericEphemeralVolume": [{"volumeName": "v", "mountPath": "/v", "accessModes": ["ReadWriteOnce"], "size": "big"}]}`, nil, `genericEphemeralVolume[0].size: "big" is not a quantity`},
		{`{"genericEphemeralVolume": [{"volumeName": "V_1", "mountPath": "/v", "size": "1Gi"}]}`, nil, `genericEphemeralVolume[0].volumeName: volume name "V_1"`},
		{`{"emptyDirMounts": [{"volumeName": "kfup", "mountPath": "/x"}]}`, nil, `emptyDirMounts[0].volumeName: volume name "kfup" is kfup's own`},
		{`{"emptyDirMounts": [{"volumeName": "a", "mountPath": "/x"}, {"volumeName": "a", "mountPath": "/y"}]}`, nil, `emptyDirMounts[1].volumeName: volume name "a" is already used by`},
		{`{"emptyDirMounts": [{"volumeName": "a", "mountPath": "/x", "medium": "Disk"}]}`, nil, `emptyDirMounts[0].medium: "Disk"`},
		{`{"emptyDirMounts": [{"volumeName": "a", "mountPath": "/dev/shm"}], "enabledSharedMemory": {}}`, nil, "enabledSharedMemory: mountPath /dev/shm is already taken"},
		{`{"enabledSharedMemory": {"size": "-1Gi"}}`, nil, "enabledSharedMemory.size: -1Gi is negative"},
		{`{"nodeAffinity": [{"matchExpressions": [{"key": "k", "operator": "Near"}]}]}`, nil, `nodeAffinity[0].matchExpressions[0]: operator "Near"`},
		{`{"nodeAffinity": [{"matchExpressions": [{"key": "k", "operator": "In"}]}]}`, nil, "operator In needs values"},
		{`{"nodeAffinity": [{"matchExpressions": [{"key": "k", "operator": "Exists"}], "weight": 0}]}`, nil, "nodeAffinity[0].weight: 0: want 1 to 100"},
		{`{"nodeAffinity": [{"nodeAffinityJson": {"componentInputParameter": "sel"}}]}`, map[string]any{"sel": map[string]any{"required": 1}}, `nodeAffinity[0].nodeAffinityJson: not a node affinity: unknown field "required"`},
		{`{"podAffinity": [{"topologyKey": "z", "matchPodLabel": {"a": "b"}}]}`, nil, `podAffinity[0]: not a kfp-kubernetes pod affinity term: unknown field "matchPodLabel"`},
		{`{"podAffinity": [{"matchPodLabels": {"a": "b"}}]}`, nil, "podAffinity[0].topologyKey: a pod affinity term needs a topology key"},
		{`{"podAffinity": [{"topologyKey": "z", "matchPodExpressions": [{"key": "a", "operator": "Gt", "values": ["1"]}]}]}`, nil, `podAffinity[0].matchPodExpressions: operator "Gt"`},
		{`{"securityContext": {"privileged": true}}`, nil, `securityContext: unknown field "privileged"`},
		{`{"securityContext": {"runAsUser": "root"}}`, nil, `securityContext.runAsUser: "root" is not an integer`},
		{`{"securityContext": {"runAsUser": 0, "runAsNonRoot": true}}`, nil, "securityContext: runAsNonRoot with runAsUser 0"},
		{`{"initContainers": [{"name": "i", "image": "x", "securityContext": {}}]}`, nil, `initContainers[0]: not a kfp-kubernetes init container: unknown field "securityContext"`},
		{`{"initContainers": [{"name": "main", "image": "x"}]}`, nil, "initContainers[0].name: container name main is taken"},
		{`{"initContainers": [{"name": "I", "image": "x"}]}`, nil, `initContainers[0].name: "I"`},
		{`{"initContainers": [{"name": "i"}]}`, nil, "initContainers[0].image: an init container needs an image"},
		{`{"initContainers": [{"name": "i", "image": "x", "volumeMounts": [{"volumeName": "nope", "mountPath": "/n"}]}]}`, nil, `initContainers[0].volumeMounts[0].volumeName: the pod has no volume "nope"`},
		{`{"initContainers": [{"name": "i", "image": "x", "restartPolicy": "OnFailure"}]}`, nil, `initContainers[0].restartPolicy: "OnFailure"`},
		{`{"initContainers": [{"name": "i", "image": "x", "resources": {"limits": {"cpu": "lots"}}}]}`, nil, `initContainers[0].resources.limits.cpu: "lots" is not a quantity`},
		{`{"podResourceClaims": [{"resourceClaimTemplateName": "gpu"}]}`, nil, "podResourceClaims: kfup does not run Dynamic Resource Allocation claims"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			_, _, err := trainPod(t, tc.cfg, tc.params, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
			if !strings.HasPrefix(err.Error(), "task train: ") {
				t.Errorf("error %q does not name the task", err)
			}
		})
	}
}

// TestConformancePlatform checks the platform specs of the conformance pipelines.
func TestConformancePlatform(t *testing.T) {
	t.Run("pipeline_with_secret_as_env", func(t *testing.T) {
		p := loadFile(t, "pipeline_with_secret_as_env.yaml")
		outs := map[string]map[string]any{"generate-secret-name": {"some_output": "test-secret-3"}}
		s := readySteps(t, p, nil, outs)["comp"]
		in := input(p, s, testRun(nil, outs))
		got, err := TaskPod(in)
		if err != nil {
			t.Fatal(err)
		}
		want := wantPod(t, p, s, in)
		envAt(want, secretEnv("USER_NAME", "test-secret-1", "username", ptr.To(false)),
			secretEnv("PASSWORD_VAR1", "test-secret-2", "password", ptr.To(false)),
			secretEnv("PASSWORD_VAR2", "test-secret-3", "password", ptr.To(false)))
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("pod (-want +got):\n%s", diff)
		}
		// before its producer ran, the secret name is unknown: a clear error, no pod
		in.Run = testRun(nil, nil)
		if _, err := TaskPod(in); err == nil || !strings.Contains(err.Error(), "secretAsEnv[2].secretNameParameter: task generate-secret-name has not run") {
			t.Errorf("error %v", err)
		}
	})
	t.Run("pipeline_with_pod_metadata", func(t *testing.T) {
		p := loadFile(t, "pipeline_with_pod_metadata.yaml")
		steps := readySteps(t, p, nil, nil)
		s, ok := steps["validate-pod-metadata-task-a"]
		if !ok {
			t.Fatalf("steps %v", steps)
		}
		in := input(p, s, testRun(nil, nil))
		got, err := TaskPod(in)
		if err != nil {
			t.Fatal(err)
		}
		want := wantPod(t, p, s, in)
		want.Labels["task-label-1"], want.Labels["task-label-2"] = "label-1", "label-2"
		want.Annotations["task-annotation"] = "annotation"
		field := func(name, path string) corev1.EnvVar {
			return corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: path}}}
		}
		envAt(want, field("POD_TASK_ANNOTATION", "metadata.annotations['task-annotation']"),
			field("POD_TASK_LABEL_1", "metadata.labels['task-label-1']"), field("POD_TASK_LABEL_2", "metadata.labels['task-label-2']"))
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("pod (-want +got):\n%s", diff)
		}
	})
	t.Run("missing_kubernetes_optional_inputs", func(t *testing.T) {
		p := loadFile(t, "missing_kubernetes_optional_inputs.yaml")
		s := readySteps(t, p, nil, nil)["log-message"]
		in := input(p, s, testRun(nil, nil))
		got, err := TaskPod(in)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(wantPod(t, p, s, in), got); diff != "" {
			t.Errorf("unset optional inputs change the pod (-want +got):\n%s", diff)
		}
		// given, they apply
		params := map[string]any{"optional_secret_name": "s", "optional_config_map_name": "c", "optional_image_pull_secret_name": "r",
			"optional_selector": map[string]any{"disk": "ssd"}, "optional_tolerations": []any{map[string]any{"key": "k", "operator": "Exists"}},
			"optional_affinity": map[string]any{}}
		in.Run = testRun(params, nil)
		got, err = TaskPod(in)
		if err != nil {
			t.Fatal(err)
		}
		checkPod(t, got)
		if len(got.Spec.Volumes) != 6 || len(got.Spec.ImagePullSecrets) != 1 || got.Spec.NodeSelector["disk"] != "ssd" || len(got.Spec.Tolerations) != 1 || got.Spec.Affinity != nil {
			t.Errorf("pod spec %+v", got.Spec)
		}
	})
}

// TestScope checks names resolved through a loop: the loop item, a pipeline parameter
// passed into the loop, an upstream output passed into it.
func TestScope(t *testing.T) {
	p := testPipeline(t, map[string]string{"exec-inner": `{"secretAsEnv": [
		{"secretNameParameter": {"componentInputParameter": "pipelinechannel--loop-item-param-1"}, "keyToEnv": [{"secretKey": "k", "envVar": "ITEM"}]},
		{"secretNameParameter": {"componentInputParameter": "pipelinechannel--name"}, "keyToEnv": [{"secretKey": "k", "envVar": "NAME"}]},
		{"secretNameParameter": {"componentInputParameter": "pipelinechannel--produce-out"}, "keyToEnv": [{"secretKey": "k", "envVar": "OUT"}]}]}`})
	steps := readySteps(t, p, nil, produced)
	s, ok := steps["loop[1]/inner"]
	if !ok {
		t.Fatalf("steps %v", steps)
	}
	in := input(p, s, testRun(nil, produced))
	got, err := TaskPod(in)
	if err != nil {
		t.Fatal(err)
	}
	want := wantPod(t, p, s, in)
	envAt(want, secretEnv("ITEM", "sec-b", "k", nil), secretEnv("NAME", "my-secret", "k", nil), secretEnv("OUT", "from-output", "k", nil))
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("pod (-want +got):\n%s", diff)
	}
	// a loop over a list pipeline parameter
	loop := p.Spec.Root.DAG.Tasks["loop"]
	loop.ParameterIterator.Items = ir.ParameterItems{InputParameter: "pipelinechannel--list"}
	loop.Inputs.Parameters["pipelinechannel--list"] = ir.InputParameterSpec{ComponentInputParameter: "tols"}
	p.Spec.Root.DAG.Tasks["loop"] = loop
	params := map[string]any{"tols": []any{"x-0", "x-1", "x-2"}}
	s2, ok := readySteps(t, p, params, produced)["loop[2]/inner"]
	if !ok {
		t.Fatal("loop[2]/inner is not ready")
	}
	got, err = TaskPod(input(p, s2, testRun(params, produced)))
	if err != nil {
		t.Fatal(err)
	}
	if ref := got.Spec.Containers[0].Env[0].ValueFrom.SecretKeyRef; ref.Name != "x-2" {
		t.Errorf("ITEM from secret %s, want x-2", ref.Name)
	}
	// a step ID the pipeline does not have
	s.ID = "loop[7]/inner"
	if _, err := TaskPod(input(p, s, testRun(params, produced))); err == nil || !strings.Contains(err.Error(), "loop loop[7] has no item 7") {
		t.Errorf("error %v", err)
	}
	s.ID = "nope/inner"
	if _, err := TaskPod(input(p, s, testRun(params, produced))); err == nil || !strings.Contains(err.Error(), "the pipeline has no task nope") {
		t.Errorf("error %v", err)
	}
}

// TestResources checks the container's resources from the executor's ResourceSpec.
func TestResources(t *testing.T) {
	for _, tc := range []struct {
		name string
		res  ir.ResourceSpec
		want corev1.ResourceRequirements
		err  string
	}{{
		name: "strings",
		res:  ir.ResourceSpec{ResourceCPULimit: "2", ResourceCPURequest: "500m", ResourceMemoryLimit: "4Gi", ResourceMemoryRequest: "1Gi"},
		want: corev1.ResourceRequirements{
			Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2"), corev1.ResourceMemory: resource.MustParse("4Gi")},
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("1Gi")},
		},
	}, {
		name: "the deprecated numbers: cores and GB",
		res:  ir.ResourceSpec{CPULimit: 1.5, MemoryLimit: 0.5, CPURequest: 0.25, MemoryRequest: 0.25, ResourceMemoryRequest: "100Mi"},
		want: corev1.ResourceRequirements{
			Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1.5"), corev1.ResourceMemory: resource.MustParse("0.5G")},
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("0.25"), corev1.ResourceMemory: resource.MustParse("100Mi")},
		},
	}, {
		name: "a placeholder of a pipelinechannel input",
		res:  ir.ResourceSpec{ResourceCPULimit: "{{$.inputs.parameters['pipelinechannel--cpu']}}"},
		want: corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2")}},
	}, {
		name: "accelerator by resource type",
		res:  ir.ResourceSpec{Accelerator: &ir.Accelerator{ResourceType: "nvidia.com/gpu", ResourceCount: "2"}},
		want: corev1.ResourceRequirements{Limits: corev1.ResourceList{"nvidia.com/gpu": resource.MustParse("2")}},
	}, {
		name: "accelerator by the deprecated Vertex type",
		res:  ir.ResourceSpec{Accelerator: &ir.Accelerator{Type: "NVIDIA_TESLA_T4", Count: 1}},
		want: corev1.ResourceRequirements{Limits: corev1.ResourceList{"nvidia.com/gpu": resource.MustParse("1")}},
	}, {
		name: "accelerator count 0",
		res:  ir.ResourceSpec{Accelerator: &ir.Accelerator{ResourceType: "nvidia.com/gpu", ResourceCount: "0"}},
	}, {
		name: "bad quantity", res: ir.ResourceSpec{ResourceCPULimit: "lots"},
		err: `task train: deploymentSpec.executors.exec-train.container.resources.resourceCpuLimit: "lots" is not a quantity`,
	}, {
		name: "negative number", res: ir.ResourceSpec{MemoryLimit: -1},
		err: "container.resources.memoryLimit: -1G is negative",
	}, {
		name: "request above limit", res: ir.ResourceSpec{ResourceCPULimit: "1", ResourceCPURequest: "2"},
		err: "container.resources: the cpu request 2 is above its limit 1",
	}, {
		name: "placeholder without a value", res: ir.ResourceSpec{ResourceCPULimit: "{{$.inputs.parameters['nope']}}"},
		err: "resourceCpuLimit: {{$.inputs.parameters['nope']}}: the input has no value",
	}, {
		name: "placeholder of another kind", res: ir.ResourceSpec{ResourceCPULimit: "{{$.pipeline_job_name}}"},
		err: "only input parameters",
	}, {
		name: "TPU", res: ir.ResourceSpec{Accelerator: &ir.Accelerator{Type: "TPU_V3", Count: 8}},
		err: "accelerator.type: TPU_V3 is a Cloud TPU",
	}, {
		name: "unknown type", res: ir.ResourceSpec{Accelerator: &ir.Accelerator{ResourceType: "gpu", ResourceCount: "1"}},
		err: `accelerator.resourceType: accelerator type "gpu" is no Kubernetes resource name`,
	}, {
		name: "count without type", res: ir.ResourceSpec{Accelerator: &ir.Accelerator{ResourceCount: "1"}},
		err: "accelerator: a count without a type",
	}, {
		name: "type without count", res: ir.ResourceSpec{Accelerator: &ir.Accelerator{ResourceType: "nvidia.com/gpu"}},
		err: "accelerator.resourceType: accelerator nvidia.com/gpu without a count",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			p := testPipeline(t, nil)
			ex := p.Spec.DeploymentSpec.Executors["exec-train"]
			res := tc.res
			ex.Container.Resources = &res
			s := readySteps(t, p, nil, produced)["train"]
			in := input(p, s, testRun(nil, produced))
			got, err := TaskPod(in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got.Spec.Containers[0].Resources); diff != "" {
				t.Errorf("resources (-want +got):\n%s", diff)
			}
		})
	}
}

// TestTaskPodErrors checks the errors that do not come from the platform spec.
func TestTaskPodErrors(t *testing.T) {
	p := testPipeline(t, nil)
	s := readySteps(t, p, nil, produced)["train"]
	for _, tc := range []struct {
		name string
		mod  func(*PodInput)
		want string
	}{
		{"no run", func(in *PodInput) { in.Run = nil }, "task train: no run"},
		{"no image", func(in *PodInput) { in.Image = "" }, "task train: kfup's image is not known"},
		{"bad pod name", func(in *PodInput) { in.PodName = "Run_1" }, `task train: pod name "Run_1"`},
		{"unknown executor", func(in *PodInput) { in.Step.ExecutorLabel = "exec-nope" }, `task train: deploymentSpec.executors: no executor "exec-nope"`},
		{"modelcar input", func(in *PodInput) {
			in.Step.Artifacts = map[string][]plan.Artifact{"model": {{URI: "oci://registry.local/model:v1"}}}
		}, "task train: input artifact model: oci://registry.local/model:v1 is a model image"},
		{"no command", func(in *PodInput) {
			in.Pipeline = testPipeline(t, nil)
			c := in.Pipeline.Spec.DeploymentSpec.Executors["exec-train"].Container
			c.Command, c.Args = nil, nil
		}, "container: no command and no args"},
		{"env of kfup's", func(in *PodInput) {
			in.Pipeline = testPipeline(t, nil)
			c := in.Pipeline.Spec.DeploymentSpec.Executors["exec-train"].Container
			c.Env = []ir.EnvVar{{Name: "KFUP_EXECUTOR_INPUT", Value: "x"}}
		}, "container.env[0]: environment variable KFUP_EXECUTOR_INPUT is kfup's own"},
		{"component platform specs", func(in *PodInput) {
			in.Pipeline = testPipeline(t, nil)
			c := in.Pipeline.Spec.Components["comp-train"]
			c.SinglePlatformSpecs = []map[string]any{{"platform": "kubernetes"}}
			in.Pipeline.Spec.Components["comp-train"] = c
		}, "components.comp-train.singlePlatformSpecs"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := input(p, s, testRun(nil, produced))
			tc.mod(&in)
			if _, err := TaskPod(in); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}

// TestTaskPodDeterministic checks that the same input gives the same pod, whatever the
// order maps are walked in.
func TestTaskPodDeterministic(t *testing.T) {
	cfg := `{"secretAsVolume": [{"secretName": "a.b", "mountPath": "/1"}, {"secretName": "a-b", "mountPath": "/2"}, {"secretName": "a.b", "mountPath": "/3"}],
		"podMetadata": {"labels": {"x": "1", "y": "2"}}, "nodeSelector": {"labels": {"a": "1", "b": "2"}}}`
	first, err := json.Marshal(mustPod(t, cfg))
	if err != nil {
		t.Fatal(err)
	}
	for range 20 {
		again, _ := json.Marshal(mustPod(t, cfg))
		if string(again) != string(first) {
			t.Fatalf("pods differ:\n%s\n%s", first, again)
		}
	}
}

func mustPod(t *testing.T, cfg string) *corev1.Pod {
	t.Helper()
	_, got, err := trainPod(t, cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return got
}
