package controller_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	trainingv1 "github.com/kfup/kfup/components/training/api/v1"
	kfuprun "github.com/kfup/kfup/components/training/run"
)

// kfup run's jobs, of every kind, are accepted by the API server (schema and CEL rules)
// and the controllers make their pods, which the API server admits with kfup run's init
// container and native outputs sidecar — in a namespace enforcing Pod Security
// "restricted" too, when the user's own container complies.
func TestRunJobsAreAdmitted(t *testing.T) {
	start(t, testConfig())
	plain, restricted := env.Namespace(t), restrictedNamespace(t)
	for _, tt := range []struct {
		kind          string
		workers, ps   int32
		procs         int32
		pods          []string
		restrictedToo bool
	}{
		{kind: "pytorch", workers: 2, pods: []string{"-master-0", "-worker-0", "-worker-1"}, restrictedToo: true},
		{kind: "tfjob", workers: 2, ps: 1, pods: []string{"-ps-0", "-worker-0", "-worker-1"}},
		{kind: "xgboost", workers: 1, pods: []string{"-master-0", "-worker-0"}},
		{kind: "mpi", workers: 2, procs: 2, pods: []string{"-launcher", "-worker-0", "-worker-1"}, restrictedToo: true},
		{kind: "jax", workers: 2, pods: []string{"-worker-0", "-worker-1"}},
		{kind: "paddle", workers: 1, pods: []string{"-worker-0"}},
	} {
		namespaces := []string{plain}
		if tt.restrictedToo {
			namespaces = append(namespaces, restricted)
		}
		for _, ns := range namespaces {
			name := "run-" + tt.kind
			s := &kfuprun.Spec{Name: name, Namespace: ns, Kind: tt.kind, Image: "img", AgentImage: "kfup:test",
				Command: []string{"python3", "train.py"}, Workers: tt.workers, PS: tt.ps, ProcsPerWorker: tt.procs,
				Digest: "sha256:" + fmt.Sprintf("%064d", 7), Chunks: 3, TTL: time.Hour}
			job, err := kfuprun.Job(s)
			if err != nil {
				t.Fatal(err)
			}
			if ns == restricted {
				comply(job)
			}
			if err := env.Client.Create(context.Background(), job); err != nil {
				t.Fatalf("%s in %s: the API server refused kfup run's job: %v", tt.kind, ns, err)
			}
			var want []string
			for _, p := range tt.pods {
				want = append(want, name+p)
			}
			for _, p := range waitPods(t, ns, name, want...) {
				if len(p.Spec.InitContainers) < 2 {
					t.Errorf("%s: init containers %v", p.Name, p.Spec.InitContainers)
					continue
				}
				names := map[string]*corev1.Container{}
				for i := range p.Spec.InitContainers {
					names[p.Spec.InitContainers[i].Name] = &p.Spec.InitContainers[i]
				}
				if names[kfuprun.UnpackContainer] == nil || names[kfuprun.OutputsContainer] == nil || names[kfuprun.OutputsContainer].RestartPolicy == nil {
					t.Errorf("%s: kfup run's helpers missing: %v", p.Name, p.Spec.InitContainers)
				}
				if p.Labels[kfuprun.RunLabel] != name {
					t.Errorf("%s: labels %v", p.Name, p.Labels)
				}
			}
		}
	}
}

// comply gives the user's containers of job a security context that passes the
// restricted checks, as a user of such a namespace must.
func comply(job client.Object) {
	var specs map[trainingv1.ReplicaType]*trainingv1.ReplicaSpec
	switch j := job.(type) {
	case *trainingv1.PyTorchJob:
		specs = j.Spec.PyTorchReplicaSpecs
	case *trainingv1.MPIJob:
		specs = j.Spec.MPIReplicaSpecs
	}
	for _, rs := range specs {
		for i := range rs.Template.Spec.Containers {
			rs.Template.Spec.Containers[i].SecurityContext = &corev1.SecurityContext{
				RunAsNonRoot: ptr.To(true), RunAsUser: ptr.To[int64](1000), AllowPrivilegeEscalation: ptr.To(false),
				Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}, SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
			}
		}
	}
}
