package policy

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"

	trainingv1 "github.com/kfup/kfup/components/training/api/v1"
	"github.com/kfup/kfup/components/training/engine"
)

// A replica whose pod succeeded has done its work: it is not run again when that pod is
// deleted afterwards — by hand, by a node drain, by a pod garbage collector — while the
// job still runs (upstream training-operator issue 1186 re-runs it, and may count a
// finished job's leader twice or never). The replicas that succeeded are remembered in the
// job's SucceededReplicasAnnotation, written with the restart count (backoff.go), so that
// a manager restart does not forget them either. A suspended job forgets them: resuming
// runs every replica again, as upstream does.

// SucceededReplicasAnnotation on a job lists the replicas whose pod succeeded, by type and
// index: "Master=0;Worker=0,2".
const SucceededReplicasAnnotation = "training.kfup.dev/succeeded-replicas"

// Completed holds the replica indexes of each type whose pod succeeded, each list sorted
// without duplicates.
type Completed map[trainingv1.ReplicaType][]int

// Has says whether replica i of type t succeeded.
func (c Completed) Has(t trainingv1.ReplicaType, i int) bool {
	_, ok := slices.BinarySearch(c[t], i)
	return ok
}

// String is the SucceededReplicasAnnotation value of c ("" when empty): types sorted.
func (c Completed) String() string {
	types := slices.Sorted(maps.Keys(c))
	parts := make([]string, 0, len(types))
	for _, t := range types {
		if len(c[t]) == 0 {
			continue
		}
		idx := make([]string, len(c[t]))
		for k, i := range c[t] {
			idx[k] = strconv.Itoa(i)
		}
		parts = append(parts, fmt.Sprintf("%s=%s", t, strings.Join(idx, ",")))
	}
	return strings.Join(parts, ";")
}

func (c Completed) add(t trainingv1.ReplicaType, i int) {
	if c.Has(t, i) {
		return
	}
	c[t] = append(c[t], i)
	slices.Sort(c[t])
}

// RecordedCompleted is the job's SucceededReplicasAnnotation. Entries that do not parse
// are left out: the annotation is rewritten from what is left and the pods there.
func RecordedCompleted(annotations map[string]string) Completed {
	out := Completed{}
	for _, part := range strings.Split(annotations[SucceededReplicasAnnotation], ";") {
		t, list, ok := strings.Cut(part, "=")
		if t = strings.TrimSpace(t); !ok || t == "" {
			continue
		}
		for _, s := range strings.Split(list, ",") {
			if i, err := strconv.Atoi(strings.TrimSpace(s)); err == nil && i >= 0 {
				out.add(trainingv1.ReplicaType(t), i)
			}
		}
	}
	return out
}

// CompletedReplicas is recorded plus the replicas whose pod succeeded now (its framework
// container exited 0), kept to the replica types and counts the job has today (a scaled
// down replica is forgotten). Pods without a replica index (MPI's launcher) are not
// recorded: their success ends the job.
func CompletedReplicas(fw engine.Framework, specs map[trainingv1.ReplicaType]*trainingv1.ReplicaSpec, pods []*corev1.Pod, recorded Completed) Completed {
	out := Completed{}
	keep := func(t trainingv1.ReplicaType, i int) bool {
		spec, ok := specs[t]
		return ok && spec != nil && i < int(engine.ReplicaCount(spec))
	}
	for t, list := range recorded {
		for _, i := range list {
			if keep(t, i) {
				out.add(t, i)
			}
		}
	}
	for _, p := range pods {
		t, ok := ReplicaTypeOf(specs, p)
		i, hasIndex := ReplicaIndexOf(p)
		if !ok || !hasIndex || !keep(t, i) {
			continue
		}
		if succeededPod(fw, p) {
			out.add(t, i)
		}
	}
	return out
}

// succeededPod says whether pod succeeded with its framework container's exit code 0.
func succeededPod(fw engine.Framework, p *corev1.Pod) bool {
	return EffectivePhase(p, fw.DefaultContainerName()) == corev1.PodSucceeded &&
		engine.ContainerExitCode(p, fw.DefaultContainerName()) == 0
}

// countCompleted adds to counts the completed replicas that have no pod any more: they
// succeeded, and stay counted so.
func countCompleted(specs map[trainingv1.ReplicaType]*trainingv1.ReplicaSpec, counts map[trainingv1.ReplicaType]*trainingv1.ReplicaStatus, pods []*corev1.Pod, done Completed) {
	present := map[trainingv1.ReplicaType]map[int]bool{}
	for _, p := range pods {
		t, ok := ReplicaTypeOf(specs, p)
		i, hasIndex := ReplicaIndexOf(p)
		if !ok || !hasIndex {
			continue
		}
		if present[t] == nil {
			present[t] = map[int]bool{}
		}
		present[t][i] = true
	}
	for _, t := range slices.SortedFunc(maps.Keys(done), func(a, b trainingv1.ReplicaType) int { return cmp.Compare(a, b) }) {
		if counts[t] == nil {
			continue
		}
		for _, i := range done[t] {
			if !present[t][i] {
				counts[t].Succeeded++
			}
		}
	}
}
