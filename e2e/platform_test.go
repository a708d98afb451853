//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kfup/kfup/bootstrap"
)

// The cluster was created with the default profile (minimal): the manager runs healthy,
// `kfup test` passes and `kfup status -o json` reports every component healthy.
func TestMinimalProfile(t *testing.T) {
	d, err := clientset.AppsV1().Deployments("kfup-system").Get(context.Background(), "kfup-manager", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("manager deployment: %v", err)
	}
	if d.Status.AvailableReplicas < 1 || !available(d) {
		t.Fatalf("manager not available: %+v", d.Status)
	}
	r := mustKfup(t, "test", "--name", clusterName)
	if !strings.Contains(r.stdout, "✓ pass  training") || !strings.Contains(r.stdout, "✓ pass  manager") {
		t.Fatalf("kfup test output:\n%s", r.stdout)
	}
	st := statusOf(t, clusterName)
	if st.State != bootstrap.StateRunning || len(st.Components) != 2 {
		t.Fatalf("status: %+v", st)
	}
	for _, c := range st.Components {
		if !c.Healthy {
			t.Errorf("component %s unhealthy: %s", c.Name, c.Message)
		}
	}
	js := mustKfup(t, "test", "--name", clusterName, "--component", "manager", "-o", "json")
	var res []bootstrap.ComponentHealth
	if err := json.Unmarshal([]byte(js.stdout), &res); err != nil || len(res) != 1 || !res[0].Healthy {
		t.Fatalf("kfup test --component manager -o json: %v %s", err, js.stdout)
	}
}

func available(d *appsv1.Deployment) bool {
	for _, c := range d.Status.Conditions {
		if c.Type == appsv1.DeploymentAvailable && c.Status == "True" {
			return true
		}
	}
	return false
}
