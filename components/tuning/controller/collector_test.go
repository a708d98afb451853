package controller_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tuningv1beta1 "github.com/kfup/kfup/components/tuning/api/v1beta1"
	"github.com/kfup/kfup/components/tuning/controller"
	"github.com/kfup/kfup/components/tuning/engine"
	"github.com/kfup/kfup/internal/conformance"
)

// fileExample is the File collector example, in a namespace of its own.
func fileExample(t *testing.T) (*unstructured.Unstructured, string) {
	t.Helper()
	ns := env.Namespace(t)
	obj := conformance.Objects(t, conformance.Files(t, "tuning/metrics-collector_file-metrics-collector.yaml")[0])[0]
	obj.SetNamespace(ns)
	return obj, ns
}

// TestFileCollectorSidecar checks the Job of a File collector's trial: kfup's metrics
// sidecar (a native sidecar from kfup's image) and an emptyDir shared at the file's
// directory with the primary container.
func TestFileCollectorSidecar(t *testing.T) {
	start(t)
	obj, ns := fileExample(t)
	env.CreateAsUser(t, obj)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var job *batchv1.Job
	for job == nil {
		jobs := &batchv1.JobList{}
		if err := env.Client.List(ctx, jobs, client.InNamespace(ns)); err == nil && len(jobs.Items) > 0 {
			job = &jobs.Items[0]
		}
		select {
		case <-ctx.Done():
			t.Fatal("no trial Job was created")
		case <-time.After(100 * time.Millisecond):
		}
	}
	spec := job.Spec.Template.Spec
	if len(spec.InitContainers) != 1 {
		t.Fatalf("init containers %+v: want the metrics sidecar", spec.InitContainers)
	}
	sc := spec.InitContainers[0]
	if sc.Name != engine.MetricsContainerName || sc.Image != testImage || sc.RestartPolicy == nil || *sc.RestartPolicy != corev1.ContainerRestartPolicyAlways {
		t.Errorf("sidecar %s image %s restartPolicy %v: want %s from %s, restartPolicy Always", sc.Name, sc.Image, sc.RestartPolicy, engine.MetricsContainerName, testImage)
	}
	if d := cmp.Diff([]string{"/kfup", "agent", "metrics", "--kind", "file", "--path", "/katib/mnist.log", "--format", "text"}, sc.Command); d != "" {
		t.Errorf("sidecar command (-want +got):\n%s", d)
	}
	if sc.Resources.Requests.Memory().IsZero() || sc.Resources.Limits.Memory().IsZero() {
		t.Errorf("sidecar resources %+v: want requests and limits", sc.Resources)
	}
	if s := sc.SecurityContext; s == nil || s.RunAsNonRoot == nil || !*s.RunAsNonRoot || s.AllowPrivilegeEscalation == nil || *s.AllowPrivilegeEscalation {
		t.Errorf("sidecar securityContext %+v: want restricted", s)
	}
	want := []corev1.VolumeMount{{Name: engine.MetricsContainerName, MountPath: "/katib", ReadOnly: true}}
	if d := cmp.Diff(want, sc.VolumeMounts); d != "" {
		t.Errorf("sidecar mounts (-want +got):\n%s", d)
	}
	want[0].ReadOnly = false
	if d := cmp.Diff(want, spec.Containers[0].VolumeMounts); d != "" {
		t.Errorf("primary mounts (-want +got):\n%s", d)
	}
	if len(spec.Volumes) != 1 || spec.Volumes[0].Name != engine.MetricsContainerName || spec.Volumes[0].EmptyDir == nil {
		t.Errorf("volumes %+v: want the emptyDir %s", spec.Volumes, engine.MetricsContainerName)
	}
}

// TestFileCollectorInvalid checks that collector sources the sidecar cannot read, and a
// template that already uses the sidecar's name, end the experiment ExperimentInvalid
// before any trial.
func TestFileCollectorInvalid(t *testing.T) {
	start(t)
	for name, c := range map[string]struct {
		edit func(*unstructured.Unstructured)
		want string
	}{
		"container named kfup-metrics": {func(u *unstructured.Unstructured) {
			_ = unstructured.SetNestedSlice(u.Object, []any{map[string]any{"name": "kfup-metrics", "image": "mine"}},
				"spec", "trialTemplate", "trialSpec", "spec", "template", "spec", "initContainers")
		}, "already has a container named kfup-metrics"},
		"file at the root": {func(u *unstructured.Unstructured) {
			_ = unstructured.SetNestedField(u.Object, "/mnist.log", "spec", "metricsCollectorSpec", "source", "fileSystemPath", "path")
		}, "is at the root"},
		"TensorFlowEvent with a filter": {func(u *unstructured.Unstructured) {
			_ = unstructured.SetNestedField(u.Object, "TensorFlowEvent", "spec", "metricsCollectorSpec", "collector", "kind")
			unstructured.RemoveNestedField(u.Object, "spec", "metricsCollectorSpec", "source", "fileSystemPath")
		}, "remove source.filter.metricsFormat"},
	} {
		t.Run(name, func(t *testing.T) {
			obj, ns := fileExample(t)
			c.edit(obj)
			env.CreateAsUser(t, obj)
			exp := waitDone(t, client.ObjectKey{Namespace: ns, Name: obj.GetName()}, nil)
			cd := cond(exp, tuningv1beta1.ExperimentFailed)
			if cd == nil || cd.Reason != controller.ExperimentInvalidReason || !strings.Contains(cd.Message, c.want) {
				t.Fatalf("conditions %+v: want Failed/%s naming %q", exp.Status.Conditions, controller.ExperimentInvalidReason, c.want)
			}
		})
	}
}

// TestTensorFlowEventCollector runs the File example turned into a TensorFlowEvent one
// (Katib's default directory, no filter) to its end: the sidecar reads
// /var/log/katib/tfevent/ for the experiment's metrics, and its "<time> name=value" lines
// are read whole (train/accuracy is not accuracy).
func TestTensorFlowEventCollector(t *testing.T) {
	logs := start(t)
	obj, ns := fileExample(t)
	_ = unstructured.SetNestedField(obj.Object, "TensorFlowEvent", "spec", "metricsCollectorSpec", "collector", "kind")
	unstructured.RemoveNestedField(obj.Object, "spec", "metricsCollectorSpec", "source")
	env.CreateAsUser(t, obj)
	var job *batchv1.Job
	exp := waitDone(t, client.ObjectKey{Namespace: ns, Name: obj.GetName()}, func(ctx context.Context, _ *tuningv1beta1.Experiment) {
		if job == nil {
			jobs := &batchv1.JobList{}
			if err := env.Client.List(ctx, jobs, client.InNamespace(ns)); err == nil && len(jobs.Items) > 0 {
				job = &jobs.Items[0]
			}
		}
		playTrials(t, ctx, ns, logs, 0)
	})
	if c := cond(exp, tuningv1beta1.ExperimentSucceeded); c == nil || c.Reason != tuningv1beta1.ExperimentMaxTrialsReachedReason {
		t.Fatalf("conditions %+v: want Succeeded/%s", exp.Status.Conditions, tuningv1beta1.ExperimentMaxTrialsReachedReason)
	}
	checkOptimal(t, ns, exp)
	if job == nil {
		t.Fatal("no trial Job seen")
	}
	sc := job.Spec.Template.Spec.InitContainers[0]
	if d := cmp.Diff([]string{"/kfup", "agent", "metrics", "--kind", "tfevent", "--path", "/var/log/katib/tfevent/", "--metric", "accuracy", "--metric", "loss"}, sc.Command); d != "" {
		t.Errorf("sidecar command (-want +got):\n%s", d)
	}
	if len(sc.VolumeMounts) != 1 || sc.VolumeMounts[0].MountPath != "/var/log/katib/tfevent" {
		t.Errorf("sidecar mounts %+v: want the event directory", sc.VolumeMounts)
	}
}
