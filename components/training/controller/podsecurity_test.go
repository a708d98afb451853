package controller_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/kfup/kfup/components/training/controller/policy"
	"github.com/kfup/kfup/components/training/frameworks"
)

// restrictedNamespace creates a namespace that enforces the restricted Pod Security
// Standard, and checks that the API server does enforce it (envtest's kube-apiserver runs
// the PodSecurity admission plugin by default): a bare pod without a security context is
// refused there.
func restrictedNamespace(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "kfup-restricted-", Labels: map[string]string{
		"pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/enforce-version": "latest",
	}}}
	if err := env.Client.Create(ctx, ns); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Client.Delete(context.Background(), ns) })
	bare := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "bare", Namespace: ns.Name},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "img"}}}}
	err := env.Client.Create(ctx, bare)
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "violates PodSecurity") {
		t.Fatalf("a non-compliant pod in a restricted namespace: %v; want it refused by PodSecurity admission", err)
	}
	return ns.Name
}

// compliant is a container that passes the restricted checks on its own.
func compliant(name string) string {
	return `{name: ` + name + `, image: img, securityContext: {runAsNonRoot: true, runAsUser: 1000, allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}, seccompProfile: {type: RuntimeDefault}}}`
}

// In a namespace enforcing Pod Security "restricted", a job whose own containers comply
// runs: the pods with kfup's helper containers (PyTorch's init-pytorch, MPI's
// kubectl-delivery) are admitted, and so is the ephemeral container that stops a
// lingering istio-proxy.
func TestRestrictedNamespaceAdmitsCompliantJobs(t *testing.T) {
	cfg := testConfig()
	start(t, cfg)
	ns := restrictedNamespace(t)
	jobs := []struct {
		kind, name, doc string
		pods            []string
	}{
		{"PyTorchJob", "pt", `
spec:
  pytorchReplicaSpecs:
    Master: {template: {spec: {containers: [` + compliant("pytorch") + `, ` + compliant("istio-proxy") + `]}}}
    Worker: {replicas: 1, template: {spec: {containers: [` + compliant("pytorch") + `]}}}`,
			[]string{"pt-master-0", "pt-worker-0"}},
		{"MPIJob", "mp", `
spec:
  mpiReplicaSpecs:
    Launcher: {template: {spec: {containers: [` + compliant("mpi") + `]}}}
    Worker: {replicas: 1, template: {spec: {containers: [` + compliant("mpi") + `]}}}`,
			[]string{"mp-launcher", "mp-worker-0"}},
	}
	for _, j := range jobs {
		fw, _ := frameworks.ForKind(cfg.Frameworks(), j.kind)
		job := fw.NewJob()
		doc := fmt.Sprintf("apiVersion: kubeflow.org/v1\nkind: %s\nmetadata: {name: %s, namespace: %s}%s", j.kind, j.name, ns, j.doc)
		if err := yaml.UnmarshalStrict([]byte(doc), job); err != nil {
			t.Fatal(err)
		}
		create(t, job.(client.Object))
	}
	for _, j := range jobs {
		waitPods(t, ns, j.name, j.pods...)
	}
	helpers := map[string]string{"pt-worker-0": "init-pytorch", "mp-launcher": "kubectl-delivery"}
	for pod, helper := range helpers {
		var p corev1.Pod
		if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: pod}, &p); err != nil {
			t.Fatal(err)
		}
		if len(p.Spec.InitContainers) != 1 || p.Spec.InitContainers[0].Name != helper {
			t.Errorf("pod %s has init containers %v, want %s: the test checks nothing", pod, p.Spec.InitContainers, helper)
		}
	}

	setPod(t, ns, "pt-master-0", corev1.PodRunning, map[string]corev1.ContainerState{"pytorch": exitedState(0), "istio-proxy": runningState()})
	eventually(t, "the sidecar stopper admitted", func(ctx context.Context) (bool, string) {
		p := &corev1.Pod{}
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "pt-master-0"}, p); err != nil {
			return false, err.Error()
		}
		for _, c := range p.Spec.EphemeralContainers {
			if c.Name == policy.StopSidecarContainerName && c.SecurityContext != nil && ptr.Deref(c.SecurityContext.RunAsNonRoot, false) {
				return true, ""
			}
		}
		return false, fmt.Sprintf("ephemeral containers %v", p.Spec.EphemeralContainers)
	})
	waitEvents(t, ns, "pt", "Normal StoppingSidecar")
}
