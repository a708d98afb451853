//go:build e2e

package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kfup/kfup/components/manager"
	"github.com/kfup/kfup/components/pipelines"
	pipelinesv1alpha1 "github.com/kfup/kfup/components/pipelines/api/v1alpha1"
	"github.com/kfup/kfup/dashboard"
)

// TestPipelineOnKind is issue 15's e2e: a pipeline compiled the way kfp.compiler writes
// IR (e2e/testdata/pipeline_e2e.yaml, busybox components) runs on kind through
// `kfup pipeline run --watch`, one real pod per task: a runtime parameter, a Dataset
// artifact from one task read by the next through kfup's artifact store, a condition, a
// ParallelFor fan-out with its outputs collected (fan-in), a step that fails once and
// succeeds on its retry, and an exit handler. The same run again is served from the
// cache: no pod at all.
func TestPipelineOnKind(t *testing.T) {
	ns := testNamespace(t)
	ctx := context.Background()
	// the flaky step remembers its first attempt on this claim (kfp-kubernetes pvcMount)
	pvc := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "kfup-e2e-state", Namespace: ns},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("16Mi")}},
		},
	}
	if err := k8sClient.Create(ctx, pvc); err != nil {
		t.Fatal(err)
	}

	r := mustKfup(t, "pipeline", "run", "testdata/pipeline_e2e.yaml", "--name", clusterName, "--run-name", "e2e-a", "-n", ns, "-p", "rows=4", "--watch", "--timeout", "6m")
	logf("kfup pipeline run --watch:\n%s%s", r.stdout, r.stderr)
	run := getRun(t, ns, "e2e-a")
	if run.Status.Phase != pipelinesv1alpha1.PhaseSucceeded {
		t.Fatalf("run ended %s: %s", run.Status.Phase, run.Status.Error)
	}
	if got := string(run.Status.Outputs["total"].Raw); got != "14" {
		t.Errorf("pipeline output total = %s, want 1+4+9 = 14", got)
	}
	want := map[string]string{ // task → an output parameter's JSON
		"exit-handler-1/make-data":               `4`,
		"exit-handler-1/condition-1/count-lines": `"4 lines"`,
		"exit-handler-1/for-loop-2[0]/square":    `1`,
		"exit-handler-1/for-loop-2[2]/square":    `9`,
		"exit-handler-1/total":                   `14`,
		"exit-handler-1/flaky":                   `"ok 14"`,
	}
	for id, v := range want {
		tk := run.Status.Task(id)
		if tk == nil || tk.Phase != pipelinesv1alpha1.PhaseSucceeded {
			t.Errorf("task %s: %+v", id, tk)
			continue
		}
		var got []string
		for _, p := range tk.Parameters {
			got = append(got, string(p.Raw))
		}
		if !strings.Contains(strings.Join(got, " "), v) {
			t.Errorf("task %s outputs %v, want one of them %s", id, got, v)
		}
	}
	data := run.Status.Task("exit-handler-1/make-data")
	if data == nil || len(data.Artifacts["data"].Artifacts) != 1 || !strings.HasPrefix(data.Artifacts["data"].Artifacts[0].URI, "minio://kfup/"+ns+"/e2e-a-") {
		t.Errorf("make-data's artifact: %+v", data)
	}
	if data != nil && len(data.Artifacts["data"].Artifacts) == 1 {
		// the dashboard's artifact reader: a port-forward of the kfup-manager pod with the
		// user's credentials, the manager's artifact server answering it (reads only)
		uri := data.Artifacts["data"].Artifacts[0].URI
		rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		got, err := dashboard.ManagerArtifacts(restConfig, clientset, manager.Namespace, manager.AppName).Read(rctx, uri, 1<<20)
		cancel()
		if want := "row 1\nrow 2\nrow 3\nrow 4\n"; err != nil || string(got) != want {
			t.Errorf("the dashboard read %s through the manager: %q (%v), want %q", uri, got, err, want)
		}
	}
	if c := run.Status.Task("exit-handler-1/condition-1/count-lines"); c != nil && (len(c.Inputs["data"].Artifacts) != 1 || c.Inputs["data"].Artifacts[0].URI != data.Artifacts["data"].Artifacts[0].URI) {
		t.Errorf("count-lines' lineage: inputs %+v, want make-data's artifact", c.Inputs)
	}
	if f := run.Status.Task("exit-handler-1/flaky"); f == nil || f.Attempts != 2 {
		t.Errorf("flaky: %+v, want 2 attempts", f)
	}
	if h := run.Status.Task("report"); h == nil || h.Phase != pipelinesv1alpha1.PhaseSucceeded {
		t.Errorf("exit handler report: %+v", h)
	}
	logs := mustKfup(t, "pipeline", "logs", "e2e-a", "report", "--name", clusterName, "-n", ns)
	if !strings.Contains(logs.stdout, "final status:") || !strings.Contains(logs.stdout, "SUCCEEDED") {
		t.Errorf("kfup pipeline logs e2e-a report:\n%s", logs.stdout)
	}
	logs = mustKfup(t, "pipeline", "logs", "e2e-a", "count-lines", "--name", clusterName, "-n", ns)
	if !strings.Contains(logs.stdout, "lines: 4") {
		t.Errorf("kfup pipeline logs e2e-a count-lines:\n%s", logs.stdout)
	}
	// its pod gone, the task's log is the copy it kept in the artifact store
	if c := run.Status.Task("exit-handler-1/condition-1/count-lines"); c != nil && c.PodName != "" {
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: c.PodName}}
		if err := k8sClient.Delete(ctx, pod, client.GracePeriodSeconds(0)); err != nil {
			t.Fatal(err)
		}
		if err := wait.PollUntilContextTimeout(ctx, time.Second, time.Minute, true, func(ctx context.Context) (bool, error) {
			return apierrors.IsNotFound(k8sClient.Get(ctx, client.ObjectKeyFromObject(pod), &corev1.Pod{})), nil
		}); err != nil {
			t.Fatalf("pod %s not gone: %v", pod.Name, err)
		}
		kept := mustKfup(t, "pipeline", "logs", "e2e-a", "count-lines", "--name", clusterName, "-n", ns)
		if !strings.Contains(kept.stdout, "lines: 4") || !strings.Contains(kept.stderr, "kept it in the artifact store") {
			t.Errorf("kfup pipeline logs e2e-a count-lines, its pod gone:\n%s%s", kept.stdout, kept.stderr)
		}
	}
	get := mustKfup(t, "pipeline", "get", "e2e-a", "--name", clusterName, "-n", ns)
	if !strings.Contains(get.stdout, "Succeeded") || !strings.Contains(get.stdout, "flaky") {
		t.Errorf("kfup pipeline get:\n%s", get.stdout)
	}

	// the same run again: everything from the cache, no pod
	t0 := time.Now()
	mustKfup(t, "pipeline", "run", "testdata/pipeline_e2e.yaml", "--name", clusterName, "--run-name", "e2e-b", "-n", ns, "-p", "rows=4", "--watch", "--timeout", "2m")
	again := getRun(t, ns, "e2e-b")
	if again.Status.Phase != pipelinesv1alpha1.PhaseSucceeded || string(again.Status.Outputs["total"].Raw) != "14" {
		t.Fatalf("cached run ended %s (%s), outputs %v", again.Status.Phase, again.Status.Error, again.Status.Outputs)
	}
	for _, tk := range again.Status.Tasks {
		if tk.Phase == pipelinesv1alpha1.PhaseSucceeded && (tk.CachedFrom == "" || tk.PodName != "") {
			t.Errorf("task %s of the second run was not a cache hit: %+v", tk.ID, tk)
		}
	}
	pods := &corev1.PodList{}
	if err := k8sClient.List(ctx, pods, client.InNamespace(ns), client.MatchingLabels{"pipelines.kfup.dev/run": "e2e-b"}); err != nil || len(pods.Items) != 0 {
		t.Errorf("the cached run made %d pods (%v)", len(pods.Items), err)
	}
	logf("cached run took %s", time.Since(t0).Round(100*time.Millisecond))

	mustKfup(t, "pipeline", "delete", "e2e-a", "e2e-b", "--name", clusterName, "-n", ns)

	// admission: the manager's webhook refuses a bad pipeline at submit, whoever sends it,
	// and nothing is created
	bad := pipelines.SmokeRun(ns, "kfup-offline/busybox:1", "x")
	bad.GenerateName, bad.Name = "", "e2e-bad"
	bad.Spec.PipelineSpec.Raw = []byte(strings.Replace(string(bad.Spec.PipelineSpec.Raw), `"producerTask":"first"`, `"producerTask":"nobody"`, 1))
	err := k8sClient.Create(ctx, bad)
	if err == nil || !strings.Contains(err.Error(), "denied the request") || !strings.Contains(err.Error(), "nobody") {
		t.Errorf("a run reading a task that does not exist: got %v, want refused by the webhook naming it", err)
	}
	if err := k8sClient.Get(ctx, client.ObjectKeyFromObject(bad), &pipelinesv1alpha1.PipelineRun{}); err == nil {
		t.Error("the refused run exists")
	}
}

func getRun(t *testing.T, ns, name string) *pipelinesv1alpha1.PipelineRun {
	t.Helper()
	run := &pipelinesv1alpha1.PipelineRun{}
	if err := k8sClient.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, run); err != nil {
		t.Fatalf("get run %s: %v", name, err)
	}
	return run
}
