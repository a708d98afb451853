//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kfup/kfup/bootstrap"
	"github.com/kfup/kfup/manifests"
)

// The cluster was created with the default profile (minimal: training, tuning, serving,
// pipelines, kfup's ingress and the manager): the manager runs healthy,
// `kfup test` passes and `kfup status -o json` reports every component healthy.
func TestMinimalProfile(t *testing.T) {
	d, err := clientset.AppsV1().Deployments("kfup-system").Get(context.Background(), "kfup-manager", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("manager deployment: %v", err)
	}
	if d.Status.AvailableReplicas < 1 || !available(d) {
		t.Fatalf("manager not available: %+v", d.Status)
	}
	smoke := time.Now()
	r := mustKfup(t, "test", "--name", clusterName)
	t.Logf("kfup test (serving's smoke serves a tiny model in Standard mode): %s", time.Since(smoke).Round(100*time.Millisecond))
	if !strings.Contains(r.stdout, "✓ pass  training") || !strings.Contains(r.stdout, "✓ pass  tuning") ||
		!strings.Contains(r.stdout, "✓ pass  serving") || !strings.Contains(r.stdout, "✓ pass  pipelines") ||
		!strings.Contains(r.stdout, "✓ pass  ingress") || !strings.Contains(r.stdout, "✓ pass  manager") {
		t.Fatalf("kfup test output:\n%s", r.stdout)
	}
	st := statusOf(t, clusterName)
	var names []string
	for _, c := range st.Components {
		names = append(names, c.Name)
	}
	if st.State != bootstrap.StateRunning || strings.Join(names, ",") != "training,tuning,serving,pipelines,ingress,manager" {
		t.Fatalf("status: %+v: want running with training, tuning, serving, pipelines, ingress and the manager", st)
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

// The manager takes 90 % of its container's memory limit (128Mi by default) as the Go
// runtime's soft limit, read from its cgroup on the node, and says so in its log.
func TestManagerMemoryLimitFromContainer(t *testing.T) {
	ctx := context.Background()
	pods, err := clientset.CoreV1().Pods("kfup-system").List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=kfup-manager"})
	if err != nil || len(pods.Items) == 0 {
		t.Fatalf("manager pods: %v (%d)", err, len(pods.Items))
	}
	p := pods.Items[0]
	limit := p.Spec.Containers[0].Resources.Limits.Memory().Value()
	if limit == 0 {
		t.Fatalf("manager container has no memory limit: %+v", p.Spec.Containers[0].Resources)
	}
	// JSON at the info level, `"GOMEMLIMIT": N` in the console format of -v 1
	want := regexp.MustCompile(fmt.Sprintf(`GOMEMLIMIT is updated.*"GOMEMLIMIT": ?%d\b`, uint64(float64(limit)*0.9)))
	if logs := podLogs(t, "kfup-system", p.Name); !want.MatchString(logs) {
		t.Fatalf("manager log does not match %s (limit %d):\n%s", want, limit, logs)
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

// istiodImage is the image the Istio chart names for istiod; make istiod-image builds it
// from the pinned istio.io/istio module (Envoy, the gateway's and sidecars' proxy, cannot
// be built here, so the gateway stays off).
var istiodImage = manifests.IstioHub + "/pilot:" + manifests.IstioTag

// The Istio component on kind: enabling it with kfup create installs the base chart and
// istiod, which becomes Ready and does its job (it issues the mesh's root certificate into
// every namespace); kfup status and kfup test report it healthy; creating again without it
// uninstalls it, CRDs included.
func TestIstioControlPlane(t *testing.T) {
	ctx := context.Background()
	loaded, err := kindc.LoadImages(ctx, clusterName, istiodImage)
	if err != nil {
		t.Fatalf("load %s: %v (build it with 'make istiod-image')", istiodImage, err)
	}
	t.Logf("loaded %v", loaded)
	t.Cleanup(func() {
		// leave the cluster as the other tests expect it, whatever happened
		if r := kfup(ctx, "create", "--name", clusterName, "--wait", "5m", "--profile", "minimal"); r.code != 0 {
			t.Errorf("restoring the minimal profile: exit %d\n%s", r.code, r.stderr)
		}
	})

	r := mustKfup(t, "create", "--name", clusterName, "--wait", "5m",
		"--set", "components.istio.enabled=true", "--set", "components.istio.ingressGateway=false")
	t.Logf("kfup create with istio (%s):\n%s%s", r.elapsed.Round(time.Second), r.stdout, r.stderr)

	st := statusOf(t, clusterName)
	healthy := map[string]bool{}
	for _, c := range st.Components {
		healthy[c.Name] = c.Healthy
		if !c.Healthy {
			t.Errorf("component %s unhealthy: %s", c.Name, c.Message)
		}
	}
	if !healthy["istio"] || st.State != bootstrap.StateRunning {
		t.Fatalf("status after enabling istio: %+v", st)
	}
	if r := mustKfup(t, "test", "--name", clusterName, "--component", "istio"); !strings.Contains(r.stdout, "✓ pass  istio") {
		t.Fatalf("kfup test --component istio:\n%s", r.stdout)
	}
	// istiod's CA publishes its root certificate to every namespace
	err = wait.PollUntilContextTimeout(ctx, time.Second, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		_, err := clientset.CoreV1().ConfigMaps("default").Get(ctx, "istio-ca-root-cert", metav1.GetOptions{})
		return err == nil, nil
	})
	if err != nil {
		t.Fatalf("istiod did not publish istio-ca-root-cert to namespace default: %v", err)
	}

	// a plain create keeps what the last install applied, istio included
	names := func(st bootstrap.ClusterStatus) string {
		var out []string
		for _, c := range st.Components {
			out = append(out, c.Name)
		}
		return strings.Join(out, ",")
	}
	before := names(statusOf(t, clusterName))
	mustKfup(t, "create", "--name", clusterName, "--wait", "5m")
	if after := names(statusOf(t, clusterName)); after != before || !strings.Contains(after, "istio") {
		t.Fatalf("a plain create changed the components: %s, was %s", after, before)
	}
	// disabled again (the minimal profile has no istio): uninstalled, CRDs included
	mustKfup(t, "create", "--name", clusterName, "--wait", "5m", "--profile", "minimal")
	err = wait.PollUntilContextTimeout(ctx, time.Second, 3*time.Minute, true, func(ctx context.Context) (bool, error) {
		_, nsErr := clientset.CoreV1().Namespaces().Get(ctx, "istio-system", metav1.GetOptions{})
		crd := &metav1.PartialObjectMetadata{}
		crd.SetGroupVersionKind(apiextensionsv1.SchemeGroupVersion.WithKind("CustomResourceDefinition"))
		crdErr := k8sClient.Get(ctx, client.ObjectKey{Name: "virtualservices.networking.istio.io"}, crd)
		return apierrors.IsNotFound(nsErr) && apierrors.IsNotFound(crdErr), nil
	})
	if err != nil {
		t.Fatalf("istio-system or the Istio CRDs still exist after disabling istio: %v", err)
	}
	if got := names(statusOf(t, clusterName)); got != strings.Replace(before, ",istio", "", 1) || strings.Contains(got, "istio") {
		t.Fatalf("components after disabling istio: %s, want %s without istio", got, before)
	}
}
