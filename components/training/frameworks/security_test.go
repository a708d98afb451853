package frameworks_test

import (
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	trainingv1 "github.com/kfup/kfup/components/training/api/v1"
	"github.com/kfup/kfup/components/training/controller/policy"
	"github.com/kfup/kfup/components/training/engine"
	"github.com/kfup/kfup/components/training/frameworks"
)

// restrictedViolations lists what keeps container c of a pod with pod-level security
// context psc from the "restricted" Pod Security Standard's container checks (the ones a
// container's fields decide; the pod's volumes are checked apart).
func restrictedViolations(psc *corev1.PodSecurityContext, c *corev1.SecurityContext) []string {
	if psc == nil {
		psc = &corev1.PodSecurityContext{}
	}
	if c == nil {
		c = &corev1.SecurityContext{}
	}
	var out []string
	if ptr.Deref(c.Privileged, false) {
		out = append(out, "privileged")
	}
	if ptr.Deref(c.AllowPrivilegeEscalation, true) {
		out = append(out, "allowPrivilegeEscalation != false")
	}
	if c.Capabilities == nil || !slices.Contains(c.Capabilities.Drop, "ALL") {
		out = append(out, "capabilities.drop lacks ALL")
	} else if slices.ContainsFunc(c.Capabilities.Add, func(a corev1.Capability) bool { return a != "NET_BIND_SERVICE" }) {
		out = append(out, "capabilities.add beyond NET_BIND_SERVICE")
	}
	if c.RunAsNonRoot == nil && !ptr.Deref(psc.RunAsNonRoot, false) || c.RunAsNonRoot != nil && !*c.RunAsNonRoot {
		out = append(out, "runAsNonRoot != true")
	}
	if ptr.Deref(c.RunAsUser, 1) == 0 || c.RunAsUser == nil && ptr.Deref(psc.RunAsUser, 1) == 0 {
		out = append(out, "runAsUser = 0")
	}
	seccomp := c.SeccompProfile
	if seccomp == nil {
		seccomp = psc.SeccompProfile
	}
	if seccomp == nil || (seccomp.Type != corev1.SeccompProfileTypeRuntimeDefault && seccomp.Type != corev1.SeccompProfileTypeLocalhost) {
		out = append(out, "seccompProfile not RuntimeDefault or Localhost")
	}
	return out
}

// compliantTemplate is a pod template whose own container passes the restricted checks.
func compliantTemplate(container string) string {
	return `{spec: {containers: [{name: ` + container + `, image: img, securityContext: {runAsNonRoot: true, allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}, seccompProfile: {type: RuntimeDefault}}}]}}`
}

// A job whose own containers comply with the restricted Pod Security Standard gets pods
// that comply as a whole: the containers kfup adds (PyTorch's init-pytorch, MPI's
// kubectl-delivery), from upstream's images or kfup's own, pass the same checks, and use
// only volume types the standard allows.
func TestHelperContainersAreRestricted(t *testing.T) {
	kfupImage := frameworks.Config{
		PyTorchInitImage: "kfup/kfup:dev", PyTorchInitCommand: []string{"/kfup", "agent", "wait-for-host"},
		MPIDeliveryImage: "kfup/kfup:dev", MPIDeliveryCommand: []string{"/kfup", "agent", "mpi-delivery"},
	}
	jobs := map[string]string{
		trainingv1.PyTorchJobKind: `{metadata: {name: j, namespace: ns}, spec: {pytorchReplicaSpecs: {Master: {template: ` + compliantTemplate("pytorch") +
			`}, Worker: {replicas: 2, template: ` + compliantTemplate("pytorch") + `}}}}`,
		trainingv1.MPIJobKind: `{metadata: {name: j, namespace: ns}, spec: {mpiReplicaSpecs: {Launcher: {template: ` + compliantTemplate("mpi") +
			`}, Worker: {replicas: 2, template: ` + compliantTemplate("mpi") + `}}}}`,
	}
	for cfgName, cfg := range map[string]frameworks.Config{"upstream images": {}, "kfup's image": kfupImage} {
		for kind, doc := range jobs {
			t.Run(cfgName+"/"+kind, func(t *testing.T) {
				fw, ok := frameworks.ForKind(cfg, kind)
				if !ok {
					t.Fatalf("no framework for %s", kind)
				}
				job := fw.NewJob()
				if err := yaml.UnmarshalStrict([]byte(doc), job); err != nil {
					t.Fatal(err)
				}
				pods, err := engine.DesiredPods(fw, job)
				if err != nil {
					t.Fatal(err)
				}
				helpers := 0
				for _, p := range pods {
					for _, c := range slices.Concat(p.Spec.InitContainers, p.Spec.Containers) {
						if c.Image != "img" {
							helpers++
						}
						if v := restrictedViolations(p.Spec.SecurityContext, c.SecurityContext); len(v) > 0 {
							t.Errorf("pod %s, container %s (image %s): %s", p.Name, c.Name, c.Image, strings.Join(v, "; "))
						}
					}
					for _, v := range p.Spec.Volumes {
						if v.EmptyDir == nil && v.ConfigMap == nil {
							t.Errorf("pod %s: volume %s is neither an emptyDir nor a ConfigMap", p.Name, v.Name)
						}
					}
				}
				if helpers == 0 {
					t.Fatalf("no helper container in the pods of %s: the test checks nothing", kind)
				}
			})
		}
	}
	for name, cmd := range map[string][]string{"busybox loop": nil, "kfup agent": {"/kfup", "agent", "quit-sidecar"}} {
		c := policy.StopSidecarContainer("img", cmd)
		if v := restrictedViolations(nil, c.SecurityContext); len(v) > 0 {
			t.Errorf("sidecar stopper (%s): %s", name, strings.Join(v, "; "))
		}
	}
}
