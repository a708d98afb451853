package dbmanager

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	api_pb "github.com/kubeflow/katib/pkg/apis/manager/v1beta1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	tuningv1beta1 "github.com/kfup/kfup/components/tuning/api/v1beta1"
	"github.com/kfup/kfup/components/tuning/engine"
)

// Package dbmanager serves Katib's DBManager gRPC API (api.v1.beta1.DBManager) for the
// Push metrics collector: trial code reports its metrics itself (katib.report_metrics in
// Katib's SDK, or `kfup agent push`) to kfup's manager, on tuningv1beta1.DBManagerPort, in
// place of Katib's db-manager and MySQL. The reports go to the trial's observation log
// (store.go), which the trial controller summarizes when the run ends.
//
// Callers are told apart by their pod's IP, looked up through the API server: only a
// running pod of the trial (labelled katib.kubeflow.org/trial=<trial>, in its namespace,
// not on the host network) may report or delete a trial's observations, and only a pod of
// the trial's namespace may read them, so one namespace can neither write nor read
// another's trials. The SDK names only the trial, so a name found in two namespaces is
// refused as ambiguous.

// +kubebuilder:rbac:groups="",resources=configmaps,verbs=get;create;update;delete

// Bounds of one DBManager call.
const (
	// MaxReportsPerCall is the most metric logs one ReportObservationLog may carry.
	MaxReportsPerCall = 1000
	// maxMessageBytes bounds a request (gRPC's default is 4 MiB).
	maxMessageBytes = 1 << 20
	// callTimeout bounds the work of one call.
	callTimeout = 30 * time.Second
)

// trialNameIndex indexes the cached Trials by name: the SDK names a trial without its
// namespace.
const trialNameIndex = "tuning.kfup.dev/trial-name"

// podIPIndex is the API server's field selector of a pod's IP.
const podIPIndex = "status.podIP"

// Server serves Katib's DBManager API on its address: a manager Runnable
// that runs on every replica (each reads and writes through the API server).
type Server struct {
	addr string
	srv  *dbServer
}

// New returns the server of address addr ("" or "0": none), an apihost.Controller.
func New(addr string) *Server { return &Server{addr: addr} }

// Name is "db-manager".
func (d *Server) Name() string { return "db-manager" }

// SetupWithManager indexes trials by name and adds the server to mgr; an address of "" or
// "0" serves nothing.
func (d *Server) SetupWithManager(mgr manager.Manager) error {
	if d.addr == "" || d.addr == "0" {
		return nil
	}
	if err := mgr.GetFieldIndexer().IndexField(context.Background(), &tuningv1beta1.Trial{}, trialNameIndex, func(o client.Object) []string {
		return []string{o.GetName()}
	}); err != nil {
		return fmt.Errorf("index trials by name: %w", err)
	}
	d.srv = &dbServer{client: mgr.GetClient(), reader: mgr.GetAPIReader(), scheme: mgr.GetScheme(), now: time.Now}
	return mgr.Add(d)
}

// NeedLeaderElection is false: every replica serves (the Service spreads calls).
func (d *Server) NeedLeaderElection() bool { return false }

// Start serves until ctx ends, then stops gracefully (bounded).
func (d *Server) Start(ctx context.Context) error {
	lis, err := net.Listen("tcp", d.addr)
	if err != nil {
		return fmt.Errorf("db-manager: listen on %s (--tuning-db-manager-bind-address): %w", d.addr, err)
	}
	s := grpc.NewServer(grpc.MaxRecvMsgSize(maxMessageBytes))
	api_pb.RegisterDBManagerServer(s, d.srv)
	ctrl.Log.WithName("db-manager").Info("serving Katib's DBManager API", "address", lis.Addr().String())
	done := make(chan error, 1)
	go func() { done <- s.Serve(lis) }()
	select {
	case err := <-done:
		return fmt.Errorf("db-manager: %w", err)
	case <-ctx.Done():
	}
	stopped := make(chan struct{})
	go func() { s.GracefulStop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		s.Stop()
	}
	return nil
}

// dbServer implements the DBManager service on the API server.
type dbServer struct {
	api_pb.UnimplementedDBManagerServer
	client client.Client // cached: trials
	reader client.Reader // uncached: pods, config maps
	scheme *runtime.Scheme
	now    func() time.Time
}

// ReportObservationLog appends the reports to the trial's observation log.
func (s *dbServer) ReportObservationLog(ctx context.Context, in *api_pb.ReportObservationLogRequest) (*api_pb.ReportObservationLogReply, error) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	logs := in.GetObservationLog().GetMetricLogs()
	if len(logs) > MaxReportsPerCall {
		return nil, status.Errorf(codes.InvalidArgument, "%d metric logs in one call: report at most %d at once", len(logs), MaxReportsPerCall)
	}
	t, err := s.trial(ctx, in.GetTrialName())
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, t, true); err != nil {
		return nil, err
	}
	if k := t.Spec.MetricsCollector.CollectorKind(); k != tuningv1beta1.PushCollector {
		return nil, status.Errorf(codes.FailedPrecondition, "trial %s/%s collects its metrics with %s, not Push: set the experiment's metricsCollectorSpec.collector.kind to Push", t.Namespace, t.Name, k)
	}
	if trialDone(t) {
		return nil, status.Errorf(codes.FailedPrecondition, "trial %s/%s has ended: it takes no more reports", t.Namespace, t.Name)
	}
	names := t.Spec.Objective.MetricNames()
	now := s.now()
	reports := make([]engine.Observation, 0, len(logs))
	for i, l := range logs {
		name, value := l.GetMetric().GetName(), strings.TrimSpace(l.GetMetric().GetValue())
		if !slices.Contains(names, name) {
			return nil, status.Errorf(codes.InvalidArgument, "metric log %d: %q is not a metric of trial %s: report its objective %s or an additional metric (%s)",
				i, name, t.Name, t.Spec.Objective.ObjectiveMetricName, strings.Join(names[1:], ", "))
		}
		if _, err := strconv.ParseFloat(value, 64); err != nil || len(value) > tuningv1beta1.MaxValueLength {
			return nil, status.Errorf(codes.InvalidArgument, "metric log %d: %s=%q is not a number", i, name, value)
		}
		at := now
		if ts := l.GetTimeStamp(); ts != "" {
			if at, err = time.Parse(time.RFC3339Nano, ts); err != nil {
				return nil, status.Errorf(codes.InvalidArgument, "metric log %d: time_stamp %q is not RFC 3339, such as 2024-01-02T03:04:05Z", i, ts)
			}
		}
		reports = append(reports, engine.Observation{Name: name, Value: value, Timestamp: at.UTC()})
	}
	if len(reports) == 0 {
		return &api_pb.ReportObservationLogReply{}, nil
	}
	if err := AppendLog(ctx, s.client, s.reader, s.scheme, t, reports); err != nil {
		return nil, storeError(t, err)
	}
	return &api_pb.ReportObservationLogReply{}, nil
}

// GetObservationLog returns the trial's observations, in time order, of one metric or
// all and within [start_time, end_time] when given, as Katib's database answers.
func (s *dbServer) GetObservationLog(ctx context.Context, in *api_pb.GetObservationLogRequest) (*api_pb.GetObservationLogReply, error) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	var from, to time.Time
	for _, b := range []struct {
		name, v string
		t       *time.Time
	}{{"start_time", in.GetStartTime(), &from}, {"end_time", in.GetEndTime(), &to}} {
		if b.v == "" {
			continue
		}
		var err error
		if *b.t, err = time.Parse(time.RFC3339Nano, b.v); err != nil {
			return nil, status.Errorf(codes.InvalidArgument, "%s %q is not RFC 3339, such as 2024-01-02T03:04:05Z", b.name, b.v)
		}
	}
	t, err := s.trial(ctx, in.GetTrialName())
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, t, false); err != nil {
		return nil, err
	}
	l, _, err := ReadLog(ctx, s.reader, t)
	if err != nil {
		return nil, storeError(t, err)
	}
	obs := l.Observations()
	sort.SliceStable(obs, func(i, j int) bool { return obs[i].Timestamp.Before(obs[j].Timestamp) })
	out := &api_pb.ObservationLog{MetricLogs: []*api_pb.MetricLog{}}
	for _, o := range obs {
		if (in.GetMetricName() != "" && o.Name != in.GetMetricName()) || (!from.IsZero() && o.Timestamp.Before(from)) || (!to.IsZero() && o.Timestamp.After(to)) {
			continue
		}
		out.MetricLogs = append(out.MetricLogs, &api_pb.MetricLog{
			TimeStamp: o.Timestamp.UTC().Format(time.RFC3339Nano),
			Metric:    &api_pb.Metric{Name: o.Name, Value: o.Value},
		})
	}
	return &api_pb.GetObservationLogReply{ObservationLog: out}, nil
}

// DeleteObservationLog deletes the trial's observation log (the trial's own pods only).
func (s *dbServer) DeleteObservationLog(ctx context.Context, in *api_pb.DeleteObservationLogRequest) (*api_pb.DeleteObservationLogReply, error) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	t, err := s.trial(ctx, in.GetTrialName())
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, t, true); err != nil {
		return nil, err
	}
	if err := DeleteLog(ctx, s.client, s.reader, t); err != nil {
		return nil, storeError(t, err)
	}
	return &api_pb.DeleteObservationLogReply{}, nil
}

// trial finds the trial named name in the namespaces the manager serves.
func (s *dbServer) trial(ctx context.Context, name string) (*tuningv1beta1.Trial, error) {
	if name == "" {
		return nil, status.Error(codes.InvalidArgument, "trial_name is empty: the trial's pods have it as $KATIB_TRIAL_NAME")
	}
	list := &tuningv1beta1.TrialList{}
	if err := s.client.List(ctx, list, client.MatchingFields{trialNameIndex: name}); err != nil {
		return nil, status.Errorf(codes.Unavailable, "list trials: %v", err)
	}
	switch len(list.Items) {
	case 0:
		return nil, status.Errorf(codes.NotFound, "no trial %q in the namespaces kfup's tuning controllers serve", name)
	case 1:
		return &list.Items[0], nil
	}
	var ns []string
	for _, t := range list.Items {
		ns = append(ns, t.Namespace)
	}
	sort.Strings(ns)
	return nil, status.Errorf(codes.FailedPrecondition, "trial name %q is ambiguous: namespaces %s each have one, and Katib's API names no namespace; rename one of the experiments", name, strings.Join(ns, ", "))
}

// authorize checks that the caller is a running pod of trial t (own) or any pod of t's
// namespace (reading).
func (s *dbServer) authorize(ctx context.Context, t *tuningv1beta1.Trial, own bool) error {
	p, ok := peer.FromContext(ctx)
	if !ok || p.Addr == nil {
		return status.Error(codes.Unauthenticated, "no peer address")
	}
	ap, err := netip.ParseAddrPort(p.Addr.String())
	if err != nil {
		return status.Errorf(codes.Unauthenticated, "peer address %s: %v", p.Addr, err)
	}
	ip := ap.Addr().Unmap()
	pods := &corev1.PodList{}
	opts := []client.ListOption{client.InNamespace(t.Namespace)}
	if own {
		opts = append(opts, client.MatchingLabels{tuningv1beta1.LabelTrialName: t.Name})
	} else {
		opts = append(opts, client.MatchingFields{podIPIndex: ip.String()})
	}
	if err := s.reader.List(ctx, pods, opts...); err != nil {
		return status.Errorf(codes.Unavailable, "list pods: %v", err)
	}
	for i := range pods.Items {
		if podHasIP(&pods.Items[i], ip) {
			return nil
		}
	}
	if own {
		return status.Errorf(codes.PermissionDenied, "%s is not a running pod of trial %s/%s: only the trial's own pods (labelled %s=%s) may report its metrics", ip, t.Namespace, t.Name, tuningv1beta1.LabelTrialName, t.Name)
	}
	return status.Errorf(codes.PermissionDenied, "%s is not a running pod of namespace %s: only pods of a trial's namespace may read its metrics", ip, t.Namespace)
}

// podHasIP says whether pod p runs (or is about to) with IP ip of its own (not its
// node's, which every host-network pod shares).
func podHasIP(p *corev1.Pod, ip netip.Addr) bool {
	if p.Spec.HostNetwork || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
		return false
	}
	ips := []string{p.Status.PodIP}
	for _, a := range p.Status.PodIPs {
		ips = append(ips, a.IP)
	}
	for _, s := range ips {
		if a, err := netip.ParseAddr(s); err == nil && a.Unmap() == ip {
			return true
		}
	}
	return false
}

// storeError turns a failure of the observation log store into a gRPC status.
func storeError(t *tuningv1beta1.Trial, err error) error {
	var notOurs NotOursError
	if errors.As(err, &notOurs) {
		return status.Error(codes.FailedPrecondition, err.Error())
	}
	return status.Errorf(codes.Unavailable, "trial %s/%s: observation log: %v", t.Namespace, t.Name, err)
}

// trialDone says the trial ended: a condition other than Created or Running is true.
func trialDone(t *tuningv1beta1.Trial) bool {
	for _, c := range t.Status.Conditions {
		if c.Status == corev1.ConditionTrue && c.Type != tuningv1beta1.TrialCreated && c.Type != tuningv1beta1.TrialRunning {
			return true
		}
	}
	return false
}
