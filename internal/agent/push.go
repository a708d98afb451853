package agent

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	api_pb "github.com/kubeflow/katib/pkg/apis/manager/v1beta1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

// DefaultDBManagerAddress is where Katib's SDK sends a trial's metrics by default
// (Katib's DB_MANAGER_ADDRESS); kfup's tuning install makes it reach kfup's manager.
const DefaultDBManagerAddress = "katib-db-manager.kubeflow:6789"

// TrialNameEnv is the variable holding a Push trial's name in its primary container
// (kfup sets it, as Katib's webhook does): Katib's SDK sends it with every report.
const TrialNameEnv = "KATIB_TRIAL_NAME"

// Metric is one reported value.
type Metric struct {
	Name, Value string
}

// ParseMetrics reads name=value arguments; each value must be a number, as Katib's SDK
// requires.
func ParseMetrics(args []string) ([]Metric, error) {
	if len(args) == 0 {
		return nil, errors.New("no metrics: pass name=value pairs such as loss=0.25 accuracy=0.9")
	}
	out := make([]Metric, 0, len(args))
	for _, a := range args {
		name, value, ok := strings.Cut(a, "=")
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		if !ok || name == "" {
			return nil, fmt.Errorf("%q is not name=value, such as loss=0.25", a)
		}
		if _, err := strconv.ParseFloat(value, 64); err != nil {
			return nil, fmt.Errorf("%s=%q: the value is not a number", name, value)
		}
		out = append(out, Metric{Name: name, Value: value})
	}
	return out, nil
}

// PushMetrics reports metrics of trial at time at to Katib's DBManager API at addr, in
// one ReportObservationLog call, as katib.report_metrics does.
func PushMetrics(ctx context.Context, addr, trial string, metrics []Metric, at time.Time) error {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return fmt.Errorf("push metrics to %s: %w", addr, err)
	}
	defer conn.Close()
	req := &api_pb.ReportObservationLogRequest{TrialName: trial, ObservationLog: &api_pb.ObservationLog{}}
	ts := at.UTC().Format(time.RFC3339Nano)
	for _, m := range metrics {
		req.ObservationLog.MetricLogs = append(req.ObservationLog.MetricLogs,
			&api_pb.MetricLog{TimeStamp: ts, Metric: &api_pb.Metric{Name: m.Name, Value: m.Value}})
	}
	if _, err := api_pb.NewDBManagerClient(conn).ReportObservationLog(ctx, req); err != nil {
		if s, ok := status.FromError(err); ok {
			return fmt.Errorf("push metrics of trial %s to %s: %s: %s", trial, addr, s.Code(), s.Message())
		}
		return fmt.Errorf("push metrics of trial %s to %s: %w", trial, addr, err)
	}
	return nil
}
