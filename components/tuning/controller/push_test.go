package controller_test

import (
	"context"
	"fmt"
	"math"
	"net"
	"slices"
	"strconv"
	"testing"
	"time"

	api_pb "github.com/kubeflow/katib/pkg/apis/manager/v1beta1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tuningv1beta1 "github.com/kfup/kfup/components/tuning/api/v1beta1"
	"github.com/kfup/kfup/components/tuning/controller"
	"github.com/kfup/kfup/components/tuning/engine"
	"github.com/kfup/kfup/internal/agent"
	"github.com/kfup/kfup/internal/conformance"
)

// startPush runs the tuning controllers with the DBManager API on a free local port and
// returns a client of it, the Katib SDK's wire format (Katib's generated client).
func startPush(t *testing.T) api_pb.DBManagerClient {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	_ = lis.Close()
	cfg := controller.DefaultConfig()
	cfg.SkipNameValidation = true
	cfg.PollInterval = 200 * time.Millisecond
	cfg.Logs = &fakeLogs{logs: map[string]string{}}
	cfg.Image = testImage
	cfg.DBManagerAddress = addr
	env.StartManager(t, &controller.API{Config: cfg})
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return api_pb.NewDBManagerClient(conn)
}

// TestPushCollector runs the random example turned Push: each trial's Job gets
// KATIB_TRIAL_NAME in its primary container and no sidecar; the test plays the trial's
// pod (at 127.0.0.1, where the test's client dials from), which reports loss = lr and
// accuracy = 1 - lr through the DBManager API, then the Job's success. One trial reports
// nothing and ends MetricsUnavailable; the others succeed with what they pushed, and the
// least loss is currentOptimalTrial.
func TestPushCollector(t *testing.T) {
	db := startPush(t)
	ns := env.Namespace(t)
	obj := conformance.Objects(t, conformance.Files(t, "tuning/hp-tuning_random.yaml")[0])[0]
	obj.SetNamespace(ns)
	_ = unstructured.SetNestedField(obj.Object, int64(4), "spec", "maxTrialCount")
	_ = unstructured.SetNestedStringSlice(obj.Object, []string{"accuracy"}, "spec", "objective", "additionalMetricNames")
	_ = unstructured.SetNestedMap(obj.Object, map[string]any{"collector": map[string]any{"kind": "Push"}}, "spec", "metricsCollectorSpec")
	env.CreateAsUser(t, obj)

	silent := "" // the trial that reports nothing
	reported := map[string]float64{}
	exp := waitDone(t, client.ObjectKey{Namespace: ns, Name: obj.GetName()}, func(ctx context.Context, _ *tuningv1beta1.Experiment) {
		for _, u := range unfinished(ctx, ns) {
			tr, run := u.trial, u.run
			job := &batchv1.Job{}
			if err := env.Client.Get(ctx, client.ObjectKeyFromObject(run), job); err != nil {
				t.Fatal(err)
			}
			checkPushJob(t, job, tr.Name)
			pushPod(t, ctx, ns, tr.Name)
			if silent == "" {
				silent = tr.Name
			} else if _, ok := reported[tr.Name]; !ok {
				lr := assignment(tr, "lr")
				req := &api_pb.ReportObservationLogRequest{TrialName: tr.Name, ObservationLog: &api_pb.ObservationLog{MetricLogs: []*api_pb.MetricLog{
					{TimeStamp: time.Now().UTC().Format("2006-01-02T15:04:05Z"), Metric: &api_pb.Metric{Name: "loss", Value: fmt.Sprint(lr + 1)}},
					{TimeStamp: time.Now().UTC().Add(time.Second).Format("2006-01-02T15:04:05Z"), Metric: &api_pb.Metric{Name: "loss", Value: fmt.Sprint(lr)}},
					{Metric: &api_pb.Metric{Name: "accuracy", Value: fmt.Sprint(1 - lr)}},
				}}}
				if _, err := db.ReportObservationLog(ctx, req); err != nil {
					t.Fatalf("report %s: %v", tr.Name, err)
				}
				reported[tr.Name] = lr
				// a metric the experiment does not have is refused
				bad := &api_pb.ReportObservationLogRequest{TrialName: tr.Name, ObservationLog: &api_pb.ObservationLog{MetricLogs: []*api_pb.MetricLog{{Metric: &api_pb.Metric{Name: "Validation-accuracy", Value: "1"}}}}}
				if _, err := db.ReportObservationLog(ctx, bad); status.Code(err) != codes.InvalidArgument {
					t.Errorf("report of an unknown metric: %v, want InvalidArgument", err)
				}
			}
			if err := succeed(ctx, run); err != nil {
				t.Errorf("set Job %s succeeded: %v", run.GetName(), err)
			}
		}
	})
	if c := cond(exp, tuningv1beta1.ExperimentSucceeded); c == nil || c.Reason != tuningv1beta1.ExperimentMaxTrialsReachedReason {
		t.Fatalf("conditions %+v: want Succeeded/%s", exp.Status.Conditions, tuningv1beta1.ExperimentMaxTrialsReachedReason)
	}
	if exp.Status.TrialsSucceeded != 3 || exp.Status.TrialMetricsUnavailable != 1 || !slices.Contains(exp.Status.MetricsUnavailableTrialList, silent) {
		t.Errorf("status %+v: want 3 succeeded and %s metrics-unavailable", exp.Status, silent)
	}
	best, bestLoss := "", math.Inf(1)
	for name, lr := range reported {
		if lr < bestLoss {
			best, bestLoss = name, lr
		}
	}
	o := exp.Status.CurrentOptimalTrial
	if o.BestTrialName != best {
		t.Errorf("currentOptimalTrial %s, want %s (loss %v)", o.BestTrialName, best, bestLoss)
	}
	want := []tuningv1beta1.Metric{
		{Name: "loss", Min: fmt.Sprint(bestLoss), Max: fmt.Sprint(bestLoss + 1), Latest: fmt.Sprint(bestLoss)},
		{Name: "accuracy", Min: fmt.Sprint(1 - bestLoss), Max: fmt.Sprint(1 - bestLoss), Latest: fmt.Sprint(1 - bestLoss)},
	}
	if !slices.Equal(o.Observation.Metrics, want) {
		t.Errorf("optimal observation %+v, want %+v", o.Observation.Metrics, want)
	}
	// the SDK's get_trial_metrics: a pod of the namespace reads the log back, in time order
	got, err := db.GetObservationLog(context.Background(), &api_pb.GetObservationLogRequest{TrialName: best, MetricName: "loss"})
	if err != nil {
		t.Fatal(err)
	}
	var values []string
	for _, l := range got.GetObservationLog().GetMetricLogs() {
		values = append(values, l.GetMetric().GetValue())
	}
	if !slices.Equal(values, []string{fmt.Sprint(bestLoss + 1), fmt.Sprint(bestLoss)}) {
		t.Errorf("GetObservationLog(%s, loss) = %v", best, values)
	}
	// an ended trial takes no more reports
	_, err = db.ReportObservationLog(context.Background(), &api_pb.ReportObservationLogRequest{TrialName: best, ObservationLog: &api_pb.ObservationLog{MetricLogs: []*api_pb.MetricLog{{Metric: &api_pb.Metric{Name: "loss", Value: "0"}}}}})
	if status.Code(err) != codes.FailedPrecondition {
		t.Errorf("report to an ended trial: %v, want FailedPrecondition", err)
	}
}

// checkPushJob checks a Push trial's Job: the trial's name in its primary container, no
// metrics sidecar.
func checkPushJob(t *testing.T, job *batchv1.Job, trial string) {
	t.Helper()
	spec := job.Spec.Template.Spec
	if len(spec.InitContainers) != 0 || len(spec.Containers) != 1 {
		t.Fatalf("Job %s: containers %d, init containers %d: want the primary alone", job.Name, len(spec.Containers), len(spec.InitContainers))
	}
	if !slices.Contains(spec.Containers[0].Env, corev1.EnvVar{Name: agent.TrialNameEnv, Value: trial}) {
		t.Errorf("Job %s: primary env %v, want %s=%s", job.Name, spec.Containers[0].Env, agent.TrialNameEnv, trial)
	}
	if _, found := job.Labels[tuningv1beta1.LabelTrialName]; !found || engine.MetricsContainerName == spec.Containers[0].Name {
		t.Errorf("Job %s: labels %v", job.Name, job.Labels)
	}
}

// pushPod plays trial's running pod, at 127.0.0.1: where the DBManager sees the test's
// calls come from.
func pushPod(t *testing.T, ctx context.Context, ns, trial string) {
	t.Helper()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: trial + "-pod", Namespace: ns, Labels: map[string]string{tuningv1beta1.LabelTrialName: trial}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "training-container", Image: "busybox"}}},
	}
	if err := env.Client.Create(ctx, pod); err != nil {
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(pod), pod); err != nil {
			t.Fatal(err)
		}
	}
	if pod.Status.PodIP == "127.0.0.1" {
		return
	}
	pod.Status.Phase = corev1.PodRunning
	pod.Status.PodIP, pod.Status.PodIPs = "127.0.0.1", []corev1.PodIP{{IP: "127.0.0.1"}}
	if err := env.Client.Status().Update(ctx, pod); err != nil {
		t.Fatalf("pod %s at 127.0.0.1: %v", pod.Name, err)
	}
}

func assignment(tr *tuningv1beta1.Trial, name string) float64 {
	for _, p := range tr.Spec.ParameterAssignments {
		if p.Name == name {
			v, _ := strconv.ParseFloat(p.Value, 64)
			return v
		}
	}
	return math.NaN()
}
