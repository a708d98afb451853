package v1_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	trainingv1 "github.com/kfup/kfup/components/training/api/v1"
	"github.com/kfup/kfup/components/training/builders"
	trainingcontroller "github.com/kfup/kfup/components/training/controller"
	"github.com/kfup/kfup/internal/conformance"
	"github.com/kfup/kfup/internal/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) { os.Exit(testenv.Main(m, &env, trainingcontroller.NewAPI())) }

const img = "kfup-offline/python-ml:bookworm"

func validJob(ns string) *builders.PyTorchJobWrapper {
	return builders.MakePyTorchJob("mnist", ns).
		Replica("Master", builders.MakeReplica(1, "pytorch", img, "python3", "train.py").RestartPolicy(trainingv1.RestartPolicyOnFailure)).
		Replica("Worker", builders.MakeReplica(2, "pytorch", img, "python3", "train.py").RestartPolicy(trainingv1.RestartPolicyExitCode))
}

func TestValidPyTorchJobIsAccepted(t *testing.T) {
	ns := env.Namespace(t)
	job := validJob(ns).Obj()
	if err := env.Client.Create(context.Background(), job); err != nil {
		t.Fatalf("valid PyTorchJob rejected: %v", err)
	}
	got := &trainingv1.PyTorchJob{}
	if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(job), got); err != nil {
		t.Fatal(err)
	}
	if *got.Spec.PyTorchReplicaSpecs["Worker"].Replicas != 2 || got.Spec.RunPolicy.Suspend == nil || *got.Spec.RunPolicy.Suspend {
		t.Fatalf("round trip lost fields or defaults: %+v", got.Spec)
	}
}

// The API server's schema validation is real: each invalid job is rejected with the field
// and the reason named.
func TestInvalidPyTorchJobsAreRejected(t *testing.T) {
	ns := env.Namespace(t)
	cases := []struct {
		name      string
		mutate    func(*trainingv1.PyTorchJob)
		wantInMsg []string
	}{
		{
			name:      "negative replicas",
			mutate:    func(j *trainingv1.PyTorchJob) { j.Spec.PyTorchReplicaSpecs["Worker"].Replicas = ptr.To[int32](-1) },
			wantInMsg: []string{"spec.pytorchReplicaSpecs.Worker.replicas", "greater than or equal to 0"},
		},
		{
			name: "unknown replica type",
			mutate: func(j *trainingv1.PyTorchJob) {
				j.Spec.PyTorchReplicaSpecs["Chief"] = builders.MakeReplica(1, "pytorch", img).Obj()
			},
			wantInMsg: []string{"spec.pytorchReplicaSpecs", "replica types of a PyTorchJob are Master, Worker"},
		},
		{
			name: "framework container missing",
			mutate: func(j *trainingv1.PyTorchJob) {
				j.Spec.PyTorchReplicaSpecs["Worker"].Template.Spec.Containers[0].Name = "trainer"
			},
			wantInMsg: []string{"spec.pytorchReplicaSpecs", "container named 'pytorch'"},
		},
		{
			name:      "invalid restart policy",
			mutate:    func(j *trainingv1.PyTorchJob) { j.Spec.PyTorchReplicaSpecs["Worker"].RestartPolicy = "Sometimes" },
			wantInMsg: []string{"spec.pytorchReplicaSpecs.Worker.restartPolicy", `"Sometimes"`},
		},
		{
			name:      "two masters",
			mutate:    func(j *trainingv1.PyTorchJob) { j.Spec.PyTorchReplicaSpecs["Master"].Replicas = ptr.To[int32](2) },
			wantInMsg: []string{"Master replicas must be 1"},
		},
		{
			name:      "name not a DNS-1035 label",
			mutate:    func(j *trainingv1.PyTorchJob) { j.Name = "1st-job" },
			wantInMsg: []string{"DNS-1035"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			job := validJob(ns).Obj()
			tc.mutate(job)
			err := env.Client.Create(context.Background(), job)
			if err == nil {
				t.Fatalf("invalid job accepted")
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

// Every upstream example and the seed TFJob apply unchanged.
func TestConformanceExamplesApplyUnchanged(t *testing.T) {
	dir := conformance.Dir(t)
	files, _ := filepath.Glob(filepath.Join(dir, "training", "*.yaml"))
	files = append(files, filepath.Join(dir, "seed", "tfjob.yaml"))
	if len(files) < 2 {
		t.Fatalf("no conformance files under %s", dir)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			u := &unstructured.Unstructured{}
			if err := yaml.Unmarshal(b, &u.Object); err != nil {
				t.Fatal(err)
			}
			ns := u.GetNamespace()
			if ns == "" {
				ns = env.Namespace(t)
				u.SetNamespace(ns)
			} else {
				ensureNamespace(t, ns)
			}
			if err := env.Client.Create(context.Background(), u); err != nil {
				t.Fatalf("%s rejected: %v", filepath.Base(f), err)
			}
		})
	}
}

func ensureNamespace(t *testing.T, name string) {
	err := env.Client.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
}
