package policy_test

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	trainingv1 "github.com/kfup/kfup/components/training/api/v1"
	"github.com/kfup/kfup/components/training/controller/policy"
	"github.com/kfup/kfup/components/training/engine"
)

func TestProgress(t *testing.T) {
	const (
		R = corev1.PodRunning
		S = corev1.PodSucceeded
		F = corev1.PodFailed
		P = corev1.PodPending
	)
	elastic := func(j *trainingv1.PyTorchJob) { j.Spec.ElasticPolicy = &trainingv1.ElasticPolicy{} }
	allWorkers := func(j *trainingv1.TFJob) { j.Spec.SuccessPolicy = ptr.To(trainingv1.SuccessPolicyAllWorkers) }
	mpiJob := &trainingv1.MPIJob{ObjectMeta: metav1.ObjectMeta{Name: "job", Namespace: "ns"}, Spec: trainingv1.MPIJobSpec{
		MPIReplicaSpecs: map[trainingv1.ReplicaType]*trainingv1.ReplicaSpec{
			"Launcher": replica(1, "mpi", ""), "Worker": replica(2, "mpi", ""),
		}}}
	jaxJob := &trainingv1.JAXJob{ObjectMeta: metav1.ObjectMeta{Name: "job", Namespace: "ns"}, Spec: trainingv1.JAXJobSpec{
		JAXReplicaSpecs: map[trainingv1.ReplicaType]*trainingv1.ReplicaSpec{"Worker": replica(2, "jax", "")}}}
	xgbJob := &trainingv1.XGBoostJob{ObjectMeta: metav1.ObjectMeta{Name: "job", Namespace: "ns"}, Spec: trainingv1.XGBoostJobSpec{
		XGBReplicaSpecs: map[trainingv1.ReplicaType]*trainingv1.ReplicaSpec{"Master": replica(1, "xgboost", ""), "Worker": replica(2, "xgboost", "")}}}
	paddleWorkers := &trainingv1.PaddleJob{ObjectMeta: metav1.ObjectMeta{Name: "job", Namespace: "ns"}, Spec: trainingv1.PaddleJobSpec{
		PaddleReplicaSpecs: map[trainingv1.ReplicaType]*trainingv1.ReplicaSpec{"Worker": replica(2, "paddle", "")}}}

	type p = struct {
		t     string
		i     int
		phase corev1.PodPhase
	}
	tests := []struct {
		name               string
		job                engine.Job
		pods               []p
		succeeded, running bool
	}{
		{"pytorch: master running", ptJob(1, 2, ""), []p{{"Master", 0, R}, {"Worker", 0, P}}, false, true},
		{"pytorch: workers alone do not run a job with a master", ptJob(1, 2, ""), []p{{"Master", 0, P}, {"Worker", 0, R}}, false, false},
		{"pytorch: master succeeded, workers still run", ptJob(1, 2, ""), []p{{"Master", 0, S}, {"Worker", 0, R}}, true, false},
		{"pytorch: workers only, one left", ptJob(0, 2, ""), []p{{"Worker", 0, S}, {"Worker", 1, R}}, false, true},
		{"pytorch: workers only, all succeeded", ptJob(0, 2, ""), []p{{"Worker", 0, S}, {"Worker", 1, S}}, true, false},
		{"pytorch elastic: any worker succeeded", ptJob(0, 2, "", elastic), []p{{"Worker", 0, S}, {"Worker", 1, R}}, true, true},
		{"tf: chief decides", tfJob(map[trainingv1.ReplicaType]int32{"Chief": 1, "PS": 1, "Worker": 2}),
			[]p{{"Chief", 0, S}, {"PS", 0, R}, {"Worker", 0, R}}, true, false},
		{"tf: chief running", tfJob(map[trainingv1.ReplicaType]int32{"Chief": 1, "Worker": 2}),
			[]p{{"Chief", 0, R}, {"Worker", 0, S}, {"Worker", 1, S}}, false, true},
		{"tf: worker 0 decides by default", tfJob(map[trainingv1.ReplicaType]int32{"PS": 1, "Worker": 2}),
			[]p{{"PS", 0, R}, {"Worker", 0, S}, {"Worker", 1, R}}, true, true},
		{"tf: worker 1 alone does not", tfJob(map[trainingv1.ReplicaType]int32{"PS": 1, "Worker": 2}),
			[]p{{"PS", 0, R}, {"Worker", 0, R}, {"Worker", 1, S}}, false, true},
		{"tf: AllWorkers waits for every worker", tfJob(map[trainingv1.ReplicaType]int32{"PS": 1, "Worker": 2}, allWorkers),
			[]p{{"PS", 0, R}, {"Worker", 0, S}, {"Worker", 1, R}}, false, true},
		{"tf: AllWorkers, all done", tfJob(map[trainingv1.ReplicaType]int32{"PS": 1, "Worker": 2}, allWorkers),
			[]p{{"PS", 0, R}, {"Worker", 0, S}, {"Worker", 1, S}}, true, false},
		{"mpi: launcher running", mpiJob, []p{{"Launcher", -1, R}, {"Worker", 0, R}, {"Worker", 1, R}}, false, true},
		{"mpi: launcher succeeded, workers sleep on", mpiJob, []p{{"Launcher", -1, S}, {"Worker", 0, R}, {"Worker", 1, R}}, true, false},
		{"jax: all workers", jaxJob, []p{{"Worker", 0, S}, {"Worker", 1, S}}, true, false},
		{"jax: one worker failed", jaxJob, []p{{"Worker", 0, S}, {"Worker", 1, F}}, false, false},
		{"xgboost: master", xgbJob, []p{{"Master", 0, S}, {"Worker", 0, R}}, true, false},
		{"paddle: workers", paddleWorkers, []p{{"Worker", 0, S}, {"Worker", 1, R}}, false, true},
		{"no pods yet", ptJob(1, 1, ""), nil, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fw := framework(t, kindOf(tc.job))
			job, err := engine.Defaulted(fw, tc.job)
			if err != nil {
				t.Fatal(err)
			}
			var pods []*corev1.Pod
			for _, x := range tc.pods {
				pods = append(pods, pod(x.t, x.i, fw.DefaultContainerName(), x.phase))
			}
			counts := policy.CountReplicas(fw, "job", fw.ReplicaSpecs(job), pods)
			succeeded, running := policy.Progress(fw, job, counts, pods)
			if succeeded != tc.succeeded || running != tc.running {
				t.Errorf("Progress = succeeded %v, running %v; want %v, %v", succeeded, running, tc.succeeded, tc.running)
			}
		})
	}
}

// A replica type of 0 replicas is never "all succeeded".
func TestProgressZeroReplicas(t *testing.T) {
	fw := framework(t, "PyTorchJob")
	job := ptJob(0, 1, "")
	job.Spec.PyTorchReplicaSpecs["Worker"].Replicas = ptr.To[int32](0)
	counts := policy.CountReplicas(fw, "job", job.Spec.PyTorchReplicaSpecs, nil)
	if succeeded, _ := policy.Progress(fw, job, counts, nil); succeeded {
		t.Errorf("a job of 0 workers succeeded")
	}
}

func kindOf(j engine.Job) string {
	switch j.(type) {
	case *trainingv1.PyTorchJob:
		return "PyTorchJob"
	case *trainingv1.TFJob:
		return "TFJob"
	case *trainingv1.MPIJob:
		return "MPIJob"
	case *trainingv1.JAXJob:
		return "JAXJob"
	case *trainingv1.XGBoostJob:
		return "XGBoostJob"
	case *trainingv1.PaddleJob:
		return "PaddleJob"
	}
	return ""
}

// The messages are upstream's, word for word, for each kind.
func TestMessages(t *testing.T) {
	meta := metav1.ObjectMeta{Name: "j", Namespace: "ns"}
	one := func(c string) map[trainingv1.ReplicaType]*trainingv1.ReplicaSpec {
		return map[trainingv1.ReplicaType]*trainingv1.ReplicaSpec{"Master": replica(1, c, ""), "Worker": replica(1, c, "")}
	}
	workers := func(c string) map[trainingv1.ReplicaType]*trainingv1.ReplicaSpec {
		return map[trainingv1.ReplicaType]*trainingv1.ReplicaSpec{"Worker": replica(1, c, "")}
	}
	tests := []struct {
		job                         engine.Job
		created, running, succeeded string
		failed, restarting          string
	}{
		{&trainingv1.PyTorchJob{ObjectMeta: meta, Spec: trainingv1.PyTorchJobSpec{PyTorchReplicaSpecs: one("pytorch")}},
			"PyTorchJob j is created.", "PyTorchJob j is running.", "PyTorchJob j is successfully completed.",
			"PyTorchJob j is failed because 2 Worker replica(s) failed.", "PyTorchJob j is restarting because 2 Worker replica(s) failed."},
		{&trainingv1.PyTorchJob{ObjectMeta: meta, Spec: trainingv1.PyTorchJobSpec{PyTorchReplicaSpecs: workers("pytorch")}},
			"PyTorchJob j is created.", "PyTorchJob ns/j is running.", "PyTorchJob ns/j successfully completed.",
			"PyTorchJob j is failed because 2 Worker replica(s) failed.", "PyTorchJob j is restarting because 2 Worker replica(s) failed."},
		{&trainingv1.TFJob{ObjectMeta: meta, Spec: trainingv1.TFJobSpec{TFReplicaSpecs: workers("tensorflow")}},
			"TFJob j is created.", "TFJob ns/j is running.", "TFJob ns/j successfully completed.",
			"TFJob ns/j has failed because 2 Worker replica(s) failed.", "TFJob j is restarting because 2 Worker replica(s) failed."},
		{&trainingv1.MPIJob{ObjectMeta: meta, Spec: trainingv1.MPIJobSpec{MPIReplicaSpecs: workers("mpi")}},
			"MPIJob j is created.", "MPIJob ns/j is running.", "MPIJob ns/j successfully completed.",
			"MPIJob j is failed because 2 Worker replica(s) failed.", "MPIJob j is restarting because 2 Worker replica(s) failed."},
		{&trainingv1.XGBoostJob{ObjectMeta: meta, Spec: trainingv1.XGBoostJobSpec{XGBReplicaSpecs: one("xgboost")}},
			"XGBoostJob j is created.", "XGBoostJob j is running.", "XGBoostJob j is successfully completed.",
			"XGBoostJob j is failed because 2 Worker replica(s) failed.", "XGBoostJob j is restarting because 2 Worker replica(s) failed."},
		{&trainingv1.JAXJob{ObjectMeta: meta, Spec: trainingv1.JAXJobSpec{JAXReplicaSpecs: workers("jax")}},
			"JAXJob j is created.", "JAXJob ns/j is running.", "JAXJob ns/j successfully completed.",
			"JAXJob j is failed because 2 Worker replica(s) failed.", "JAXJob j is restarting because 2 Worker replica(s) failed."},
		{&trainingv1.PaddleJob{ObjectMeta: meta, Spec: trainingv1.PaddleJobSpec{PaddleReplicaSpecs: one("paddle")}},
			"PaddleJob j is created.", "PaddleJob j is running.", "PaddleJob j is successfully completed.",
			"PaddleJob j is failed because 2 Worker replica(s) failed.", "PaddleJob j is restarting because 2 Worker replica(s) failed."},
		{&trainingv1.PaddleJob{ObjectMeta: meta, Spec: trainingv1.PaddleJobSpec{PaddleReplicaSpecs: workers("paddle")}},
			"PaddleJob j is created.", "PaddleJob ns/j is running.", "PaddleJob ns/j successfully completed.",
			"PaddleJob j is failed because 2 Worker replica(s) failed.", "PaddleJob j is restarting because 2 Worker replica(s) failed."},
	}
	for _, tc := range tests {
		fw := framework(t, kindOf(tc.job))
		got := []string{policy.CreatedMessage(fw, tc.job), policy.RunningMessage(fw, tc.job), policy.SucceededMessage(fw, tc.job),
			policy.FailedMessage(fw, tc.job, 2, "Worker"), policy.RestartingMessage(fw, tc.job, 2, "Worker")}
		want := []string{tc.created, tc.running, tc.succeeded, tc.failed, tc.restarting}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("%s message %d = %q, want %q", fw.Kind(), i, got[i], want[i])
			}
		}
	}
}
