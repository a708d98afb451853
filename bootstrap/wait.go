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
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("client: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var missing string
	err = wait.PollUntilContextCancel(ctx, 250*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		missing = readiness(ctx, cs)
		return missing == "", nil
	})
	if err == nil {
		return nil
	}
	if ctx.Err() == context.DeadlineExceeded {
		return errs.New(errs.KindTimeout, "raise --wait, or look at the node with 'kfup status' and 'docker logs <name>-control-plane'",
			"cluster not ready after %s: %s", timeout, missing)
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

// WaitRestarted waits, after the node containers were started again at since, until the
// cluster reports on the new run rather than on the one before the stop: every node's
// kubelet has posted its status since (a stopped node still reads Ready until the
// controllers notice), and no pod claims a container running since before the stop (the
// kubelet has not synced it yet). Only then do node and pod readiness — and the component
// waits that read Deployment status — mean something again.
func WaitRestarted(ctx context.Context, cfg *rest.Config, since time.Time, timeout time.Duration) error {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("client: %w", err)
	}
	// statuses carry whole seconds; a container of the new run may read the second of since
	before := since.Truncate(time.Second).Add(-time.Second)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var missing string
	err = wait.PollUntilContextCancel(ctx, time.Second, true, func(ctx context.Context) (bool, error) {
		missing = staleness(ctx, cs, before)
		return missing == "", nil
	})
	if err == nil {
		return nil
	}
	if ctx.Err() == context.DeadlineExceeded {
		return errs.New(errs.KindTimeout, "raise --wait, or look at the node with 'docker logs <name>-control-plane'",
			"cluster not back after its restart within %s: %s", timeout, missing)
	}
	return err
}

// staleness returns what still reports on the run before the restart, or "".
func staleness(ctx context.Context, cs kubernetes.Interface, before time.Time) string {
	nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return "API server not answering: " + err.Error()
	}
	for _, n := range nodes.Items {
		posted := false
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady && !c.LastHeartbeatTime.Time.Before(before) {
				posted = true
			}
		}
		if !posted {
			return fmt.Sprintf("the kubelet of node %s has not reported since the restart", n.Name)
		}
	}
	pods, err := cs.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return "list pods: " + err.Error()
	}
	for _, p := range pods.Items {
		if p.Spec.NodeName == "" || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue
		}
		for _, c := range append(p.Status.InitContainerStatuses, p.Status.ContainerStatuses...) {
			if r := c.State.Running; r != nil && r.StartedAt.Time.Before(before) {
				return fmt.Sprintf("pod %s/%s not synced by the kubelet since the restart", p.Namespace, p.Name)
			}
		}
	}
	return ""
}
