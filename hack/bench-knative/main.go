// Command bench-knative measures Knative Serving on kfup's ingress on a kind cluster, in
// one run: the cold start of a Knative Service scaled to zero (request sent → first
// response byte, through kfup's ingress and Knative's activator), and the steady-state
// throughput and p50/p99 of a hello-world Knative Service (busybox httpd, kept at one
// pod) through kfup's ingress against the same container behind a plain Service reached
// directly and against the Knative pod's queue-proxy reached directly (Knative's hop
// without the ingress) — once with Knative's activator in the path, as Knative keeps it
// for a one-pod service by default, and once without it (target-burst-capacity 0) —,
// all on the node's address with the same load generator. It prints them side
// by side with the targets (cold start <= 2 s, throughput >= 80 % of direct) and the idle
// RSS of kfup's ingress (target <= 40 MiB); and the cold start of a Serverless
// InferenceService (kfup's model server, scaled to zero → first prediction). Run it with
// `make bench-knative`.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"time"

	"github.com/go-logr/logr"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/kfup/kfup/bootstrap"
	"github.com/kfup/kfup/hack/internal/benchcluster"
	"github.com/kfup/kfup/hack/internal/httpload"
	"github.com/kfup/kfup/internal/ui"
)

const (
	cluster   = "bench-knative"
	namespace = "default"
	// image is busybox under a registry whose tags Knative does not resolve (kfup.local).
	image  = "kfup.local/bench/busybox:1"
	source = "kfup-offline/busybox:1"
	// httpd answers hello on $PORT (Knative's 8080, the direct Deployment's too)
	// until SIGTERM (as PID 1 without a handler httpd would ignore it, and a pod scaled
	// down would linger for the revision's 300 s grace period)
	httpd = "mkdir -p /tmp/www && echo hello > /tmp/www/index.html && { httpd -f -p ${PORT:-8080} -h /tmp/www & trap 'kill $!; exit 0' TERM; wait; }"
)

var ksvcGVK = schema.GroupVersionKind{Group: "serving.knative.dev", Version: "v1", Kind: "Service"}

func main() {
	kfupBin := flag.String("kfup", "bin/kfup", "kfup binary")
	nodeImage := flag.String("node-image", "", "node image (default: as kfup create)")
	clients := flag.Int("clients", 8, "concurrent keep-alive clients of the steady-state load")
	duration := flag.Duration("duration", 10*time.Second, "how long each side is loaded")
	colds := flag.Int("cold-starts", 3, "cold starts measured")
	keep := flag.Bool("keep", false, "keep the cluster")
	flag.Parse()
	ctrllog.SetLogger(logr.Discard())
	if err := run(context.Background(), *kfupBin, *nodeImage, *clients, *duration, *colds, *keep); err != nil {
		fmt.Fprintln(os.Stderr, "bench-knative:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, kfupBin, nodeImage string, clients int, duration time.Duration, colds int, keep bool) error {
	if out, err := exec.Command("docker", "tag", source, image).CombinedOutput(); err != nil {
		return fmt.Errorf("docker tag %s %s: %v: %s (build it with shared/tools/offline-kind/build-workload-images.sh)", source, image, err, out)
	}
	c, err := benchcluster.Create(kfupBin, cluster, nodeImage, keep)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Kfup("create", "--name", cluster, "-q", "--wait", "8m",
		"--set", "components.knative.enabled=true", "--set", "components.knative.images=kfup"); err != nil {
		return fmt.Errorf("kfup create with Knative: %w", err)
	}
	if _, err := bootstrap.NewKindClusters(ui.Discard()).LoadImages(ctx, cluster, image); err != nil {
		return err
	}
	cfg, err := bootstrap.RESTConfig(bootstrap.ContextName(cluster), "")
	if err != nil {
		return err
	}
	cl, err := client.New(cfg, client.Options{Scheme: scheme.Scheme})
	if err != nil {
		return err
	}
	var nodes corev1.NodeList
	if err := cl.List(ctx, &nodes); err != nil || len(nodes.Items) == 0 {
		return fmt.Errorf("list nodes: %v (%d)", err, len(nodes.Items))
	}
	nodeIP := ""
	for _, a := range nodes.Items[0].Status.Addresses {
		if a.Type == corev1.NodeInternalIP {
			nodeIP = a.Address
		}
	}

	modelCM, isvc, err := tinyModel()
	if err != nil {
		return err
	}
	for _, o := range []client.Object{
		ksvc("hello", map[string]any{"autoscaling.knative.dev/window": "6s"}),
		ksvc("steady", map[string]any{"autoscaling.knative.dev/min-scale": "1"}),
		// the same without Knative's activator in the path once a pod runs (Knative keeps
		// it there while the spare capacity is below target-burst-capacity, 200 by
		// default, which one pod never reaches)
		ksvc("steady-tbc0", map[string]any{"autoscaling.knative.dev/min-scale": "1", "autoscaling.knative.dev/target-burst-capacity": "0"}),
		modelCM, isvc,
	} {
		if err := cl.Create(ctx, o); err != nil {
			return err
		}
	}
	dep, svc := direct()
	for _, o := range []client.Object{dep, svc} {
		if err := cl.Create(ctx, o); err != nil {
			return err
		}
	}
	for _, name := range []string{"hello", "steady", "steady-tbc0", isvcName + "-predictor"} {
		if err := waitReady(ctx, cl, name); err != nil {
			return err
		}
	}
	if err := wait.PollUntilContextTimeout(ctx, time.Second, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		err := cl.Get(ctx, client.ObjectKeyFromObject(dep), dep)
		return err == nil && dep.Status.AvailableReplicas == 1, nil
	}); err != nil {
		return fmt.Errorf("Deployment direct not available: %w", err)
	}
	if err := cl.Get(ctx, client.ObjectKeyFromObject(svc), svc); err != nil {
		return err
	}

	ingress := "http://" + nodeIP + ":31080/"
	get := func(c *http.Client, url, host string) error {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		req.Host = host
		resp, err := c.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK || strings.TrimSpace(string(b)) != "hello" {
			return fmt.Errorf("%s (Host %s): %d %q", url, host, resp.StatusCode, b)
		}
		return nil
	}

	var cold []time.Duration
	for i := range colds {
		if err := waitZero(ctx, cl, "hello"); err != nil {
			return err
		}
		t0 := time.Now()
		if err := get(&http.Client{Timeout: time.Minute}, ingress, "hello."+namespace+".kfup.localhost"); err != nil {
			return fmt.Errorf("cold start %d: %w", i+1, err)
		}
		cold = append(cold, time.Since(t0))
	}
	slices.Sort(cold)

	// the same for a Serverless InferenceService: zero pods → the first prediction of
	// kfup's model server, through its own host (a DomainMapping), kfup's ingress (twice:
	// the domain, then the predictor's cluster-local route) and the activator
	infer := func(c *http.Client) error {
		req, _ := http.NewRequest(http.MethodPost, ingress+"v2/models/"+isvcName+"/infer", strings.NewReader(inferBody))
		req.Host = isvcName + "." + namespace + ".kfup.localhost"
		req.Header.Set("Content-Type", "application/json")
		resp, err := c.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), `"outputs"`) {
			return fmt.Errorf("infer (Host %s): %d %q", req.Host, resp.StatusCode, b)
		}
		return nil
	}
	var coldISVC []time.Duration
	for i := range colds {
		if err := waitZero(ctx, cl, isvcName+"-predictor"); err != nil {
			return err
		}
		t0 := time.Now()
		if err := infer(&http.Client{Timeout: time.Minute}); err != nil {
			return fmt.Errorf("InferenceService cold start %d: %w", i+1, err)
		}
		coldISVC = append(coldISVC, time.Since(t0))
	}
	slices.Sort(coldISVC)

	// the revision's pod reached directly on Knative's queue-proxy (its port 8012):
	// Knative's own hop, without kfup's ingress
	qp := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "steady-queue-proxy"}, Spec: corev1.ServiceSpec{
		Type: corev1.ServiceTypeNodePort, Selector: map[string]string{"serving.knative.dev/service": "steady"},
		Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8012)}}}}
	if err := cl.Create(ctx, qp); err != nil {
		return err
	}
	directURL := fmt.Sprintf("http://%s:%d/", nodeIP, svc.Spec.Ports[0].NodePort)
	qpURL := fmt.Sprintf("http://%s:%d/", nodeIP, qp.Spec.Ports[0].NodePort)
	d := httpload.Load(ctx, "direct Service", func(c *http.Client) error { return get(c, directURL, "direct") }, clients, duration, time.Second)
	q := httpload.Load(ctx, "queue-proxy", func(c *http.Client) error { return get(c, qpURL, "steady."+namespace+".kfup.localhost") }, clients, duration, time.Second)
	k := httpload.Load(ctx, "kfup ingress", func(c *http.Client) error { return get(c, ingress, "steady."+namespace+".kfup.localhost") }, clients, duration, time.Second)
	k0 := httpload.Load(ctx, "kfup ingress tbc0", func(c *http.Client) error { return get(c, ingress, "steady-tbc0."+namespace+".kfup.localhost") }, clients, duration, time.Second)

	time.Sleep(5 * time.Second) // idle again
	mem, err := ingressMemory(cluster + "-control-plane")
	if err != nil {
		return err
	}

	fmt.Printf("bench-knative: Knative Serving 1.15.2 on kfup's ingress, busybox httpd, node %s\n", nodeIP)
	fmt.Printf("cold start (zero pods -> first byte, %d runs): min %s, median %s, max %s   (target <= 2s: %s)\n",
		len(cold), cold[0].Round(time.Millisecond), cold[len(cold)/2].Round(time.Millisecond), cold[len(cold)-1].Round(time.Millisecond),
		verdict(cold[len(cold)/2] <= 2*time.Second))
	fmt.Printf("Serverless InferenceService cold start (zero pods -> first prediction of kfup's model server, %d runs): min %s, median %s, max %s\n",
		len(coldISVC), coldISVC[0].Round(time.Millisecond), coldISVC[len(coldISVC)/2].Round(time.Millisecond), coldISVC[len(coldISVC)-1].Round(time.Millisecond))
	fmt.Printf("steady state, %d keep-alive clients, %s per side:\n", clients, duration)
	fmt.Printf("  %-16s %10s %10s %10s %8s\n", "", "req/s", "p50", "p99", "errors")
	for _, r := range []httpload.Result{d, q, k, k0} {
		fmt.Printf("  %-16s %10.0f %10s %10s %8d\n", r.Name, r.RPS(), r.P50, r.P99, r.Errors)
	}
	fmt.Printf("  (direct Service: the container behind a plain Service; queue-proxy: the Knative Service's pod\n")
	fmt.Printf("   on Knative's queue-proxy, no ingress; kfup ingress: the Knative Service's URL through kfup's proxy,\n")
	fmt.Printf("   Knative's activator in the path as Knative keeps it by default; tbc0: target-burst-capacity 0, no activator)\n")
	ratio := k.RPS() / d.RPS() * 100
	fmt.Printf("kfup ingress / direct Service throughput: %.0f %% (target >= 80 %%: %s); kfup ingress / queue-proxy: %.0f %%\n",
		ratio, verdict(ratio >= 80), k.RPS()/q.RPS()*100)
	ratio0 := k0.RPS() / d.RPS() * 100
	fmt.Printf("kfup ingress tbc0 / direct Service throughput: %.0f %% (target >= 80 %%: %s); kfup ingress tbc0 / queue-proxy: %.0f %%\n",
		ratio0, verdict(ratio0 >= 80), k0.RPS()/q.RPS()*100)
	fmt.Printf("kfup ingress RSS idle: %.1f MiB (target <= 40 MiB: %s): %.1f MiB anonymous, %.1f MiB file-backed (pages of the kfup binary)\n",
		mem.rss, verdict(mem.rss <= 40), mem.anon, mem.file)
	if d.Errors > 0 || q.Errors > 0 || k.Errors > 0 || k0.Errors > 0 {
		return errors.New("requests failed: see the errors column")
	}
	return nil
}

// isvcName is the Serverless InferenceService whose cold start is measured; inferBody
// asks its model (10 features) for one row.
const (
	isvcName  = "tiny"
	inferBody = `{"inputs":[{"name":"input-0","datatype":"FP32","shape":[1,10],"data":[1,2,3,4,5,6,7,8,9,10]}]}`
)

// tinyModel returns a ConfigMap holding the XGBoost fixture `kfup test` serves and a
// Serverless InferenceService serving it with kfup's runtime, scaling to zero 6 s after
// its last request.
func tinyModel() (*corev1.ConfigMap, *unstructured.Unstructured, error) {
	model, err := os.ReadFile("components/serving/smoke_model.json")
	if err != nil {
		return nil, nil, fmt.Errorf("the tiny model (run from the repository's root): %w", err)
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "tiny-model", Namespace: namespace}, BinaryData: map[string][]byte{"model.json": model}}
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
		"metadata": map[string]any{"name": isvcName, "namespace": namespace, "annotations": map[string]any{"serving.kserve.io/deploymentMode": "Serverless"}},
		"spec": map[string]any{"predictor": map[string]any{
			"minReplicas": int64(0),
			"annotations": map[string]any{"autoscaling.knative.dev/window": "6s"},
			"volumes":     []any{map[string]any{"name": "model", "configMap": map[string]any{"name": "tiny-model"}}},
			"model": map[string]any{
				"modelFormat": map[string]any{"name": "xgboost"}, "runtime": "kfup-modelserver", "protocolVersion": "v2",
				"volumeMounts": []any{map[string]any{"name": "model", "mountPath": "/mnt/models", "readOnly": true}},
			},
		}},
	}}
	return cm, u, nil
}

func verdict(ok bool) string {
	if ok {
		return "meets"
	}
	return "MISSES"
}

// ksvc is a Knative Service of busybox's httpd with the revision annotations.
func ksvc(name string, annotations map[string]any) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{
		"metadata": map[string]any{"name": name, "namespace": namespace},
		"spec": map[string]any{"template": map[string]any{
			"metadata": map[string]any{"annotations": annotations},
			"spec": map[string]any{"containers": []any{map[string]any{
				"image": image, "command": []any{"sh", "-c", httpd},
				"ports": []any{map[string]any{"containerPort": int64(8080)}},
			}}},
		}},
	}}
	u.SetGroupVersionKind(ksvcGVK)
	return u
}

// direct is the same container in a Deployment behind a NodePort Service.
func direct() (*appsv1.Deployment, *corev1.Service) {
	labels := map[string]string{"app": "direct"}
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "direct"},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: "httpd", Image: image, ImagePullPolicy: corev1.PullIfNotPresent,
					Command: []string{"sh", "-c", httpd},
					Ports:   []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}},
					ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{
						HTTPGet: &corev1.HTTPGetAction{Path: "/", Port: intstr.FromString("http")}}, PeriodSeconds: 1},
				}}},
			},
		},
	}
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "direct"}, Spec: corev1.ServiceSpec{
		Type: corev1.ServiceTypeNodePort, Selector: labels,
		Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("http")}}}}
	return dep, svc
}

// waitReady waits until Knative Service name is Ready.
func waitReady(ctx context.Context, cl client.Client, name string) error {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(ksvcGVK)
	last := "not found"
	err := wait.PollUntilContextTimeout(ctx, time.Second, 3*time.Minute, true, func(ctx context.Context) (bool, error) {
		if err := cl.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, u); err != nil {
			return false, nil
		}
		conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
		for _, c := range conds {
			if m, _ := c.(map[string]any); m["type"] == "Ready" {
				last = fmt.Sprintf("Ready=%v %v: %v", m["status"], m["reason"], m["message"])
				return m["status"] == "True", nil
			}
		}
		return false, nil
	})
	if err != nil {
		return fmt.Errorf("Knative Service %s not Ready: %s", name, last)
	}
	return nil
}

// waitZero waits until Knative Service name has no pods but terminating ones.
func waitZero(ctx context.Context, cl client.Client, name string) error {
	err := wait.PollUntilContextTimeout(ctx, time.Second, 3*time.Minute, true, func(ctx context.Context) (bool, error) {
		var pods corev1.PodList
		if err := cl.List(ctx, &pods, client.InNamespace(namespace), client.MatchingLabels{"serving.knative.dev/service": name}); err != nil {
			return false, err
		}
		// none at all: a terminating pod still drains, and the activator may still send
		// it the next request (a 10 ms "cold start")
		return len(pods.Items) == 0, nil
	})
	if err != nil {
		return fmt.Errorf("Knative Service %s did not scale to zero: %w", name, err)
	}
	return nil
}

// memory is a process's resident memory, in MiB.
type memory struct{ rss, anon, file float64 }

// ingressMemory reads VmRSS, RssAnon and RssFile of kfup's ingress proxy (the process
// named kfup-ingress: its own binary, or the link to kfup) from /proc inside the node
// container.
func ingressMemory(node string) (memory, error) {
	pid, err := exec.Command("docker", "exec", node, "pgrep", "-x", "kfup-ingress").Output()
	if err != nil {
		return memory{}, fmt.Errorf("find kfup's ingress process in %s: %w", node, err)
	}
	first := strings.Fields(string(pid))
	if len(first) == 0 {
		return memory{}, fmt.Errorf("no kfup ingress process in %s", node)
	}
	st, err := exec.Command("docker", "exec", node, "cat", "/proc/"+first[0]+"/status").Output()
	if err != nil {
		return memory{}, err
	}
	var m memory
	for _, line := range strings.Split(string(st), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		var kb float64
		fmt.Sscanf(f[1], "%f", &kb)
		switch f[0] {
		case "VmRSS:":
			m.rss = kb / 1024
		case "RssAnon:":
			m.anon = kb / 1024
		case "RssFile:":
			m.file = kb / 1024
		}
	}
	return m, nil
}
