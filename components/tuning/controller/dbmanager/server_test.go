package dbmanager

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	api_pb "github.com/kubeflow/katib/pkg/apis/manager/v1beta1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	tuningv1beta1 "github.com/kfup/kfup/components/tuning/api/v1beta1"
	"github.com/kfup/kfup/components/tuning/engine"
)

var t0 = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)

func pushTrial(ns, name string, kind tuningv1beta1.CollectorKind) *tuningv1beta1.Trial {
	return &tuningv1beta1.Trial{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID("uid-" + ns + "-" + name),
			Labels: map[string]string{tuningv1beta1.LabelExperimentName: "exp"}},
		Spec: tuningv1beta1.TrialSpec{
			Objective: &tuningv1beta1.ObjectiveSpec{
				Type: tuningv1beta1.ObjectiveTypeMinimize, ObjectiveMetricName: "loss", AdditionalMetricNames: []string{"accuracy"},
			},
			MetricsCollector: tuningv1beta1.MetricsCollectorSpec{Collector: &tuningv1beta1.CollectorSpec{Kind: kind}},
		},
	}
}

func pod(ns, name, ip string, labels map[string]string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels},
		Status:     corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip, PodIPs: []corev1.PodIP{{IP: ip}}},
	}
}

// newServer is a server on a fake API server holding objs: trial exp-a in team-a (Push)
// with its pod at 10.0.0.1, another pod of team-a at 10.0.0.2, a pod of team-b at
// 10.0.1.1.
func newServer(t *testing.T, objs ...client.Object) (*dbServer, client.Client) {
	t.Helper()
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	if err := tuningv1beta1.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	objs = append(objs,
		pushTrial("team-a", "exp-a", tuningv1beta1.PushCollector),
		pod("team-a", "exp-a-0", "10.0.0.1", map[string]string{tuningv1beta1.LabelTrialName: "exp-a"}),
		pod("team-a", "notebook", "10.0.0.2", nil),
		pod("team-b", "intruder", "10.0.1.1", map[string]string{tuningv1beta1.LabelTrialName: "exp-a"}),
	)
	c := fake.NewClientBuilder().WithScheme(s).WithObjects(objs...).
		WithIndex(&tuningv1beta1.Trial{}, trialNameIndex, func(o client.Object) []string { return []string{o.GetName()} }).
		WithIndex(&corev1.Pod{}, podIPIndex, func(o client.Object) []string { return []string{o.(*corev1.Pod).Status.PodIP} }).
		Build()
	n := 0
	return &dbServer{client: c, reader: c, scheme: s, now: func() time.Time { n++; return t0.Add(time.Duration(n) * time.Second) }}, c
}

func from(ip string) context.Context {
	return peer.NewContext(context.Background(), &peer.Peer{Addr: &net.TCPAddr{IP: net.ParseIP(ip), Port: 40000}})
}

func report(trial string, kv ...string) *api_pb.ReportObservationLogRequest {
	req := &api_pb.ReportObservationLogRequest{TrialName: trial, ObservationLog: &api_pb.ObservationLog{}}
	for i := 0; i+1 < len(kv); i += 2 {
		req.ObservationLog.MetricLogs = append(req.ObservationLog.MetricLogs, &api_pb.MetricLog{Metric: &api_pb.Metric{Name: kv[i], Value: kv[i+1]}})
	}
	return req
}

func wantCode(t *testing.T, err error, code codes.Code) {
	t.Helper()
	if status.Code(err) != code {
		t.Fatalf("error %v: want code %s", err, code)
	}
}

func TestReportThenGet(t *testing.T) {
	s, _ := newServer(t)
	ctx := from("10.0.0.1")
	if _, err := s.ReportObservationLog(ctx, report("exp-a", "loss", "0.5", "accuracy", "0.8")); err != nil {
		t.Fatal(err)
	}
	req := report("exp-a", "loss", "0.25")
	req.ObservationLog.MetricLogs[0].TimeStamp = "2024-01-02T03:05:00Z" // the SDK's format
	if _, err := s.ReportObservationLog(ctx, req); err != nil {
		t.Fatal(err)
	}
	// a notebook of the namespace reads them, in time order
	got, err := s.GetObservationLog(from("10.0.0.2"), &api_pb.GetObservationLogRequest{TrialName: "exp-a"})
	if err != nil {
		t.Fatal(err)
	}
	want := []*api_pb.MetricLog{
		{TimeStamp: "2024-01-02T03:04:06Z", Metric: &api_pb.Metric{Name: "loss", Value: "0.5"}},
		{TimeStamp: "2024-01-02T03:04:06Z", Metric: &api_pb.Metric{Name: "accuracy", Value: "0.8"}},
		{TimeStamp: "2024-01-02T03:05:00Z", Metric: &api_pb.Metric{Name: "loss", Value: "0.25"}},
	}
	if diff := cmp.Diff(fmt.Sprint(want), fmt.Sprint(got.ObservationLog.MetricLogs)); diff != "" {
		t.Errorf("log (-want +got):\n%s", diff)
	}
	one, err := s.GetObservationLog(ctx, &api_pb.GetObservationLogRequest{TrialName: "exp-a", MetricName: "loss", StartTime: "2024-01-02T03:04:30Z"})
	if err != nil || len(one.ObservationLog.MetricLogs) != 1 || one.ObservationLog.MetricLogs[0].Metric.Value != "0.25" {
		t.Errorf("loss since 03:04:30 = %v, %v: want the one report 0.25", one, err)
	}
}

func TestReportRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		from string
		req  *api_pb.ReportObservationLogRequest
		code codes.Code
	}{
		{"wrong metric", "10.0.0.1", report("exp-a", "loss", "1", "acc", "1"), codes.InvalidArgument},
		{"not a number", "10.0.0.1", report("exp-a", "loss", "low"), codes.InvalidArgument},
		{"unknown trial", "10.0.0.1", report("exp-z", "loss", "1"), codes.NotFound},
		{"no trial name", "10.0.0.1", report("", "loss", "1"), codes.InvalidArgument},
		{"another namespace's pod", "10.0.1.1", report("exp-a", "loss", "1"), codes.PermissionDenied},
		{"a pod of the namespace, not of the trial", "10.0.0.2", report("exp-a", "loss", "1"), codes.PermissionDenied},
		{"bad timestamp", "10.0.0.1", func() *api_pb.ReportObservationLogRequest {
			r := report("exp-a", "loss", "1")
			r.ObservationLog.MetricLogs[0].TimeStamp = "yesterday"
			return r
		}(), codes.InvalidArgument},
		{"too many", "10.0.0.1", func() *api_pb.ReportObservationLogRequest {
			var kv []string
			for range MaxReportsPerCall + 1 {
				kv = append(kv, "loss", "1")
			}
			return report("exp-a", kv...)
		}(), codes.InvalidArgument},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, c := newServer(t)
			_, err := s.ReportObservationLog(from(tc.from), tc.req)
			wantCode(t, err, tc.code)
			cm := &corev1.ConfigMap{}
			if err := c.Get(context.Background(), client.ObjectKey{Namespace: "team-a", Name: LogName("exp-a")}, cm); err == nil {
				t.Errorf("a refused report was stored: %v", cm.Data)
			}
		})
	}
}

func TestReportTrialStates(t *testing.T) {
	ended := pushTrial("team-c", "exp-c", tuningv1beta1.PushCollector)
	ended.Status.Conditions = []tuningv1beta1.TrialCondition{{Type: tuningv1beta1.TrialSucceeded, Status: corev1.ConditionTrue}}
	s, _ := newServer(t, ended, pushTrial("team-d", "exp-d", tuningv1beta1.StdOutCollector),
		pod("team-c", "c", "10.0.2.1", map[string]string{tuningv1beta1.LabelTrialName: "exp-c"}),
		pod("team-d", "d", "10.0.3.1", map[string]string{tuningv1beta1.LabelTrialName: "exp-d"}))
	_, err := s.ReportObservationLog(from("10.0.2.1"), report("exp-c", "loss", "1"))
	wantCode(t, err, codes.FailedPrecondition)
	_, err = s.ReportObservationLog(from("10.0.3.1"), report("exp-d", "loss", "1"))
	wantCode(t, err, codes.FailedPrecondition)
}

func TestAmbiguousTrialName(t *testing.T) {
	s, _ := newServer(t, pushTrial("team-b", "exp-a", tuningv1beta1.PushCollector))
	_, err := s.ReportObservationLog(from("10.0.0.1"), report("exp-a", "loss", "1"))
	wantCode(t, err, codes.FailedPrecondition)
	if msg := status.Convert(err).Message(); !containsAll(msg, "ambiguous", "team-a", "team-b") {
		t.Errorf("message %q: want it to name both namespaces", msg)
	}
	_, err = s.GetObservationLog(from("10.0.0.2"), &api_pb.GetObservationLogRequest{TrialName: "exp-a"})
	wantCode(t, err, codes.FailedPrecondition)
}

func TestGetRefusesAnotherNamespace(t *testing.T) {
	s, _ := newServer(t)
	_, err := s.GetObservationLog(from("10.0.1.1"), &api_pb.GetObservationLogRequest{TrialName: "exp-a"})
	wantCode(t, err, codes.PermissionDenied)
	_, err = s.GetObservationLog(from("10.0.0.1"), &api_pb.GetObservationLogRequest{TrialName: "exp-a", StartTime: "soon"})
	wantCode(t, err, codes.InvalidArgument)
}

// TestReportBound: a trial reporting past the bound keeps its first reports and the
// extremes, and its summary stays exact.
func TestReportBound(t *testing.T) {
	s, c := newServer(t)
	ctx := from("10.0.0.1")
	var all []engine.Observation
	for call := 0; call < 3; call++ {
		var kv []string
		for i := 0; i < 600; i++ {
			v := fmt.Sprint((call*600 + i) % 777)
			kv = append(kv, "loss", v)
			all = append(all, engine.Observation{Name: "loss", Value: v})
		}
		if _, err := s.ReportObservationLog(ctx, report("exp-a", kv...)); err != nil {
			t.Fatal(err)
		}
	}
	tr := &tuningv1beta1.Trial{}
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: "team-a", Name: "exp-a"}, tr); err != nil {
		t.Fatal(err)
	}
	l, cm, err := ReadLog(context.Background(), c, tr)
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Kept) != engine.MaxSeriesLen || len(l.Beyond) > 3 {
		t.Errorf("kept %d and %d past the bound: want %d and at most 3", len(l.Kept), len(l.Beyond), engine.MaxSeriesLen)
	}
	if !metav1.IsControlledBy(cm, tr) || cm.Labels[tuningv1beta1.LabelTrialName] != "exp-a" {
		t.Errorf("observation log %v is not the trial's", cm.ObjectMeta)
	}
	names := []string{"loss"}
	if diff := cmp.Diff(engine.Summarize(all, names)[0].Min, engine.Summarize(l.Observations(), names)[0].Min); diff != "" {
		t.Errorf("min (-all +kept):\n%s", diff)
	}
	got, err := s.GetObservationLog(ctx, &api_pb.GetObservationLogRequest{TrialName: "exp-a"})
	if err != nil || len(got.ObservationLog.MetricLogs) != len(l.Kept)+len(l.Beyond) {
		t.Errorf("get: %d logs, %v", len(got.GetObservationLog().GetMetricLogs()), err)
	}
	if _, err := s.DeleteObservationLog(ctx, &api_pb.DeleteObservationLogRequest{TrialName: "exp-a"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Get(context.Background(), client.ObjectKeyFromObject(cm), &corev1.ConfigMap{}); err == nil {
		t.Error("the observation log is still there after DeleteObservationLog")
	}
}

// TestLogNotOurs: a ConfigMap of the log's name that the trial does not own is left
// alone.
func TestLogNotOurs(t *testing.T) {
	theirs := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: LogName("exp-a")}, Data: map[string]string{"k": "v"}}
	s, c := newServer(t, theirs)
	_, err := s.ReportObservationLog(from("10.0.0.1"), report("exp-a", "loss", "1"))
	wantCode(t, err, codes.FailedPrecondition)
	_, err = s.DeleteObservationLog(from("10.0.0.1"), &api_pb.DeleteObservationLogRequest{TrialName: "exp-a"})
	wantCode(t, err, codes.FailedPrecondition)
	got := &corev1.ConfigMap{}
	if err := c.Get(context.Background(), client.ObjectKeyFromObject(theirs), got); err != nil || !cmp.Equal(got.Data, theirs.Data) {
		t.Errorf("their ConfigMap changed: %v, %v", got.Data, err)
	}
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
