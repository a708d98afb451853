package controller_test

import (
	"context"
	"strings"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	trainingv1 "github.com/kfup/kfup/components/training/api/v1"
	"github.com/kfup/kfup/components/training/builders"
	"github.com/kfup/kfup/components/training/controller/policy"
)

// patchJob changes a PyTorchJob's spec, retrying on conflicts.
func patchJob(t *testing.T, ns, name string, change func(*trainingv1.PyTorchJob)) {
	t.Helper()
	eventually(t, "update of "+name, func(ctx context.Context) (bool, string) {
		j := getJob(t, ns, name)
		change(j)
		if err := env.Client.Update(ctx, j); err != nil {
			return false, err.Error()
		}
		return true, ""
	})
}

// Suspending a running job deletes its pods and services and marks it Suspended;
// resuming recreates them and restarts its clock.
func TestSuspendResume(t *testing.T) {
	start(t, testConfig())
	ns := env.Namespace(t)
	create(t, masterWorker("susp", ns, trainingv1.RestartPolicyOnFailure).Obj())
	waitPods(t, ns, "susp", "susp-master-0", "susp-worker-0")
	run(t, ns, "susp-master-0", "pytorch")
	j := waitCondition(t, ns, "susp", trainingv1.JobRunning, "PyTorchJobRunning")
	firstStart := j.Status.StartTime

	patchJob(t, ns, "susp", func(j *trainingv1.PyTorchJob) { j.Spec.RunPolicy.Suspend = ptr.To(true) })
	j = waitCondition(t, ns, "susp", trainingv1.JobSuspended, "PyTorchJobSuspended")
	waitPods(t, ns, "susp")
	waitServices(t, ns, "susp")
	if c := policy.FindCondition(&j.Status, trainingv1.JobRunning); c == nil || c.Status != corev1.ConditionFalse || c.Reason != "PyTorchJobSuspended" {
		t.Errorf("running condition while suspended: %+v", c)
	}
	if c := policy.FindCondition(&j.Status, trainingv1.JobSuspended); c.Message != "PyTorchJob susp is suspended." {
		t.Errorf("suspended message %q", c.Message)
	}
	if m := j.Status.ReplicaStatuses["Master"]; m.Active != 0 {
		t.Errorf("active master while suspended: %+v", m)
	}
	consistently(t, "no pods while suspended", time.Second, func(context.Context) (bool, string) {
		ps := pods(t, ns, "susp")
		return len(ps) == 0, strings.Join(podNames(ps), ",")
	})

	time.Sleep(time.Second) // startTime has a resolution of a second
	patchJob(t, ns, "susp", func(j *trainingv1.PyTorchJob) { j.Spec.RunPolicy.Suspend = ptr.To(false) })
	waitPods(t, ns, "susp", "susp-master-0", "susp-worker-0")
	waitServices(t, ns, "susp", "susp-master-0", "susp-worker-0")
	eventually(t, "resumed", func(context.Context) (bool, string) {
		j = getJob(t, ns, "susp")
		c := policy.FindCondition(&j.Status, trainingv1.JobSuspended)
		return c != nil && c.Status == corev1.ConditionFalse && c.Reason == "PyTorchJobResumed", conditions(&j.Status)
	})
	if !j.Status.StartTime.After(firstStart.Time) {
		t.Errorf("startTime %v not reset on resume (was %v)", j.Status.StartTime, firstStart)
	}
	waitEvents(t, ns, "susp", "Normal PyTorchJobSuspended", "Normal PyTorchJobResumed")
	run(t, ns, "susp-master-0", "pytorch")
	waitCondition(t, ns, "susp", trainingv1.JobRunning, "PyTorchJobRunning")
}

// A job created suspended gets no pods and no startTime.
func TestCreatedSuspended(t *testing.T) {
	start(t, testConfig())
	ns := env.Namespace(t)
	create(t, masterWorker("idle", ns, trainingv1.RestartPolicyOnFailure).Suspend(true).Obj())
	j := waitCondition(t, ns, "idle", trainingv1.JobSuspended, "PyTorchJobSuspended")
	if j.Status.StartTime != nil {
		t.Errorf("startTime %v on a job created suspended", j.Status.StartTime)
	}
	consistently(t, "no pods", time.Second, func(context.Context) (bool, string) {
		ps := pods(t, ns, "idle")
		return len(ps) == 0, strings.Join(podNames(ps), ",")
	})
}

// ttlSecondsAfterFinished deletes a finished job.
func TestTTLAfterFinished(t *testing.T) {
	start(t, testConfig())
	ns := env.Namespace(t)
	job := masterWorker("ttl", ns, trainingv1.RestartPolicyOnFailure).Obj()
	job.Spec.RunPolicy.TTLSecondsAfterFinished = ptr.To[int32](2)
	create(t, job)
	waitPods(t, ns, "ttl", "ttl-master-0", "ttl-worker-0")
	succeed(t, ns, "ttl-master-0", "pytorch")
	j := waitCondition(t, ns, "ttl", trainingv1.JobSucceeded, "PyTorchJobSucceeded")
	if j.Status.CompletionTime == nil {
		t.Fatal("succeeded job has no completionTime")
	}
	// The TTL counts from the stored completionTime, which the API truncates to whole
	// seconds; measure from it, not from when this test saw the condition.
	done := j.Status.CompletionTime.Time
	gone(t, j)
	if d := time.Since(done); d < 2*time.Second {
		t.Errorf("deleted %v after completionTime %v, want at least the 2s TTL", d, done)
	}
}

// cleanPodPolicy decides which pods of a finished job are deleted, with their services.
func TestCleanPodPolicy(t *testing.T) {
	start(t, testConfig())
	for _, tc := range []struct {
		policy   trainingv1.CleanPodPolicy
		pods     []string
		services []string
	}{
		{trainingv1.CleanPodPolicyAll, nil, nil},
		{trainingv1.CleanPodPolicyRunning, []string{"clean-master-0"}, []string{"clean-master-0"}},
		{trainingv1.CleanPodPolicyNone, []string{"clean-master-0", "clean-worker-0"}, []string{"clean-master-0", "clean-worker-0"}},
	} {
		t.Run(string(tc.policy), func(t *testing.T) {
			ns := env.Namespace(t)
			job := masterWorker("clean", ns, trainingv1.RestartPolicyOnFailure).Obj()
			job.Spec.RunPolicy.CleanPodPolicy = ptr.To(tc.policy)
			create(t, job)
			waitPods(t, ns, "clean", "clean-master-0", "clean-worker-0")
			waitServices(t, ns, "clean", "clean-master-0", "clean-worker-0")
			run(t, ns, "clean-worker-0", "pytorch")
			succeed(t, ns, "clean-master-0", "pytorch")
			waitCondition(t, ns, "clean", trainingv1.JobSucceeded, "PyTorchJobSucceeded")
			waitPods(t, ns, "clean", tc.pods...)
			waitServices(t, ns, "clean", tc.services...)
		})
	}
}

// Jobs whose runPolicy.managedBy names another controller are left alone.
func TestManagedBySkipped(t *testing.T) {
	start(t, testConfig())
	ns := env.Namespace(t)
	other := masterWorker("elsewhere", ns, trainingv1.RestartPolicyOnFailure).Obj()
	other.Spec.RunPolicy.ManagedBy = ptr.To("kueue.x-k8s.io/multikueue")
	create(t, other)
	ours := masterWorker("here", ns, trainingv1.RestartPolicyOnFailure).Obj()
	ours.Spec.RunPolicy.ManagedBy = ptr.To("kubeflow.org/training-operator")
	create(t, ours)

	waitPods(t, ns, "here", "here-master-0", "here-worker-0")
	consistently(t, "the other job untouched", 2*time.Second, func(context.Context) (bool, string) {
		j := getJob(t, ns, "elsewhere")
		ps := pods(t, ns, "elsewhere")
		return len(ps) == 0 && len(j.Status.Conditions) == 0, conditions(&j.Status)
	})
}

// activeDeadlineSeconds fails a job that runs too long and stops its pods.
func TestActiveDeadline(t *testing.T) {
	start(t, testConfig())
	ns := env.Namespace(t)
	job := masterWorker("deadline", ns, trainingv1.RestartPolicyOnFailure).Obj()
	job.Spec.RunPolicy.ActiveDeadlineSeconds = ptr.To[int64](2)
	create(t, job)
	waitPods(t, ns, "deadline", "deadline-master-0", "deadline-worker-0")
	run(t, ns, "deadline-master-0", "pytorch")
	j := waitCondition(t, ns, "deadline", trainingv1.JobFailed, "DeadlineExceeded")
	if c := policy.FindCondition(&j.Status, trainingv1.JobFailed); c.Message != "Job deadline has failed because it was active longer than specified deadline" {
		t.Errorf("failed message %q", c.Message)
	}
	waitPods(t, ns, "deadline")
	waitEvents(t, ns, "deadline", "Warning DeadlineExceeded")
}

// A pod that cannot pull its image fails its job, with the pod's reason, after the grace.
func TestPodThatCannotStart(t *testing.T) {
	start(t, testConfig()) // grace 2s
	ns := env.Namespace(t)
	create(t, masterWorker("badimage", ns, trainingv1.RestartPolicyOnFailure).Obj())
	waitPods(t, ns, "badimage", "badimage-master-0", "badimage-worker-0")
	setPod(t, ns, "badimage-worker-0", corev1.PodPending, map[string]corev1.ContainerState{"pytorch": {Waiting: &corev1.ContainerStateWaiting{
		Reason: "ImagePullBackOff", Message: `Back-off pulling image "kfup-offline/nope:1"`,
	}}})
	j := waitCondition(t, ns, "badimage", trainingv1.JobFailed, "ImagePullBackOff")
	want := `PyTorchJob badimage is failed because pod badimage-worker-0 cannot start: container pytorch: ImagePullBackOff: Back-off pulling image "kfup-offline/nope:1"`
	if c := policy.FindCondition(&j.Status, trainingv1.JobFailed); c.Message != want {
		t.Errorf("failed message %q, want %q", c.Message, want)
	}
}

// A pod whose training container ended while its istio-proxy sidecar runs on counts as
// done, and gets the ephemeral container that stops the sidecar.
func TestLingeringSidecar(t *testing.T) {
	start(t, testConfig())
	ns := env.Namespace(t)
	job := masterWorker("istio", ns, trainingv1.RestartPolicyOnFailure).Obj()
	for _, spec := range job.Spec.PyTorchReplicaSpecs {
		spec.Template.Spec.Containers = append(spec.Template.Spec.Containers, corev1.Container{Name: "istio-proxy", Image: "istio/proxyv2:1.31.0"})
	}
	create(t, job)
	waitPods(t, ns, "istio", "istio-master-0", "istio-worker-0")
	setPod(t, ns, "istio-master-0", corev1.PodRunning, map[string]corev1.ContainerState{"pytorch": exitedState(0), "istio-proxy": runningState()})
	waitCondition(t, ns, "istio", trainingv1.JobSucceeded, "PyTorchJobSucceeded")
	eventually(t, "the sidecar stopper", func(ctx context.Context) (bool, string) {
		p := &corev1.Pod{}
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "istio-master-0"}, p); err != nil {
			return false, err.Error()
		}
		for _, c := range p.Spec.EphemeralContainers {
			if c.Name == policy.StopSidecarContainerName && c.Image == "kfup-offline/busybox:1" {
				return true, ""
			}
		}
		return false, "no ephemeral container"
	})
	waitEvents(t, ns, "istio", "Normal StoppingSidecar")
}

// An elastic PyTorchJob with metrics gets an HPA; suspending the job deletes it.
func TestElasticHPA(t *testing.T) {
	start(t, testConfig())
	ns := env.Namespace(t)
	job := builders.MakePyTorchJob("elastic", ns).
		Replica("Worker", builders.MakeReplica(2, "pytorch", "kfup-offline/busybox:1")).Obj()
	job.Spec.ElasticPolicy = &trainingv1.ElasticPolicy{
		MinReplicas: ptr.To[int32](1), MaxReplicas: ptr.To[int32](3),
		Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
			Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To[int32](80)},
		}}},
	}
	create(t, job)
	waitPods(t, ns, "elastic", "elastic-worker-0", "elastic-worker-1")
	hpa := &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "elastic"}}
	eventually(t, "the HPA", func(ctx context.Context) (bool, string) {
		err := env.Client.Get(ctx, client.ObjectKeyFromObject(hpa), hpa)
		return err == nil, "get: " + errString(err)
	})
	if hpa.Spec.MaxReplicas != 3 || hpa.Spec.ScaleTargetRef.Kind != "PyTorchJob" || !metav1.IsControlledBy(hpa, getJob(t, ns, "elastic")) {
		t.Errorf("HPA spec %+v, owners %v", hpa.Spec, hpa.OwnerReferences)
	}
	patchJob(t, ns, "elastic", func(j *trainingv1.PyTorchJob) { j.Spec.RunPolicy.Suspend = ptr.To(true) })
	gone(t, hpa)
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	if apierrors.IsNotFound(err) {
		return "not found"
	}
	return err.Error()
}

// Scaling a replica type down deletes the pods and services beyond the new count.
func TestScaleDown(t *testing.T) {
	start(t, testConfig())
	ns := env.Namespace(t)
	create(t, builders.MakePyTorchJob("scale", ns).
		Replica("Worker", builders.MakeReplica(3, "pytorch", "kfup-offline/busybox:1")).Obj())
	waitPods(t, ns, "scale", "scale-worker-0", "scale-worker-1", "scale-worker-2")
	patchJob(t, ns, "scale", func(j *trainingv1.PyTorchJob) { j.Spec.PyTorchReplicaSpecs["Worker"].Replicas = ptr.To[int32](1) })
	waitPods(t, ns, "scale", "scale-worker-0")
	waitServices(t, ns, "scale", "scale-worker-0")
}
