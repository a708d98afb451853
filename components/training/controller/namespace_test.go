package controller_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/manager"

	trainingv1 "github.com/kfup/kfup/components/training/api/v1"
	"github.com/kfup/kfup/components/training/controller"
	kfupmanager "github.com/kfup/kfup/internal/manager"
)

// A manager restricted to some namespaces (kfup manager --namespace) runs the jobs there
// and leaves the jobs of every other namespace alone.
func TestManagerRestrictedToNamespaces(t *testing.T) {
	mine, other := env.Namespace(t), env.Namespace(t)
	env.StartManager(t, func(mgr manager.Manager) error {
		return kfupmanager.Setup(mgr, controller.Controllers(testConfig())...)
	}, mine)
	create(t, masterWorker("here", mine, trainingv1.RestartPolicyOnFailure).Obj())
	create(t, masterWorker("there", other, trainingv1.RestartPolicyOnFailure).Obj())

	waitPods(t, mine, "here", "here-master-0", "here-worker-0")
	consistently(t, "no pods and no status for the job in the other namespace", 2*time.Second, func(context.Context) (bool, string) {
		ps := podNames(pods(t, other, "there"))
		j := getJob(t, other, "there")
		return len(ps) == 0 && len(j.Status.Conditions) == 0, fmt.Sprintf("pods %v, conditions %s", ps, conditions(&j.Status))
	})
}
