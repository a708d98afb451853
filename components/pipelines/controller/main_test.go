package controller_test

import (
	"context"
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	pipelinesv1alpha1 "github.com/kfup/kfup/components/pipelines/api/v1alpha1"
	"github.com/kfup/kfup/components/pipelines/controller"
	"github.com/kfup/kfup/components/pipelines/executor"
	"github.com/kfup/kfup/components/pipelines/store"
	"github.com/kfup/kfup/internal/conformance"
	"github.com/kfup/kfup/internal/testenv"
)

var env *testenv.Env

type apiextJSON = apiextensionsv1.JSON

func itoa(i int) string { return strconv.Itoa(i) }

// testImage stands for kfup's image (the launcher's).
const testImage = "kfup-test:1"

func TestMain(m *testing.M) { os.Exit(testenv.Main(m, &env, controller.NewAPI())) }

// start runs the pipelines controllers until t ends, with an fs store under a temporary
// directory (no artifact server: envtest runs no pods to call it).
func start(t *testing.T) store.Store {
	t.Helper()
	cfg := testConfig(t)
	env.StartManager(t, &controller.API{Config: cfg})
	return cfg.Store
}

// testConfig is the controllers' configuration in tests: kfup's image stood for by
// testImage, an fs store under a temporary directory, no artifact server.
func testConfig(t *testing.T) controller.Config {
	t.Helper()
	cfg := controller.DefaultConfig()
	cfg.SkipNameValidation = true
	cfg.Image = testImage
	cfg.Store = store.NewFS(t.TempDir())
	cfg.ArtifactURL = "http://artifacts.test:8890"
	cfg.ArtifactAddress = "0"
	return cfg
}

// irRun is a run of the conformance pipeline file (its documents embedded).
func irRun(t *testing.T, name, ns, file string, params map[string]any) *pipelinesv1alpha1.PipelineRun {
	t.Helper()
	b, err := os.ReadFile(conformance.Dir(t) + "/pipelines/valid/" + file)
	if err != nil {
		t.Fatal(err)
	}
	docs := strings.Split("\n"+string(b), "\n---\n")
	run := &pipelinesv1alpha1.PipelineRun{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}}
	for i, d := range docs {
		if strings.TrimSpace(d) == "" {
			continue
		}
		raw, err := yaml.YAMLToJSON([]byte(d))
		if err != nil {
			t.Fatal(err)
		}
		if run.Spec.PipelineSpec == nil {
			run.Spec.PipelineSpec = &runtime.RawExtension{Raw: raw}
		} else if i > 0 {
			run.Spec.PlatformSpec = &runtime.RawExtension{Raw: raw}
		}
	}
	if len(params) > 0 {
		run.Spec.Parameters = map[string]apiextJSON{}
		for k, v := range params {
			raw, _ := json.Marshal(v)
			run.Spec.Parameters[k] = apiextJSON{Raw: raw}
		}
	}
	return run
}

// waitRun polls the run until ok says so, failing t after a while with its status.
func waitRun(t *testing.T, key client.ObjectKey, what string, ok func(*pipelinesv1alpha1.PipelineRun) bool) *pipelinesv1alpha1.PipelineRun {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	run := &pipelinesv1alpha1.PipelineRun{}
	for {
		if err := env.Client.Get(context.Background(), key, run); err == nil && ok(run) {
			return run
		}
		if time.Now().After(deadline) {
			s, _ := json.MarshalIndent(run.Status, "", "  ")
			t.Fatalf("run %s: timed out waiting for %s; status:\n%s", key.Name, what, s)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitPod waits for the pod of task id (and attempt) of run.
func waitPod(t *testing.T, ns, run, id string, attempt int) *corev1.Pod {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		pods := &corev1.PodList{}
		if err := env.Client.List(context.Background(), pods, client.InNamespace(ns), client.MatchingLabels{controller.LabelRun: run}); err != nil {
			t.Fatal(err)
		}
		for i := range pods.Items {
			p := &pods.Items[i]
			if p.Annotations[controller.AnnotationTaskID] == id && p.Labels[controller.LabelAttempt] == itoa(attempt) {
				return p
			}
		}
		if time.Now().After(deadline) {
			var names []string
			for _, p := range pods.Items {
				names = append(names, p.Name+"="+p.Annotations[controller.AnnotationTaskID]+"#"+p.Labels[controller.LabelAttempt])
			}
			t.Fatalf("no pod for task %s attempt %d of run %s; pods: %v", id, attempt, run, names)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// finishPod plays the kubelet: the pod's main container ends with exit code and the
// launcher's report as its termination message.
func finishPod(t *testing.T, pod *corev1.Pod, code int32, res *executor.Result) {
	t.Helper()
	phase := corev1.PodSucceeded
	if code != 0 {
		phase = corev1.PodFailed
	}
	setMainEnded(t, pod, phase, code, res)
}

// endMain plays the kubelet's first report: the main container has ended, the pod is
// still Running (the kubelet sets the terminal phase once it has torn the pod down).
func endMain(t *testing.T, pod *corev1.Pod, code int32, res *executor.Result) {
	t.Helper()
	setMainEnded(t, pod, corev1.PodRunning, code, res)
}

func setMainEnded(t *testing.T, pod *corev1.Pod, phase corev1.PodPhase, code int32, res *executor.Result) {
	t.Helper()
	msg, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	now := metav1.Now()
	pod.Status.Phase = phase
	pod.Status.ContainerStatuses = []corev1.ContainerStatus{{
		Name: "main", Image: pod.Spec.Containers[0].Image,
		State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code, Message: string(msg), StartedAt: now, FinishedAt: now}},
	}}
	if err := env.Client.Status().Update(context.Background(), pod); err != nil {
		t.Fatalf("finish pod %s: %v", pod.Name, err)
	}
}

// executorInput decodes the executor input the controller gave pod.
func executorInput(t *testing.T, pod *corev1.Pod) *executor.ExecutorInput {
	t.Helper()
	for _, c := range pod.Spec.Containers {
		for _, e := range c.Env {
			if e.Name == "KFUP_EXECUTOR_INPUT" {
				in := &executor.ExecutorInput{}
				if err := json.Unmarshal([]byte(e.Value), in); err != nil {
					t.Fatal(err)
				}
				return in
			}
		}
	}
	t.Fatalf("pod %s has no KFUP_EXECUTOR_INPUT", pod.Name)
	return nil
}
