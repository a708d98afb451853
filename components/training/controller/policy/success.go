package policy

import (
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"

	trainingv1 "github.com/kfup/kfup/components/training/api/v1"
	"github.com/kfup/kfup/components/training/engine"
)

// The success rules of each kind, as the Training Operator v1.9's UpdateJobStatus:
//
//   - A job with a leading replica type (PyTorchJob, XGBoostJob and PaddleJob: Master;
//     TFJob: Chief or Master; MPIJob: Launcher) runs while a leader runs and succeeds when
//     all its leaders have succeeded; the other replicas do not matter (TF's parameter
//     servers never exit, MPI's workers sleep).
//   - Otherwise the Workers decide: the job runs while a worker runs and succeeds when all
//     workers have succeeded, or, for a TFJob whose successPolicy is not AllWorkers, when
//     worker 0 has succeeded (exit code 0), or, for an elastic PyTorchJob, when any worker
//     has succeeded (torchrun's rendezvous ends together).
//
// A replica type with 0 replicas never counts as all succeeded (upstream's would, and
// would declare such a job succeeded before it ran).

// leaderTypes are the replica types that decide the fate of a job of kind, when present.
func leaderTypes(kind string) []trainingv1.ReplicaType {
	switch kind {
	case trainingv1.PyTorchJobKind:
		return []trainingv1.ReplicaType{trainingv1.PyTorchJobReplicaTypeMaster}
	case trainingv1.TFJobKind:
		return []trainingv1.ReplicaType{trainingv1.TFJobReplicaTypeChief, trainingv1.TFJobReplicaTypeMaster}
	case trainingv1.XGBoostJobKind:
		return []trainingv1.ReplicaType{trainingv1.XGBoostJobReplicaTypeMaster}
	case trainingv1.PaddleJobKind:
		return []trainingv1.ReplicaType{trainingv1.PaddleJobReplicaTypeMaster}
	case trainingv1.MPIJobKind:
		return []trainingv1.ReplicaType{trainingv1.MPIJobReplicaTypeLauncher}
	}
	return nil
}

// presentLeaders are the leader types the job has.
func presentLeaders(kind string, specs map[trainingv1.ReplicaType]*trainingv1.ReplicaSpec) []trainingv1.ReplicaType {
	var out []trainingv1.ReplicaType
	for _, t := range leaderTypes(kind) {
		if specs[t] != nil {
			out = append(out, t)
		}
	}
	return out
}

// allSucceeded says whether every replica of a type with at least one replica succeeded.
func allSucceeded(spec *trainingv1.ReplicaSpec, st *trainingv1.ReplicaStatus) bool {
	n := engine.ReplicaCount(spec)
	return n > 0 && st != nil && st.Succeeded >= n
}

// Progress applies the kind's success rules to a defaulted job whose replicas are counted
// in counts (CountReplicas of pods): whether the job succeeded, and whether it runs.
func Progress(fw engine.Framework, job engine.Job, counts map[trainingv1.ReplicaType]*trainingv1.ReplicaStatus, pods []*corev1.Pod) (succeeded, running bool) {
	return progress(fw, job, counts, pods, nil)
}

// progress is Progress with the replicas that succeeded earlier (done), whose pods may be
// gone: a TFJob's Worker 0 among them counts as succeeded.
func progress(fw engine.Framework, job engine.Job, counts map[trainingv1.ReplicaType]*trainingv1.ReplicaStatus, pods []*corev1.Pod, done Completed) (succeeded, running bool) {
	specs := fw.ReplicaSpecs(job)
	if leaders := presentLeaders(fw.Kind(), specs); len(leaders) > 0 {
		succeeded = true
		for _, t := range leaders {
			if c := counts[t]; c != nil && c.Active > 0 {
				running = true
			}
			succeeded = succeeded && allSucceeded(specs[t], counts[t])
		}
		return succeeded, running
	}

	const worker = trainingv1.ReplicaType("Worker")
	spec, c := specs[worker], counts[worker]
	if spec == nil || c == nil {
		return false, false
	}
	succeeded = allSucceeded(spec, c)
	switch j := job.(type) {
	case *trainingv1.TFJob:
		if j.Spec.SuccessPolicy == nil || *j.Spec.SuccessPolicy != trainingv1.SuccessPolicyAllWorkers {
			succeeded = succeeded || worker0Succeeded(fw, specs, pods) || done.Has(worker, 0)
		}
	case *trainingv1.PyTorchJob:
		succeeded = succeeded || (j.Spec.ElasticPolicy != nil && c.Succeeded > 0)
	}
	return succeeded, c.Active > 0
}

// worker0Succeeded says whether the pod of Worker 0 succeeded with exit code 0.
func worker0Succeeded(fw engine.Framework, specs map[trainingv1.ReplicaType]*trainingv1.ReplicaSpec, pods []*corev1.Pod) bool {
	for _, p := range pods {
		t, ok := ReplicaTypeOf(specs, p)
		if i, hasIndex := ReplicaIndexOf(p); !ok || t != "Worker" || !hasIndex || i != 0 {
			continue
		}
		if EffectivePhase(p, fw.DefaultContainerName()) == corev1.PodSucceeded &&
			engine.ContainerExitCode(p, fw.DefaultContainerName()) == 0 {
			return true
		}
	}
	return false
}

// Messages of the job's conditions, worded as upstream's for each kind: TFJob, JAXJob and
// MPIJob, and PyTorchJob and PaddleJob without a Master, name the job "<namespace>/<name>"
// in the running and succeeded messages; the others name it alone.

func jobRef(fw engine.Framework, job engine.Job) string {
	qualified := job.GetNamespace() + "/" + job.GetName()
	switch fw.Kind() {
	case trainingv1.TFJobKind, trainingv1.JAXJobKind, trainingv1.MPIJobKind:
		return qualified
	case trainingv1.PyTorchJobKind, trainingv1.PaddleJobKind:
		if len(presentLeaders(fw.Kind(), fw.ReplicaSpecs(job))) == 0 {
			return qualified
		}
	}
	return job.GetName()
}

// CreatedMessage is "PyTorchJob <name> is created.".
func CreatedMessage(fw engine.Framework, job engine.Job) string {
	return fmt.Sprintf("%s %s is created.", fw.Kind(), job.GetName())
}

// RunningMessage is "PyTorchJob <ref> is running.".
func RunningMessage(fw engine.Framework, job engine.Job) string {
	return fmt.Sprintf("%s %s is running.", fw.Kind(), jobRef(fw, job))
}

// SucceededMessage is "TFJob <ns>/<name> successfully completed." or "PyTorchJob <name> is
// successfully completed.".
func SucceededMessage(fw engine.Framework, job engine.Job) string {
	ref := jobRef(fw, job)
	if ref == job.GetName() {
		return fmt.Sprintf("%s %s is successfully completed.", fw.Kind(), ref)
	}
	return fmt.Sprintf("%s %s successfully completed.", fw.Kind(), ref)
}

// FailedMessage says that n replicas of type t failed: "PyTorchJob <name> is failed because
// 1 Worker replica(s) failed." ("TFJob <ns>/<name> has failed because ...").
func FailedMessage(fw engine.Framework, job engine.Job, n int, t trainingv1.ReplicaType) string {
	if fw.Kind() == trainingv1.TFJobKind {
		return fmt.Sprintf("%s %s/%s has failed because %d %s replica(s) failed.", fw.Kind(), job.GetNamespace(), job.GetName(), n, t)
	}
	return fmt.Sprintf("%s %s is failed because %d %s replica(s) failed.", fw.Kind(), job.GetName(), n, t)
}

// RestartingMessage says that n replicas of type t failed and are restarted.
func RestartingMessage(fw engine.Framework, job engine.Job, n int, t trainingv1.ReplicaType) string {
	return fmt.Sprintf("%s %s is restarting because %d %s replica(s) failed.", fw.Kind(), job.GetName(), n, t)
}

// SuspendedMessage is "PyTorchJob <name> is suspended.".
func SuspendedMessage(fw engine.Framework, job engine.Job) string {
	return fmt.Sprintf("%s %s is suspended.", fw.Kind(), job.GetName())
}

// ResumedMessage is "PyTorchJob <name> is resumed.".
func ResumedMessage(fw engine.Framework, job engine.Job) string {
	return fmt.Sprintf("%s %s is resumed.", fw.Kind(), job.GetName())
}

// orderedTypes are the job's replica types in the framework's order, then the others sorted.
func orderedTypes(fw engine.Framework, specs map[trainingv1.ReplicaType]*trainingv1.ReplicaSpec) []trainingv1.ReplicaType {
	var out []trainingv1.ReplicaType
	for _, t := range fw.ReplicaTypes() {
		if specs[t] != nil {
			out = append(out, t)
		}
	}
	var rest []trainingv1.ReplicaType
	for t, s := range specs {
		if s != nil && !slices.Contains(out, t) {
			rest = append(rest, t)
		}
	}
	slices.Sort(rest)
	return append(out, rest...)
}
