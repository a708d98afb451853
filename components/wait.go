package components

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// WaitDeployments waits until the named Deployments of namespace ns (every Deployment
// there when none are named) are rolled out and available. A pod of theirs that cannot
// start on its own (image not present on an offline node, crash loop, bad config) ends the
// wait at once with the pod's reason and the image, instead of waiting for the timeout.
func WaitDeployments(ctx context.Context, c client.Client, ns string, names ...string) error {
	var last string
	restarts := Restarts{}
	err := wait.PollUntilContextCancel(ctx, time.Second, true, func(ctx context.Context) (bool, error) {
		list := &appsv1.DeploymentList{}
		if err := c.List(ctx, list, client.InNamespace(ns)); err != nil {
			last = err.Error()
			return false, nil
		}
		want := map[string]bool{}
		for _, n := range names {
			want[n] = true
		}
		var pending []string
		for i := range list.Items {
			d := &list.Items[i]
			if len(names) > 0 && !want[d.Name] {
				continue
			}
			delete(want, d.Name)
			if !rolledOut(d) {
				pending = append(pending, fmt.Sprintf("%s (%d/%d available)", d.Name, d.Status.AvailableReplicas, replicas(d)))
			} else if ready, err := readyPods(ctx, c, d); err != nil {
				pending = append(pending, fmt.Sprintf("%s (its pods: %v)", d.Name, err))
			} else if ready < replicas(d) {
				// the Deployment's status lags behind its pods' (after a node restart, say)
				pending = append(pending, fmt.Sprintf("%s (%d/%d pods Ready)", d.Name, ready, replicas(d)))
			}
		}
		for n := range want {
			pending = append(pending, n+" (missing)")
		}
		if len(names) == 0 && len(list.Items) == 0 {
			pending = append(pending, "no deployments yet")
		}
		sort.Strings(pending)
		if len(pending) == 0 {
			return true, nil
		}
		last = "waiting for " + strings.Join(pending, ", ")
		stuck, crashing := StuckPods(ctx, c, ns, restarts)
		if crashing != "" {
			last += "; " + crashing
		}
		return false, stuck
	})
	if err != nil && last != "" && ctx.Err() != nil {
		return fmt.Errorf("%w (%s)", err, last)
	}
	return err
}

// readyPods counts the Ready pods of d's selector.
func readyPods(ctx context.Context, c client.Client, d *appsv1.Deployment) (int32, error) {
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil {
		return 0, err
	}
	pods := &corev1.PodList{}
	if err := c.List(ctx, pods, client.InNamespace(d.Namespace), client.MatchingLabelsSelector{Selector: sel}); err != nil {
		return 0, err
	}
	var n int32
	for i := range pods.Items {
		if pods.Items[i].DeletionTimestamp == nil && PodReady(&pods.Items[i]) {
			n++
		}
	}
	return n, nil
}

// PodReady says whether p's Ready condition is True.
func PodReady(p *corev1.Pod) bool {
	for _, cond := range p.Status.Conditions {
		if cond.Type == corev1.PodReady {
			return cond.Status == corev1.ConditionTrue
		}
	}
	return false
}

func replicas(d *appsv1.Deployment) int32 {
	if d.Spec.Replicas == nil {
		return 1
	}
	return *d.Spec.Replicas
}

func rolledOut(d *appsv1.Deployment) bool {
	n := replicas(d)
	return d.Status.ObservedGeneration >= d.Generation && d.Status.UpdatedReplicas == n &&
		d.Status.AvailableReplicas == n && d.Status.Replicas == n
}

// CrashLoopRestarts is how many restarts during one wait make a crashing container stuck
// for StuckPods.
const CrashLoopRestarts = 3

// Restarts remembers, for one wait, each container's restart count when StuckPods first
// saw it (by pod UID and container name). The kubelet carries counts over node restarts,
// so only the crashes during the wait tell a crash loop from a container that met an API
// server still starting.
type Restarts map[string]int32

// StuckPods returns an error naming the first pod in ns that is in a state it will not
// leave by itself, and describes a container crashing fewer than CrashLoopRestarts times
// so far (for the wait's message).
func StuckPods(ctx context.Context, c client.Client, ns string, restarts Restarts) (stuck error, crashing string) {
	pods := &corev1.PodList{}
	if err := c.List(ctx, pods, client.InNamespace(ns)); err != nil {
		return nil, ""
	}
	for _, p := range pods.Items {
		for _, cs := range append(p.Status.InitContainerStatuses, p.Status.ContainerStatuses...) {
			key := string(p.UID) + "/" + cs.Name
			base, seen := restarts[key]
			if !seen {
				restarts[key], base = cs.RestartCount, cs.RestartCount
			}
			w := cs.State.Waiting
			if w == nil {
				continue
			}
			switch w.Reason {
			case "ErrImageNeverPull", "ErrImagePull", "ImagePullBackOff", "InvalidImageName":
				return fmt.Errorf("pod %s/%s cannot get image %s: %s (offline? 'kfup images save' on a connected machine, then 'kfup images load')",
					ns, p.Name, cs.Image, w.Reason), ""
			case "CrashLoopBackOff":
				if n := cs.RestartCount - base; n < CrashLoopRestarts {
					if crashing == "" {
						crashing = fmt.Sprintf("pod %s/%s crashing (%d restarts in all): %s", ns, p.Name, cs.RestartCount, w.Message)
					}
					continue
				}
				return fmt.Errorf("pod %s/%s: %s, %d restarts: %s (see 'kubectl -n %s logs %s --previous')", ns, p.Name, w.Reason, cs.RestartCount, w.Message, ns, p.Name), ""
			case "CreateContainerConfigError", "CreateContainerError":
				return fmt.Errorf("pod %s/%s: %s: %s (see 'kubectl -n %s logs %s')", ns, p.Name, w.Reason, w.Message, ns, p.Name), ""
			}
		}
	}
	return nil, crashing
}
