package agent

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	api_pb "github.com/kubeflow/katib/pkg/apis/manager/v1beta1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/testing/protocmp"
)

// recorder is a DBManager that keeps what it is told, and refuses metric "bad".
type recorder struct {
	api_pb.UnimplementedDBManagerServer
	mu   sync.Mutex
	reqs []*api_pb.ReportObservationLogRequest
}

func (r *recorder) ReportObservationLog(_ context.Context, in *api_pb.ReportObservationLogRequest) (*api_pb.ReportObservationLogReply, error) {
	for _, l := range in.GetObservationLog().GetMetricLogs() {
		if l.GetMetric().GetName() == "bad" {
			return nil, status.Error(codes.InvalidArgument, `"bad" is not a metric of trial`)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reqs = append(r.reqs, in)
	return &api_pb.ReportObservationLogReply{}, nil
}

func TestPushMetrics(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	s := grpc.NewServer()
	api_pb.RegisterDBManagerServer(s, rec)
	go func() { _ = s.Serve(lis) }()
	t.Cleanup(s.Stop)
	ms, err := ParseMetrics([]string{"loss=0.25", " accuracy = 9e-1"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	at := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := PushMetrics(ctx, lis.Addr().String(), "exp-abcdefgh", ms, at); err != nil {
		t.Fatal(err)
	}
	want := &api_pb.ReportObservationLogRequest{TrialName: "exp-abcdefgh", ObservationLog: &api_pb.ObservationLog{MetricLogs: []*api_pb.MetricLog{
		{TimeStamp: "2024-01-02T03:04:05Z", Metric: &api_pb.Metric{Name: "loss", Value: "0.25"}},
		{TimeStamp: "2024-01-02T03:04:05Z", Metric: &api_pb.Metric{Name: "accuracy", Value: "9e-1"}},
	}}}
	if len(rec.reqs) != 1 {
		t.Fatalf("%d requests", len(rec.reqs))
	}
	if diff := cmp.Diff(want, rec.reqs[0], protocmp.Transform()); diff != "" {
		t.Errorf("request (-want +got):\n%s", diff)
	}
	err = PushMetrics(ctx, lis.Addr().String(), "exp-abcdefgh", []Metric{{"bad", "1"}}, at)
	if err == nil || !strings.Contains(err.Error(), "InvalidArgument") || !strings.Contains(err.Error(), "not a metric") {
		t.Errorf("refused push: error %v, want the server's reason", err)
	}
}

func TestParseMetricsRefuses(t *testing.T) {
	for _, args := range [][]string{nil, {"loss"}, {"=1"}, {"loss=low"}} {
		if _, err := ParseMetrics(args); err == nil {
			t.Errorf("ParseMetrics(%q) accepted", args)
		}
	}
}
