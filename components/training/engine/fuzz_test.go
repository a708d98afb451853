package engine_test

import (
	"encoding/json"
	"testing"

	trainingv1 "github.com/kfup/kfup/components/training/api/v1"
	"github.com/kfup/kfup/components/training/engine"
	"github.com/kfup/kfup/components/training/frameworks"
)

// FuzzDesired feeds arbitrary specs of every kind (kind picks the framework, doc is the
// job as JSON) to engine.Desired: it must not panic, and what it returns is bounded — at
// most trainingv1.MaxReplicas pods per replica type, no more services than pods, unique
// pod names, every child owned by the job. The seeds (testdata/fuzz/FuzzDesired) run as
// a normal test: go test -run FuzzDesired; go test -fuzz FuzzDesired explores further.
func FuzzDesired(f *testing.F) {
	f.Add(uint8(1), []byte(`{"metadata":{"name":"j","namespace":"ns","uid":"u"},"spec":{"pytorchReplicaSpecs":{"Master":{"template":{"spec":{"containers":[{"name":"pytorch","image":"i"}]}}},"Worker":{"replicas":2,"template":{"spec":{"containers":[{"name":"pytorch","image":"i"}]}}}}}}`))
	fws := frameworks.All(frameworks.Config{MPIDeliveryImage: "kfup", PyTorchInitImage: "kfup"})
	f.Fuzz(func(t *testing.T, kind uint8, doc []byte) {
		fw := fws[int(kind)%len(fws)]
		job := fw.NewJob()
		if err := json.Unmarshal(doc, job); err != nil {
			return // not a job of this kind: the API server would not store it
		}
		c, err := engine.Desired(fw, job, nil)
		if err != nil {
			return // refused with a reason: the reconciler fails the job with it
		}
		types := len(fw.ReplicaSpecs(job))
		if len(c.Pods) > types*trainingv1.MaxReplicas {
			t.Fatalf("%s with %d replica types: %d pods, more than %d per type", fw.Kind(), types, len(c.Pods), trainingv1.MaxReplicas)
		}
		if len(c.Services) > len(c.Pods) {
			t.Fatalf("%s: %d services for %d pods", fw.Kind(), len(c.Services), len(c.Pods))
		}
		names := map[string]bool{}
		for _, p := range c.Pods {
			if names[p.Name] {
				t.Fatalf("%s: two pods named %q", fw.Kind(), p.Name)
			}
			names[p.Name] = true
		}
		for _, o := range append(append(objects(c.Pods), objects(c.Services)...), c.Extras...) {
			refs := o.GetOwnerReferences()
			if len(refs) != 1 || refs[0].UID != job.GetUID() || refs[0].Controller == nil || !*refs[0].Controller {
				t.Fatalf("%s: child %s has owner references %+v, want the job as controller", fw.Kind(), o.GetName(), refs)
			}
		}
	})
}

func objects[T engine.Object](in []T) []engine.Object {
	out := make([]engine.Object, 0, len(in))
	for _, o := range in {
		out = append(out, o)
	}
	return out
}
