package controller_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	trainingv1 "github.com/kfup/kfup/components/training/api/v1"
	"github.com/kfup/kfup/components/training/controller"
	"github.com/kfup/kfup/components/training/controller/policy"
	"github.com/kfup/kfup/components/training/engine"
	"github.com/kfup/kfup/internal/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) { os.Exit(testenv.Main(m, &env, controller.NewAPI())) }

// testConfig is the controllers' configuration in these tests: kfup's defaults, with a
// short grace for pods that cannot start.
func testConfig() controller.Config {
	cfg := controller.DefaultConfig()
	cfg.SkipNameValidation = true
	cfg.StuckPodGrace = 2 * time.Second
	return cfg
}

// start runs the six training controllers, configured by cfg, until t ends.
func start(t *testing.T, cfg controller.Config) {
	t.Helper()
	env.StartManager(t, &controller.API{Config: cfg})
}

const (
	timeout = 30 * time.Second
	poll    = 50 * time.Millisecond
)

// eventually polls cond until it holds; on timeout it fails t with cond's last word.
func eventually(t *testing.T, what string, cond func(ctx context.Context) (bool, string)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	last := ""
	for {
		ok, msg := cond(ctx)
		if ok {
			return
		}
		last = msg
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s: %s", what, last)
		case <-time.After(poll):
		}
	}
}

// consistently checks that cond holds for d.
func consistently(t *testing.T, what string, d time.Duration, cond func(ctx context.Context) (bool, string)) {
	t.Helper()
	ctx := context.Background()
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		if ok, msg := cond(ctx); !ok {
			t.Fatalf("%s no longer holds: %s", what, msg)
		}
		time.Sleep(poll)
	}
}

func create(t *testing.T, obj client.Object) {
	t.Helper()
	if err := env.Client.Create(context.Background(), obj); err != nil {
		t.Fatalf("create %T %s: %v", obj, obj.GetName(), err)
	}
}

// getJob fetches a PyTorchJob.
func getJob(t *testing.T, ns, name string) *trainingv1.PyTorchJob {
	t.Helper()
	j := &trainingv1.PyTorchJob{}
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, j); err != nil {
		t.Fatalf("get job %s/%s: %v", ns, name, err)
	}
	return j
}

// conditions renders a status's conditions as "Type=Status(Reason)".
func conditions(st *trainingv1.JobStatus) string {
	var out []string
	for _, c := range st.Conditions {
		out = append(out, fmt.Sprintf("%s=%s(%s)", c.Type, c.Status, c.Reason))
	}
	return strings.Join(out, " ")
}

// waitCondition waits until the PyTorchJob has condition t True with reason, and returns it.
func waitCondition(t *testing.T, ns, name string, typ trainingv1.JobConditionType, reason string) *trainingv1.PyTorchJob {
	t.Helper()
	var j *trainingv1.PyTorchJob
	eventually(t, fmt.Sprintf("%s=True(%s) on %s", typ, reason, name), func(ctx context.Context) (bool, string) {
		j = &trainingv1.PyTorchJob{}
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, j); err != nil {
			return false, err.Error()
		}
		c := policy.FindCondition(&j.Status, typ)
		return c != nil && c.Status == corev1.ConditionTrue && c.Reason == reason, conditions(&j.Status)
	})
	return j
}

// pods lists the pods of job name (by its job-name label), sorted by name.
func pods(t *testing.T, ns, name string) []corev1.Pod {
	t.Helper()
	var l corev1.PodList
	if err := env.Client.List(context.Background(), &l, client.InNamespace(ns), client.MatchingLabels{trainingv1.JobNameLabel: name}); err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(l.Items, func(a, b corev1.Pod) int { return strings.Compare(a.Name, b.Name) })
	return l.Items
}

func podNames(ps []corev1.Pod) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Name)
	}
	return out
}

// waitPods waits until the job's pods are exactly want (by name), and returns them.
func waitPods(t *testing.T, ns, name string, want ...string) []corev1.Pod {
	t.Helper()
	var got []corev1.Pod
	eventually(t, fmt.Sprintf("pods %v", want), func(ctx context.Context) (bool, string) {
		got = pods(t, ns, name)
		return slices.Equal(podNames(got), want), fmt.Sprintf("pods %v", podNames(got))
	})
	return got
}

// services lists the services of job name, by name.
func services(t *testing.T, ns, name string) []string {
	t.Helper()
	var l corev1.ServiceList
	if err := env.Client.List(context.Background(), &l, client.InNamespace(ns), client.MatchingLabels{trainingv1.JobNameLabel: name}); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, s := range l.Items {
		out = append(out, s.Name)
	}
	slices.Sort(out)
	return out
}

func waitServices(t *testing.T, ns, name string, want ...string) {
	t.Helper()
	eventually(t, fmt.Sprintf("services %v", want), func(ctx context.Context) (bool, string) {
		got := services(t, ns, name)
		return slices.Equal(got, want), fmt.Sprintf("services %v", got)
	})
}

// setPod updates a pod's status as a kubelet would: phase, and the states of its
// containers by name (the others get no status). It retries on conflicts.
func setPod(t *testing.T, ns, name string, phase corev1.PodPhase, states map[string]corev1.ContainerState, mods ...func(*corev1.Pod)) {
	t.Helper()
	eventually(t, "update of pod "+name, func(ctx context.Context) (bool, string) {
		p := &corev1.Pod{}
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, p); err != nil {
			return false, err.Error()
		}
		p.Status.Phase = phase
		if p.Status.StartTime == nil {
			now := metav1.Now()
			p.Status.StartTime = &now
		}
		p.Status.ContainerStatuses = nil
		for _, c := range p.Spec.Containers {
			if s, ok := states[c.Name]; ok {
				p.Status.ContainerStatuses = append(p.Status.ContainerStatuses, corev1.ContainerStatus{
					Name: c.Name, Image: c.Image, ImageID: "", State: s, Ready: s.Running != nil,
				})
			}
		}
		for _, m := range mods {
			m(p)
		}
		if err := env.Client.Status().Update(ctx, p); err != nil {
			return false, err.Error()
		}
		return true, ""
	})
}

func runningState() corev1.ContainerState {
	return corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.Now()}}
}

func exitedState(code int32) corev1.ContainerState {
	return corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code, StartedAt: metav1.Now(), FinishedAt: metav1.Now()}}
}

// run, succeed and fail put a pod's single framework container (c) in that state.
func run(t *testing.T, ns, pod, c string) {
	t.Helper()
	setPod(t, ns, pod, corev1.PodRunning, map[string]corev1.ContainerState{c: runningState()})
}

func succeed(t *testing.T, ns, pod, c string) {
	t.Helper()
	setPod(t, ns, pod, corev1.PodSucceeded, map[string]corev1.ContainerState{c: exitedState(0)})
}

func fail(t *testing.T, ns, pod, c string, code int32) {
	t.Helper()
	setPod(t, ns, pod, corev1.PodFailed, map[string]corev1.ContainerState{c: exitedState(code)})
}

// events returns "Type Reason" of the events recorded on the object called name.
func events(t *testing.T, ns, name string) []string {
	t.Helper()
	var l eventsv1.EventList
	if err := env.Client.List(context.Background(), &l, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range l.Items {
		if e.Regarding.Name == name {
			out = append(out, e.Type+" "+e.Reason)
		}
	}
	return out
}

// waitEvents waits until the object has events with every one of want ("Type Reason").
func waitEvents(t *testing.T, ns, name string, want ...string) {
	t.Helper()
	eventually(t, fmt.Sprintf("events %v on %s", want, name), func(context.Context) (bool, string) {
		got := events(t, ns, name)
		for _, w := range want {
			if !slices.Contains(got, w) {
				return false, fmt.Sprintf("events %v", got)
			}
		}
		return true, ""
	})
}

// gone waits until obj no longer exists.
func gone(t *testing.T, obj client.Object) {
	t.Helper()
	eventually(t, fmt.Sprintf("%T %s deleted", obj, obj.GetName()), func(ctx context.Context) (bool, string) {
		err := env.Client.Get(ctx, client.ObjectKeyFromObject(obj), obj)
		return apierrors.IsNotFound(err), fmt.Sprintf("get: %v", err)
	})
}

var _ engine.Job = (*trainingv1.PyTorchJob)(nil)
