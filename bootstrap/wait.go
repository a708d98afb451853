package bootstrap

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/kfup/kfup/internal/errs"
)

// WaitReady waits until the API server answers, every node is Ready and the default
// ServiceAccount exists (pods cannot be created before it). kube-controller-manager
// creates that ServiceAccount seconds after the node is Ready; WaitReady creates it itself
// as soon as the API server answers (the controller treats an existing one as done), which
// saves those seconds on every create. On timeout the error says what was still missing.
func WaitReady(ctx context.Context, cfg *rest.Config, timeout time.Duration) error {
	return pollCluster(ctx, cfg, 250*time.Millisecond, timeout, "cluster not ready after %s: %s", readiness)
}

// pollCluster calls missing every interval until it reports nothing missing (""); after
// timeout it fails with failure (formatted with the timeout and the last report).
func pollCluster(ctx context.Context, cfg *rest.Config, interval, timeout time.Duration, failure string,
	missing func(context.Context, kubernetes.Interface) string) error {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("client: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last string
	err = wait.PollUntilContextCancel(ctx, interval, true, func(ctx context.Context) (bool, error) {
		last = missing(ctx, cs)
		return last == "", nil
	})
	if err == nil {
		return nil
	}
	if ctx.Err() == context.DeadlineExceeded {
		return errs.New(errs.KindTimeout, "raise --wait, or look at the node with 'kfup status' and 'docker logs <name>-control-plane'",
			failure, timeout, last)
	}
	return err
}

// readiness returns what is not ready yet, or "" when all is.
func readiness(ctx context.Context, cs kubernetes.Interface) string {
	nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return "API server not answering: " + err.Error()
	}
	if len(nodes.Items) == 0 {
		return "no node registered"
	}
	for _, n := range nodes.Items {
		if ok, why := nodeReady(&n); !ok {
			return fmt.Sprintf("node %s not Ready: %s", n.Name, why)
		}
	}
	if _, err := cs.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{}); err != nil {
		if !apierrors.IsNotFound(err) {
			return "default ServiceAccount: " + err.Error()
		}
		sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: "default"}}
		if _, err := cs.CoreV1().ServiceAccounts("default").Create(ctx, sa, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return "default ServiceAccount not created yet: " + err.Error()
		}
	}
	return ""
}

func nodeReady(n *corev1.Node) (bool, string) {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			if c.Status == corev1.ConditionTrue {
				return true, ""
			}
			return false, fmt.Sprintf("%s %s", c.Reason, c.Message)
		}
	}
	return false, "no Ready condition yet"
}

// WaitCurrent waits until the cluster reports on the current run of each node container
// (starts: node name → when its container last started), not on a run before a stop or a
// restart of Docker: the node's kubelet has posted its status since, and no pod on it
// claims a container running since before. A stopped node still reads Ready, and its pods
// Running, until the kubelet and the controllers catch up; only then do node and pod
// readiness — and the component waits that read Deployment status — mean something
// again. On a node that has run for a while this holds at once.
func WaitCurrent(ctx context.Context, cfg *rest.Config, starts map[string]time.Time, timeout time.Duration) error {
	return pollCluster(ctx, cfg, time.Second, timeout, "cluster not back after its restart within %s: %s",
		func(ctx context.Context, cs kubernetes.Interface) string { return staleness(ctx, cs, starts) })
}

// staleness returns what still reports on a run of a node before starts, or "". Nodes
// and pods of nodes not in starts are not judged.
func staleness(ctx context.Context, cs kubernetes.Interface, starts map[string]time.Time) string {
	// statuses carry whole seconds: a status of the current run may read the second of the
	// start, or the one before
	before := map[string]time.Time{}
	for n, t := range starts {
		before[n] = t.Truncate(time.Second).Add(-time.Second)
	}
	nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return "API server not answering: " + err.Error()
	}
	for _, n := range nodes.Items {
		b, ok := before[n.Name]
		if !ok {
			continue
		}
		posted := false
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady && !c.LastHeartbeatTime.Time.Before(b) {
				posted = true
			}
		}
		if !posted {
			return fmt.Sprintf("the kubelet of node %s has not reported since the node started", n.Name)
		}
	}
	pods, err := cs.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return "list pods: " + err.Error()
	}
	for _, p := range pods.Items {
		b, ok := before[p.Spec.NodeName]
		if !ok || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue
		}
		for _, c := range append(p.Status.InitContainerStatuses, p.Status.ContainerStatuses...) {
			if r := c.State.Running; r != nil && r.StartedAt.Time.Before(b) {
				return fmt.Sprintf("pod %s/%s not synced by the kubelet since the node started", p.Namespace, p.Name)
			}
		}
	}
	return ""
}
