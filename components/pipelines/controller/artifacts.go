package controller

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	pipelinesv1alpha1 "github.com/kfup/kfup/components/pipelines/api/v1alpha1"
	"github.com/kfup/kfup/components/pipelines/store"
	"github.com/kfup/kfup/internal/apihost"
)

// S3Secret configures the s3 store (pipelinesv1alpha1.S3Secret).
const S3Secret = pipelinesv1alpha1.S3Secret

// openStore opens the manager's view of the artifact store and returns the environment
// that gives task pods theirs.
// For s3 the manager reads Secret S3Secret of its own namespace (through reader) over
// its environment.
func openStore(ctx context.Context, cfg Config, reader client.Reader) (store.Store, []corev1.EnvVar, error) {
	switch {
	case cfg.Store != nil:
		return cfg.Store, []corev1.EnvVar{{Name: "KFUP_ARTIFACT_STORE", Value: cfg.ArtifactURL}}, nil
	case cfg.ArtifactStore == "s3":
		getenv := cfg.getenv
		ns := cfg.getenv("POD_NAMESPACE")
		if ns == "" {
			ns = "kfup-system"
		}
		sec := &corev1.Secret{}
		if err := reader.Get(ctx, client.ObjectKey{Namespace: ns, Name: S3Secret}, sec); err != nil {
			return nil, nil, fmt.Errorf("--pipelines-artifact-store s3: read Secret %s/%s (create it with KFUP_ARTIFACT_S3_BUCKET, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and, for MinIO or another S3-compatible server, AWS_ENDPOINT_URL): %w", ns, S3Secret, err)
		}
		getenv = func(k string) string {
			if v, ok := sec.Data[k]; ok {
				return string(v)
			}
			return cfg.getenv(k)
		}
		s3cfg, err := store.S3ConfigFromEnv(getenv)
		if err != nil {
			return nil, nil, fmt.Errorf("--pipelines-artifact-store s3: %w", err)
		}
		st, err := store.NewS3(ctx, s3cfg)
		if err != nil {
			return nil, nil, fmt.Errorf("--pipelines-artifact-store s3: %w", err)
		}
		return st, []corev1.EnvVar{{Name: "KFUP_ARTIFACT_STORE", Value: "s3"}}, nil
	default:
		url := cfg.ArtifactURL
		if url == "" {
			ns := cfg.getenv("POD_NAMESPACE")
			if ns == "" {
				ns = "kfup-system"
			}
			url = fmt.Sprintf("http://%s.%s.svc:%d", ArtifactService, ns, ArtifactPort)
		}
		return store.NewFS(cfg.ArtifactRoot), []corev1.EnvVar{{Name: "KFUP_ARTIFACT_STORE", Value: url}}, nil
	}
}

// runKey is the store prefix of one run's artifacts (pipelinesv1alpha1.RunKey).
func runKey(r *pipelinesv1alpha1.PipelineRun) string { return pipelinesv1alpha1.RunKey(r) }

// taskKey is the store prefix of one task's outputs (pipelinesv1alpha1.TaskKey).
func taskKey(r *pipelinesv1alpha1.PipelineRun, taskID string) string {
	return pipelinesv1alpha1.TaskKey(r, taskID)
}

// ArtifactServer serves the fs artifact store to task pods over HTTP (store.NewServer):
// a pod reads anything of its own namespace and writes only under its own task's prefix,
// told apart by its IP, as the Push collector's server tells trials apart. A
// port-forward to the manager (kfup dashboard) reads.
type ArtifactServer struct {
	addr   string
	store  store.Store
	reader client.Reader
}

// Name is "artifact-server".
func (s *ArtifactServer) Name() string { return "artifact-server" }

// SetupWithManager adds the server to mgr.
func (s *ArtifactServer) SetupWithManager(mgr manager.Manager) error {
	s.reader = mgr.GetAPIReader()
	return mgr.Add(s)
}

// NeedLeaderElection is false: every replica serves the same volume.
func (s *ArtifactServer) NeedLeaderElection() bool { return false }

// Start serves until ctx ends.
func (s *ArtifactServer) Start(ctx context.Context) error {
	lis, err := net.Listen("tcp", s.addr)
	if err != nil {
		return fmt.Errorf("artifact server: listen on %s (--pipelines-artifact-bind-address): %w", s.addr, err)
	}
	srv := &http.Server{
		Handler:           store.NewServer(s.store, store.AuthorizerFunc(s.authorize), store.ServerOptions{}),
		ReadHeaderTimeout: 10 * time.Second,
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(lis) }()
	select {
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return srv.Shutdown(sctx)
	case err := <-done:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return fmt.Errorf("artifact server: %w", err)
	}
}

// authorize finds the task pod calling (by its IP) and allows reads in its namespace and
// writes under its task's key; a caller on the pod's loopback (a port-forward: the
// dashboard's artifact viewers) reads any key and writes none.
func (s *ArtifactServer) authorize(r *http.Request, key string, write bool) error {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return fmt.Errorf("no client address")
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return fmt.Errorf("client address %q is not an IP", host)
	}
	if ip.IsLoopback() {
		// a port-forward to the manager's pod (kfup dashboard's viewers): the API server
		// let in someone with pods/portforward in the manager's namespace
		if write {
			return fmt.Errorf("a request through a port-forward to the manager may only read")
		}
		return nil
	}
	pod, err := s.taskPod(r.Context(), ip.Unmap())
	if err != nil {
		return err
	}
	if write {
		prefix := pod.Annotations[AnnotationTaskKey]
		if prefix == "" || (key != prefix && !strings.HasPrefix(key, prefix+"/")) {
			return fmt.Errorf("task pod %s/%s may write only under %s", pod.Namespace, pod.Name, prefix)
		}
		return nil
	}
	if !strings.HasPrefix(key, pod.Namespace+"/") {
		return fmt.Errorf("task pod %s/%s may read only artifacts of namespace %s", pod.Namespace, pod.Name, pod.Namespace)
	}
	return nil
}

// taskPod returns the pipelines task pod with ip that has not ended. A task's first
// upload can come moments after its container started, before the kubelet has reported
// the pod Running (or even its IP): Pending counts, and a miss is retried for a while.
func (s *ArtifactServer) taskPod(ctx context.Context, ip netip.Addr) (*corev1.Pod, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for {
		pods := &corev1.PodList{}
		if err := s.reader.List(ctx, pods, client.MatchingFields{"status.podIP": ip.String()}, client.MatchingLabels{apihost.LabelAPI: APIName}); err != nil {
			return nil, fmt.Errorf("look up the calling pod: %w", err)
		}
		for i := range pods.Items {
			p := &pods.Items[i]
			if (p.Status.Phase == corev1.PodRunning || p.Status.Phase == corev1.PodPending) && p.DeletionTimestamp.IsZero() && p.Labels[LabelRun] != "" {
				return p, nil
			}
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%s is not a running pipeline task pod", ip)
		case <-time.After(250 * time.Millisecond):
		}
	}
}
