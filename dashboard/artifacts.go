package dashboard

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/httpstream"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/transport/spdy"

	pipelinesv1alpha1 "github.com/kfup/kfup/components/pipelines/api/v1alpha1"
	"github.com/kfup/kfup/components/pipelines/store"
)

// ArtifactReader reads one object of kfup's artifact store for the pages: the HTML and
// Markdown viewers of a run's task, its kept log.
type ArtifactReader interface {
	// Read returns the artifact at uri, at most limit bytes; an artifact over limit is
	// an error wrapping errTooLarge, an absent one wraps store.ErrNotFound, a URI of
	// another store errNotOurs.
	Read(ctx context.Context, uri string, limit int64) ([]byte, error)
}

// WithArtifacts sets how the pages read the artifact store (ManagerArtifacts; without
// it the viewers say the store cannot be read).
func WithArtifacts(a ArtifactReader) Option { return optionFunc(func(s *Server) { s.artifacts = a }) }

// ReadTaskLog reads the log task taskID of run kept in kfup's pvc artifact store
// (pipelinesv1alpha1.TaskLogFile: kfup agent launch writes it when the task ends), for
// when its pod is gone; it returns the log and its URI.
func ReadTaskLog(ctx context.Context, a ArtifactReader, run *pipelinesv1alpha1.PipelineRun, taskID string) ([]byte, string, error) {
	uri := store.FSURI(pipelinesv1alpha1.TaskKey(run, taskID) + "/" + pipelinesv1alpha1.TaskLogFile)
	b, err := a.Read(ctx, uri, pipelinesv1alpha1.MaxTaskLogBytes+1024) // and its first line
	return b, uri, err
}

// errTooLarge is an artifact over the viewer's bound; errNotOurs a URI of another store.
var (
	errTooLarge = errors.New("over the viewer's bound")
	errNotOurs  = errors.New("not in this artifact store")
)

// storeReader reads a store.Store, bounded.
type storeReader struct{ st store.Store }

// StoreArtifacts reads st directly (tests, and a store the dashboard can open itself).
func StoreArtifacts(st store.Store) ArtifactReader { return storeReader{st} }

func (r storeReader) Read(ctx context.Context, uri string, limit int64) ([]byte, error) {
	key, ok := r.st.Key(uri)
	if !ok {
		return nil, fmt.Errorf("%s: %w", uri, errNotOurs)
	}
	rc, err := r.st.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s: %w of %d bytes", key, errTooLarge, limit)
	}
	return b, nil
}

// ManagerArtifacts reads the pvc artifact store (kfup's default) from the manager, which
// serves it on its artifact port (store.NewServer), through the API server's port-forward
// of a running kfup-manager pod, with the user's credentials (RBAC: pods/portforward in
// the manager's namespace, which only a cluster's administrators have). No local port is
// opened: every HTTP connection is a stream pair of its own port-forward. The manager
// answers such a request (it comes from its own loopback) with reads only.
func ManagerArtifacts(cfg *rest.Config, cs kubernetes.Interface, namespace, app string) ArtifactReader {
	pf := &podForward{cfg: cfg, cs: cs, namespace: namespace, app: app, port: pipelinesv1alpha1.ArtifactPort}
	hc := &http.Client{Transport: &http.Transport{DialContext: pf.dial, DisableKeepAlives: true, ResponseHeaderTimeout: 30 * time.Second}}
	return storeReader{store.NewHTTP("http://"+pipelinesv1alpha1.ArtifactService, hc)}
}

// podForward opens connections to port of a running pod labelled app.kubernetes.io/name
// = app in namespace, each over its own port-forward (SPDY over WebSocket where the API
// server speaks it, else SPDY, as kubectl port-forward does).
type podForward struct {
	cfg            *rest.Config
	cs             kubernetes.Interface
	namespace, app string
	port           int
	requestID      atomic.Int64
}

func (f *podForward) dial(ctx context.Context, _, _ string) (net.Conn, error) {
	pods, err := f.cs.CoreV1().Pods(f.namespace).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=" + f.app})
	if err != nil {
		return nil, fmt.Errorf("find the %s pod in namespace %s: %w", f.app, f.namespace, err)
	}
	var pod *corev1.Pod
	for i := range pods.Items {
		p := &pods.Items[i]
		if p.Status.Phase == corev1.PodRunning && p.DeletionTimestamp == nil {
			pod = p
			break
		}
	}
	if pod == nil {
		return nil, fmt.Errorf("no running %s pod in namespace %s: see kfup status", f.app, f.namespace)
	}
	u, err := url.Parse(f.cfg.Host)
	if err != nil {
		return nil, err
	}
	u = u.JoinPath("api", "v1", "namespaces", pod.Namespace, "pods", pod.Name, "portforward")
	transport, upgrader, err := spdy.RoundTripperFor(f.cfg)
	if err != nil {
		return nil, err
	}
	var dialer httpstream.Dialer = spdy.NewDialer(upgrader, &http.Client{Transport: transport}, http.MethodPost, u)
	if ws, err := portforward.NewSPDYOverWebsocketDialer(u, f.cfg); err == nil {
		dialer = portforward.NewFallbackDialer(ws, dialer, func(err error) bool {
			return httpstream.IsUpgradeFailure(err) || httpstream.IsHTTPSProxyError(err)
		})
	}
	type dialed struct {
		c   httpstream.Connection
		err error
	}
	got := make(chan dialed, 1)
	go func() {
		c, _, err := dialer.Dial(portforward.PortForwardProtocolV1Name)
		got <- dialed{c, err}
	}()
	var conn httpstream.Connection
	select {
	case d := <-got:
		if d.err != nil {
			return nil, fmt.Errorf("port-forward to pod %s/%s (it needs pods/portforward there): %w", pod.Namespace, pod.Name, d.err)
		}
		conn = d.c
	case <-ctx.Done():
		go func() {
			if d := <-got; d.c != nil {
				_ = d.c.Close()
			}
		}()
		return nil, ctx.Err()
	}
	h := http.Header{}
	h.Set(corev1.StreamType, corev1.StreamTypeError)
	h.Set(corev1.PortHeader, strconv.Itoa(f.port))
	h.Set(corev1.PortForwardRequestIDHeader, strconv.FormatInt(f.requestID.Add(1), 10))
	errStream, err := conn.CreateStream(h)
	if err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("port-forward to pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	_ = errStream.Close() // nothing is written to it
	h.Set(corev1.StreamType, corev1.StreamTypeData)
	data, err := conn.CreateStream(h)
	if err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("port-forward to pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	return &streamConn{Stream: data, conn: conn, errStream: errStream, pod: pod.Namespace + "/" + pod.Name}, nil
}

// streamConn is a port-forward's data stream as a net.Conn (deadlines are not
// supported: the HTTP client's context and timeouts bound the exchange); Close ends the
// whole port-forward.
type streamConn struct {
	httpstream.Stream
	conn      httpstream.Connection
	errStream httpstream.Stream
	pod       string
	closed    atomic.Bool
}

func (c *streamConn) Read(p []byte) (int, error) {
	n, err := c.Stream.Read(p)
	if errors.Is(err, io.EOF) && n == 0 {
		// the kubelet reports a refused or failed connection on the error stream
		if msg, _ := io.ReadAll(io.LimitReader(c.errStream, 4096)); len(msg) > 0 {
			return 0, fmt.Errorf("port-forward to pod %s: %s", c.pod, msg)
		}
	}
	return n, err
}

func (c *streamConn) Close() error {
	if c.closed.Swap(true) {
		return nil
	}
	_ = c.Stream.Reset()
	return c.conn.Close()
}

func (c *streamConn) LocalAddr() net.Addr              { return forwardAddr("dashboard") }
func (c *streamConn) RemoteAddr() net.Addr             { return forwardAddr(c.pod) }
func (c *streamConn) SetDeadline(time.Time) error      { return nil }
func (c *streamConn) SetReadDeadline(time.Time) error  { return nil }
func (c *streamConn) SetWriteDeadline(time.Time) error { return nil }

// forwardAddr names one end of a port-forward.
type forwardAddr string

func (a forwardAddr) Network() string { return "port-forward" }
func (a forwardAddr) String() string  { return string(a) }
