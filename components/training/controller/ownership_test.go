package controller_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	trainingv1 "github.com/kfup/kfup/components/training/api/v1"
	"github.com/kfup/kfup/components/training/controller/policy"
	"github.com/kfup/kfup/components/training/frameworks"
)

// An object that holds the name of one of a job's children and is not the job's — a
// user's ConfigMap "app-config" beside an MPIJob "app", a pod of a worker's name — fails
// the job with reason ResourceExists naming it, and is left exactly as it was: not
// updated, not adopted, not deleted, and the MPI launcher gets no exec right on it. The
// pods the job did create are deleted.
func TestForeignObjectOfAChildsNameFailsTheJob(t *testing.T) {
	cfg := testConfig()
	start(t, cfg)
	mpiDoc := `
spec:
  mpiReplicaSpecs:
    Launcher: {template: {spec: {containers: [{name: mpi, image: img, command: [mpirun]}]}}}
    Worker: {replicas: 2, template: {spec: {containers: [{name: mpi, image: img}]}}}`
	ptDoc := `
spec:
  pytorchReplicaSpecs:
    Master: {template: {spec: {containers: [{name: pytorch, image: img}]}}}
    Worker: {replicas: 2, template: {spec: {containers: [{name: pytorch, image: img}]}}}`
	userPod := func(name string) client.Object {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"team": "db"}},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "db", Image: "img"}}}}
	}
	cases := []struct {
		name, kind, job, doc string
		foreign              client.Object
		wantInMessage        string
	}{
		{"MPIJob app, a user's ConfigMap app-config", "MPIJob", "app", mpiDoc,
			&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "app-config", Labels: map[string]string{"app": "app"}}, Data: map[string]string{"hostfile": "mine"}},
			"ConfigMap app-config already exists and is not the job's"},
		{"MPIJob, a user's pod of a worker's name", "MPIJob", "mw", mpiDoc, userPod("mw-worker-1"),
			"Pod mw-worker-1 already exists and is not the job's"},
		{"PyTorchJob, a user's pod of a worker's name", "PyTorchJob", "pw", ptDoc, userPod("pw-worker-1"),
			"Pod pw-worker-1 already exists and is not the job's"},
		{"PyTorchJob, a user's service of the master's name", "PyTorchJob", "ps", ptDoc,
			&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "ps-master-0"}, Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80}}}},
			"Service ps-master-0 already exists and is not the job's"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ns := env.Namespace(t)
			ctx := context.Background()
			tc.foreign.SetNamespace(ns)
			create(t, tc.foreign)
			before := tc.foreign.DeepCopyObject().(client.Object)

			fw, _ := frameworks.ForKind(cfg.Frameworks(), tc.kind)
			job := fw.NewJob()
			doc := fmt.Sprintf("apiVersion: kubeflow.org/v1\nkind: %s\nmetadata: {name: %s, namespace: %s}%s", tc.kind, tc.job, ns, tc.doc)
			if err := yaml.UnmarshalStrict([]byte(doc), job); err != nil {
				t.Fatal(err)
			}
			create(t, job.(client.Object))

			eventually(t, "the job Failed(ResourceExists)", func(ctx context.Context) (bool, string) {
				if err := env.Client.Get(ctx, client.ObjectKeyFromObject(job.(client.Object)), job.(client.Object)); err != nil {
					return false, err.Error()
				}
				c := policy.FindCondition(fw.Status(job), trainingv1.JobFailed)
				if c == nil || c.Status != corev1.ConditionTrue || c.Reason != policy.ReasonResourceExists {
					return false, conditions(fw.Status(job))
				}
				if !strings.Contains(c.Message, tc.wantInMessage) {
					return false, "message " + c.Message
				}
				return true, ""
			})
			waitEvents(t, ns, tc.job, "Warning "+policy.ReasonResourceExists)

			// the foreign object stays exactly as it was, also after more reconciles
			consistently(t, "the foreign object untouched", 2*time.Second, func(ctx context.Context) (bool, string) {
				now := before.DeepCopyObject().(client.Object)
				if err := env.Client.Get(ctx, client.ObjectKeyFromObject(before), now); err != nil {
					return false, err.Error()
				}
				if now.GetResourceVersion() != before.GetResourceVersion() || now.GetDeletionTimestamp() != nil {
					return false, fmt.Sprintf("resourceVersion %s -> %s, deletion %v, owners %v", before.GetResourceVersion(), now.GetResourceVersion(), now.GetDeletionTimestamp(), now.GetOwnerReferences())
				}
				return true, ""
			})
			// the job's own pods are gone (deleted, or never created)
			eventually(t, "no pod of the job left", func(ctx context.Context) (bool, string) {
				var l corev1.PodList
				if err := env.Client.List(ctx, &l, client.InNamespace(ns)); err != nil {
					return false, err.Error()
				}
				var left []string
				for _, p := range l.Items {
					if metav1.IsControlledBy(&p, job.(client.Object)) && p.DeletionTimestamp == nil {
						left = append(left, p.Name)
					}
				}
				return len(left) == 0, fmt.Sprintf("pods %v", left)
			})
			// the launcher may exec into no pod the job does not control
			var role rbacv1.Role
			err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: tc.job + "-launcher"}, &role)
			if err != nil && !apierrors.IsNotFound(err) {
				t.Fatal(err)
			}
			for _, r := range role.Rules {
				if slices.Contains(r.Resources, "pods/exec") && slices.Contains(r.ResourceNames, before.GetName()) {
					t.Errorf("the launcher's Role grants exec into the foreign pod %s: %+v", before.GetName(), role.Rules)
				}
			}
		})
	}
}

// An object of a child's name that says it is the job's — no controller, the job's labels,
// as an earlier job of that name deleted with --cascade=orphan leaves its extras — is
// adopted: an MPIJob runs with the ConfigMap it finds, now owned and rewritten by it.
func TestOrphanedExtraIsAdopted(t *testing.T) {
	cfg := testConfig()
	start(t, cfg)
	ns := env.Namespace(t)
	create(t, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "orph-config", Namespace: ns, Labels: map[string]string{
		trainingv1.OperatorNameLabel: "mpijob-controller", trainingv1.JobNameLabel: "orph",
	}}, Data: map[string]string{"hostfile": "stale"}})
	fw, _ := frameworks.ForKind(cfg.Frameworks(), "MPIJob")
	job := fw.NewJob()
	doc := `apiVersion: kubeflow.org/v1
kind: MPIJob
metadata: {name: orph, namespace: ` + ns + `}
spec:
  mpiReplicaSpecs:
    Launcher: {template: {spec: {containers: [{name: mpi, image: img, command: [mpirun]}]}}}
    Worker: {replicas: 1, template: {spec: {containers: [{name: mpi, image: img}]}}}`
	if err := yaml.UnmarshalStrict([]byte(doc), job); err != nil {
		t.Fatal(err)
	}
	create(t, job.(client.Object))
	waitPods(t, ns, "orph", "orph-launcher", "orph-worker-0")
	eventually(t, "the ConfigMap adopted and rewritten", func(ctx context.Context) (bool, string) {
		var cm corev1.ConfigMap
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "orph-config"}, &cm); err != nil {
			return false, err.Error()
		}
		c := metav1.GetControllerOf(&cm)
		return c != nil && c.UID == job.GetUID() && cm.Data["hostfile"] == "orph-worker-0 slots=1\n",
			fmt.Sprintf("controller %v, hostfile %q", c, cm.Data["hostfile"])
	})
}
