//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"

	trainingv1 "github.com/kfup/kfup/components/training/api/v1"
	"github.com/kfup/kfup/components/training/builders"
)

// jobPods lists the pods of job name in ns by their name, with their UIDs.
func jobPods(t *testing.T, ns, name string) map[string]types.UID {
	t.Helper()
	pods, err := clientset.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "training.kubeflow.org/job-name=" + name})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]types.UID{}
	for _, p := range pods.Items {
		out[p.Name] = p.UID
	}
	return out
}

// The manager killed outright (its pod deleted with grace 0) while jobs run: the new
// manager picks every job up where it was — each finishes Succeeded, with the very pods
// the first manager created (none duplicated or recreated) and no restart counted.
func TestManagerKilledWhileJobsRun(t *testing.T) {
	ctx := context.Background()
	ns := testNamespace(t)
	const jobs = 4
	var all []*trainingv1.PyTorchJob
	for i := range jobs {
		j := builders.MakePyTorchJob(fmt.Sprintf("survivor-%d", i), ns).
			Replica("Master", builders.MakeReplica(1, "pytorch", "kfup-offline/busybox:1", "sh", "-c", "sleep 25; echo trained").
				RestartPolicy(trainingv1.RestartPolicyOnFailure)).
			Replica("Worker", builders.MakeReplica(1, "pytorch", "kfup-offline/busybox:1", "sh", "-c", "sleep 25; echo trained").
				RestartPolicy(trainingv1.RestartPolicyOnFailure)).Obj()
		if err := k8sClient.Create(ctx, j); err != nil {
			t.Fatal(err)
		}
		all = append(all, j)
	}
	// every pod of every job running: the jobs are in the middle of their work
	before := map[string]map[string]types.UID{}
	err := wait.PollUntilContextTimeout(ctx, time.Second, 3*time.Minute, true, func(ctx context.Context) (bool, error) {
		pods, err := clientset.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		running := 0
		for _, p := range pods.Items {
			if p.Status.Phase == corev1.PodRunning {
				running++
			}
			if p.Labels["kfup.dev/api"] != "training" {
				return false, fmt.Errorf("pod %s lacks kfup's API label kfup.dev/api=training: %v", p.Name, p.Labels)
			}
		}
		return running == 2*jobs, nil
	})
	if err != nil {
		t.Fatalf("the jobs' pods did not all run: %v", err)
	}
	for _, j := range all {
		before[j.Name] = jobPods(t, ns, j.Name)
	}

	mgr, err := clientset.CoreV1().Pods("kfup-system").List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=kfup-manager"})
	if err != nil || len(mgr.Items) == 0 {
		t.Fatalf("the manager pod: %v (%d found)", err, len(mgr.Items))
	}
	killed := mgr.Items[0]
	if err := clientset.CoreV1().Pods("kfup-system").Delete(ctx, killed.Name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}); err != nil {
		t.Fatal(err)
	}
	t.Logf("killed manager pod %s", killed.Name)

	for _, j := range all {
		c := waitJob(t, j, func() *trainingv1.JobStatus { return &j.Status }, 4*time.Minute)
		if c.Type != trainingv1.JobSucceeded {
			t.Errorf("%s: %s (%s: %s), want Succeeded", j.Name, c.Type, c.Reason, c.Message)
		}
		if slices.ContainsFunc(j.Status.Conditions, func(c trainingv1.JobCondition) bool { return c.Type == trainingv1.JobRestarting }) {
			t.Errorf("%s: a restart was counted: %+v", j.Name, j.Status.Conditions)
		}
		after := jobPods(t, ns, j.Name)
		if len(after) > 0 { // cleanPodPolicy may have removed finished pods; what is left must be the originals
			for name, uid := range after {
				if before[j.Name][name] != uid {
					t.Errorf("%s: pod %s was recreated (uid %s, before %s)", j.Name, name, uid, before[j.Name][name])
				}
			}
		}
		if len(after) > 2 {
			t.Errorf("%s: %d pods, want at most master + worker", j.Name, len(after))
		}
	}
	// a new manager took over, and is Ready
	err = wait.PollUntilContextTimeout(ctx, time.Second, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		pods, err := clientset.CoreV1().Pods("kfup-system").List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=kfup-manager"})
		if err != nil {
			return false, err
		}
		for _, p := range pods.Items {
			if p.Name != killed.Name && p.DeletionTimestamp == nil {
				for _, c := range p.Status.Conditions {
					if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
						return true, nil
					}
				}
			}
		}
		return false, nil
	})
	if err != nil {
		t.Errorf("no new Ready manager pod: %v", err)
	}
}

// restrictedPod makes a replica's pod satisfy Pod Security "restricted", as a job author
// in such a namespace must.
func restrictedPod(r *builders.ReplicaWrapper) *builders.ReplicaWrapper {
	spec := &r.ReplicaSpec.Template.Spec
	spec.SecurityContext = &corev1.PodSecurityContext{
		RunAsNonRoot: ptr.To(true), RunAsUser: ptr.To[int64](65532),
		SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
	for i := range spec.Containers {
		spec.Containers[i].SecurityContext = &corev1.SecurityContext{
			AllowPrivilegeEscalation: ptr.To(false),
			Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		}
	}
	return r
}

// A namespace enforcing Pod Security "restricted" runs a compliant PyTorchJob of a master
// and a worker: the containers kfup injects (the worker's wait-for-master init container
// from kfup's image) are admitted too.
func TestRestrictedNamespaceRunsCompliantJob(t *testing.T) {
	ctx := context.Background()
	ns := testNamespace(t)
	n, err := clientset.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n.Labels == nil {
		n.Labels = map[string]string{}
	}
	n.Labels["pod-security.kubernetes.io/enforce"] = "restricted"
	if _, err := clientset.CoreV1().Namespaces().Update(ctx, n, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	job := builders.MakePyTorchJob("restricted", ns).
		Replica("Master", restrictedPod(builders.MakeReplica(1, "pytorch", "kfup-offline/busybox:1", "sh", "-c", "echo trained")).
			RestartPolicy(trainingv1.RestartPolicyOnFailure)).
		Replica("Worker", restrictedPod(builders.MakeReplica(1, "pytorch", "kfup-offline/busybox:1", "sh", "-c", "echo trained")).
			RestartPolicy(trainingv1.RestartPolicyOnFailure)).Obj()
	if err := k8sClient.Create(ctx, job); err != nil {
		t.Fatal(err)
	}
	c := waitJob(t, job, func() *trainingv1.JobStatus { return &job.Status }, 3*time.Minute)
	if c.Type != trainingv1.JobSucceeded {
		ev, _ := clientset.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
		var msgs []string
		for _, e := range ev.Items {
			if e.Type == corev1.EventTypeWarning {
				msgs = append(msgs, e.Reason+": "+e.Message)
			}
		}
		t.Fatalf("job in a restricted namespace: %s (%s: %s); warnings: %v", c.Type, c.Reason, c.Message, msgs)
	}
}
