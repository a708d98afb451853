package engine_test

import (
	"strings"
	"testing"

	"k8s.io/utils/ptr"

	trainingv1 "github.com/kfup/kfup/components/training/api/v1"
	"github.com/kfup/kfup/components/training/engine"
)

// A job stored before the API server bounded replica counts (or written around it) does
// not make the engine build more than trainingv1.MaxReplicas pods of one type: Desired,
// DesiredPods, DesiredServices and Replicas refuse it and say which field to lower.
func TestReplicaCountsAreBounded(t *testing.T) {
	cases := []struct {
		name     string
		workers  int32
		wantPods int    // when wantErr is empty
		wantErr  string // in the error
	}{
		{name: "at the limit", workers: trainingv1.MaxReplicas, wantPods: trainingv1.MaxReplicas + 1},
		{name: "past the limit", workers: trainingv1.MaxReplicas + 1, wantErr: "has 1001 Worker replicas: a replica type has 0 to 1000; lower spec.*ReplicaSpecs.Worker.replicas"},
		{name: "far past the limit", workers: 1 << 30, wantErr: "lower spec.*ReplicaSpecs.Worker.replicas"},
		{name: "negative", workers: -1, wantErr: "has -1 Worker replicas"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			job := decode(t, twoTypes)
			job.Spec.PyTorchReplicaSpecs["Worker"].Replicas = ptr.To(tc.workers)
			calls := map[string]func() (int, error){
				"Desired": func() (int, error) {
					c, err := engine.Desired(fake{}, job, nil)
					if err != nil {
						return 0, err
					}
					return len(c.Pods), nil
				},
				"DesiredPods": func() (int, error) {
					p, err := engine.DesiredPods(fake{}, job)
					return len(p), err
				},
				"DesiredServices": func() (int, error) {
					s, err := engine.DesiredServices(fake{}, job)
					return len(s), err
				},
				"Replicas": func() (int, error) {
					r, err := engine.Replicas(fake{}, job)
					return len(r), err
				},
			}
			for name, call := range calls {
				n, err := call()
				switch {
				case tc.wantErr == "" && err != nil:
					t.Errorf("%s: %v", name, err)
				case tc.wantErr == "" && n != tc.wantPods:
					t.Errorf("%s: %d objects, want %d", name, n, tc.wantPods)
				case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
					t.Errorf("%s: error %v, want one containing %q", name, err, tc.wantErr)
				}
			}
		})
	}
}
