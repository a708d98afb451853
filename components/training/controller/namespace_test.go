package controller_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/kfup/kfup/components"
	managercomponent "github.com/kfup/kfup/components/manager"
	trainingv1 "github.com/kfup/kfup/components/training/api/v1"
	"github.com/kfup/kfup/components/training/controller"
	"github.com/kfup/kfup/components/training/frameworks"
	"github.com/kfup/kfup/components/training/frameworks/mpi"
)

// A manager restricted to some namespaces (kfup manager --namespace) runs the jobs there
// and leaves the jobs of every other namespace alone.
func TestManagerRestrictedToNamespaces(t *testing.T) {
	mine, other := env.Namespace(t), env.Namespace(t)
	env.StartManager(t, &controller.API{Config: testConfig(), Namespace: []string{mine}})
	create(t, masterWorker("here", mine, trainingv1.RestartPolicyOnFailure).Obj())
	create(t, masterWorker("there", other, trainingv1.RestartPolicyOnFailure).Obj())

	waitPods(t, mine, "here", "here-master-0", "here-worker-0")
	consistently(t, "no pods and no status for the job in the other namespace", 2*time.Second, func(context.Context) (bool, string) {
		ps := podNames(pods(t, other, "there"))
		j := getJob(t, other, "there")
		return len(ps) == 0 && len(j.Status.Conditions) == 0, fmt.Sprintf("pods %v, conditions %s", ps, conditions(&j.Status))
	})
}

// The manager runs on nothing but the RBAC kfup installs for components.training.namespaces
// (impersonating its service account): an MPIJob there gets its pods, services, hostfile
// ConfigMap and launcher RBAC (which the manager may grant only where it holds those
// rights itself), events and status through Succeeded.
func TestManagerRunsOnItsNamespacedRBAC(t *testing.T) {
	ns := env.Namespace(t)
	ctx := context.Background()
	s := managercomponent.DefaultSettings()
	s.Namespaces = []string{ns}
	rbac, err := managercomponent.RBAC(s)
	if err != nil {
		t.Fatal(err)
	}
	if err := components.Apply(ctx, env.Client, managercomponent.Name, rbac); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = components.Delete(ctx, env.Client, rbac) })

	cfg := rest.CopyConfig(env.Config)
	cfg.Impersonate = rest.ImpersonationConfig{
		UserName: "system:serviceaccount:" + managercomponent.Namespace + ":" + managercomponent.AppName,
		Groups:   []string{"system:serviceaccounts", "system:serviceaccounts:" + managercomponent.Namespace, "system:authenticated"},
	}
	tc := testConfig()
	env.StartManagerAs(t, cfg, &controller.API{Config: tc, Namespace: []string{ns}})

	fw, _ := frameworks.ForKind(tc.Frameworks(), "MPIJob")
	job := fw.NewJob()
	doc := fmt.Sprintf(`apiVersion: kubeflow.org/v1
kind: MPIJob
metadata: {name: k, namespace: %s}
spec:
  mpiReplicaSpecs:
    Launcher: {replicas: 1, template: {spec: {containers: [{name: mpi, image: img, command: [mpirun]}]}}}
    Worker: {replicas: 2, template: {spec: {containers: [{name: mpi, image: img}]}}}`, ns)
	if err := yaml.UnmarshalStrict([]byte(doc), job); err != nil {
		t.Fatal(err)
	}
	create(t, job.(client.Object))
	waitPods(t, ns, "k", "k-launcher", "k-worker-0", "k-worker-1")
	for obj, name := range map[client.Object]string{
		&corev1.ConfigMap{}: mpi.ConfigMapName("k"), &rbacv1.Role{}: mpi.LauncherName("k"), &rbacv1.RoleBinding{}: mpi.LauncherName("k"),
	} {
		eventually(t, fmt.Sprintf("%T %s", obj, name), func(ctx context.Context) (bool, string) {
			err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, obj)
			return err == nil, fmt.Sprint(err)
		})
	}
	run(t, ns, "k-launcher", "mpi")
	waitKindCondition(t, fw, ns, trainingv1.JobRunning, "MPIJobRunning")
	succeed(t, ns, "k-launcher", "mpi")
	waitKindCondition(t, fw, ns, trainingv1.JobSucceeded, "MPIJobSucceeded")
}
