package controller_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	trainingv1 "github.com/kfup/kfup/components/training/api/v1"
	"github.com/kfup/kfup/components/training/controller"
	"github.com/kfup/kfup/components/training/controller/policy"
	"github.com/kfup/kfup/components/training/engine"
	"github.com/kfup/kfup/components/training/frameworks"
	conf "github.com/kfup/kfup/internal/conformance"
)

// ensureNamespace creates namespace ns unless it exists.
func ensureNamespace(t *testing.T, ns string) {
	t.Helper()
	err := env.Client.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("create namespace %s: %v", ns, err)
	}
}

// spotChecks are literal values some conformance pods must have, from upstream's
// documented behaviour (the frameworks' conformance test has the full tables).
var spotChecks = map[string]map[string][]corev1.EnvVar{
	"training/pytorch_simple.yaml": {"pytorch-simple-worker-0": {
		{Name: "PYTHONUNBUFFERED", Value: "1"}, {Name: "MASTER_PORT", Value: "23456"}, {Name: "PET_MASTER_PORT", Value: "23456"},
		{Name: "MASTER_ADDR", Value: "pytorch-simple-master-0"}, {Name: "PET_MASTER_ADDR", Value: "pytorch-simple-master-0"},
		{Name: "WORLD_SIZE", Value: "2"}, {Name: "RANK", Value: "1"}, {Name: "PET_NODE_RANK", Value: "1"},
		{Name: "PET_NPROC_PER_NODE", Value: "auto"}, {Name: "PET_NNODES", Value: "2"},
	}},
	"training/tensorflow_simple.yaml": {"tfjob-simple-worker-1": {{Name: "TF_CONFIG", Value: `{"cluster":{"worker":["tfjob-simple-worker-0.kubeflow.svc:2222","tfjob-simple-worker-1.kubeflow.svc:2222"]},"task":{"type":"worker","index":1},"environment":"cloud"}`}}},
	"training/jax_cpu-demo_demo.yaml": {"jaxjob-simple-worker-1": {
		{Name: "PYTHONUNBUFFERED", Value: "1"}, {Name: "COORDINATOR_PORT", Value: "6666"}, {Name: "COORDINATOR_ADDRESS", Value: "jaxjob-simple-worker-0"},
		{Name: "NUM_PROCESSES", Value: "2"}, {Name: "PROCESS_ID", Value: "1"},
	}},
}

// Every upstream example and the seed TFJob apply unchanged — created with kubectl's strict
// field validation and stored without a field pruned (jobs without a namespace go to a
// test namespace; namespaces the files name are created) — and the controllers create
// exactly the engine's desired pods, services and extras for them, and mark them Created.
func TestConformanceExamples(t *testing.T) {
	cfg := testConfig()
	start(t, cfg)
	dir := conf.Dir(t)
	files, err := filepath.Glob(filepath.Join(dir, "training", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples in %s: %v", dir, err)
	}
	files = append(files, filepath.Join(dir, "seed", "tfjob.yaml"))
	for _, f := range files {
		rel, _ := filepath.Rel(dir, f)
		t.Run(rel, func(t *testing.T) {
			objs := conf.Objects(t, f)
			if len(objs) != 1 {
				t.Fatalf("%s: %d objects, want one job", rel, len(objs))
			}
			u := objs[0]
			if ns := u.GetNamespace(); ns != "" {
				ensureNamespace(t, ns)
			} else {
				u.SetNamespace(env.Namespace(t))
			}
			// strict field validation and a read-back, as kubectl create: nothing pruned
			u = env.CreateAsUser(t, u)
			fw, ok := frameworks.ForKind(cfg.Frameworks(), u.GetKind())
			if !ok {
				t.Fatalf("no framework for %s", u.GetKind())
			}
			job := fw.NewJob()
			if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(u), job); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { cleanupJob(t, job) })
			checkConformance(t, fw, job, spotChecks[rel])
			if rel == "training/pytorch_simple.yaml" {
				// kfup's offline helper image, not upstream's alpine, waits for the master.
				p := &corev1.Pod{}
				if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: "kubeflow", Name: "pytorch-simple-worker-0"}, p); err != nil {
					t.Fatal(err)
				}
				if len(p.Spec.InitContainers) != 1 || p.Spec.InitContainers[0].Image != controller.DefaultHelperImage {
					t.Errorf("worker init containers %+v, want one of image %s", p.Spec.InitContainers, controller.DefaultHelperImage)
				}
			}
		})
	}
}

// checkConformance waits for job's children and compares them with engine.Desired.
func checkConformance(t *testing.T, fw engine.Framework, job engine.Job, spot map[string][]corev1.EnvVar) {
	want, err := engine.Desired(fw, job, nil)
	if err != nil {
		t.Fatal(err)
	}
	ns, name := job.GetNamespace(), job.GetName()
	var wantPods, wantSvcs []string
	for _, p := range want.Pods {
		wantPods = append(wantPods, p.Name)
	}
	for _, s := range want.Services {
		wantSvcs = append(wantSvcs, s.Name)
	}
	slices.Sort(wantPods)
	slices.Sort(wantSvcs)
	got := waitPods(t, ns, name, wantPods...)
	waitServices(t, ns, name, wantSvcs...)

	for _, d := range want.Pods {
		p := got[slices.IndexFunc(got, func(p corev1.Pod) bool { return p.Name == d.Name })]
		for k, v := range d.Labels {
			if p.Labels[k] != v {
				t.Errorf("%s: label %s=%q, want %q", p.Name, k, p.Labels[k], v)
			}
		}
		if diff := cmp.Diff(d.Annotations, p.Annotations); diff != "" {
			t.Errorf("%s annotations (-want +got):\n%s", p.Name, diff)
		}
		if !metav1.IsControlledBy(&p, job) {
			t.Errorf("%s: not controlled by the job: %v", p.Name, p.OwnerReferences)
		}
		if p.Spec.RestartPolicy != d.Spec.RestartPolicy {
			t.Errorf("%s: restartPolicy %s, want %s", p.Name, p.Spec.RestartPolicy, d.Spec.RestartPolicy)
		}
		if diff := cmp.Diff(containerSummary(d.Spec.InitContainers), containerSummary(p.Spec.InitContainers)); diff != "" {
			t.Errorf("%s init containers (-want +got):\n%s", p.Name, diff)
		}
		if diff := cmp.Diff(containerSummary(d.Spec.Containers), containerSummary(p.Spec.Containers)); diff != "" {
			t.Errorf("%s containers (-want +got):\n%s", p.Name, diff)
		}
		if env, ok := spot[p.Name]; ok {
			c := p.Spec.Containers[slices.IndexFunc(p.Spec.Containers, func(c corev1.Container) bool { return c.Name == fw.DefaultContainerName() })]
			if diff := cmp.Diff(env, c.Env); diff != "" {
				t.Errorf("%s env (-want +got):\n%s", p.Name, diff)
			}
		}
	}
	for _, d := range want.Services {
		s := &corev1.Service{}
		if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(d), s); err != nil {
			t.Fatal(err)
		}
		if s.Spec.ClusterIP != corev1.ClusterIPNone || !cmp.Equal(s.Spec.Selector, d.Spec.Selector) || len(s.Spec.Ports) != len(d.Spec.Ports) || !metav1.IsControlledBy(s, job) {
			t.Errorf("service %s: clusterIP %q, selector %v, ports %v; want selector %v, ports %v", s.Name, s.Spec.ClusterIP, s.Spec.Selector, s.Spec.Ports, d.Spec.Selector, d.Spec.Ports)
		}
	}
	for _, x := range want.Extras {
		obj, ok := x.DeepCopyObject().(client.Object)
		if !ok {
			t.Fatalf("%T is not a client.Object", x)
		}
		eventually(t, fmt.Sprintf("%s %s", x.GetObjectKind().GroupVersionKind().Kind, x.GetName()), func(ctx context.Context) (bool, string) {
			err := env.Client.Get(ctx, client.ObjectKeyFromObject(obj), obj)
			return err == nil && metav1.IsControlledBy(obj, job), errString(err)
		})
	}
	eventually(t, "Created condition", func(ctx context.Context) (bool, string) {
		j := fw.NewJob()
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(job), j); err != nil {
			return false, err.Error()
		}
		c := policy.FindCondition(fw.Status(j), trainingv1.JobCreated)
		return c != nil && c.Reason == fw.Kind()+"Created", conditions(fw.Status(j))
	})
}

// containerSummary is what the controller must carry over from the desired containers
// (the API server adds defaults to the rest).
func containerSummary(cs []corev1.Container) string {
	type c struct {
		Name, Image   string
		Command, Args []string
		Env           []corev1.EnvVar
		Mounts        []string
		Ports         []corev1.ContainerPort
	}
	var out []c
	for _, x := range cs {
		var mounts []string
		for _, m := range x.VolumeMounts {
			mounts = append(mounts, m.Name+":"+m.MountPath)
		}
		var ports []corev1.ContainerPort
		for _, p := range x.Ports {
			ports = append(ports, corev1.ContainerPort{Name: p.Name, ContainerPort: p.ContainerPort})
		}
		env := make([]corev1.EnvVar, len(x.Env))
		for i, e := range x.Env {
			e.ValueFrom = e.ValueFrom.DeepCopy()
			if e.ValueFrom != nil && e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.APIVersion == "" {
				e.ValueFrom.FieldRef.APIVersion = "v1" // the API server's default
			}
			env[i] = e
		}
		out = append(out, c{x.Name, x.Image, x.Command, x.Args, env, mounts, ports})
	}
	b, _ := json.MarshalIndent(out, "", " ")
	return string(b)
}

// cleanupJob deletes a job and its pods and services (envtest has no garbage collector),
// for examples applied in namespaces shared by tests.
func cleanupJob(t *testing.T, job engine.Job) {
	ctx := context.Background()
	obj, ok := job.(client.Object)
	if !ok {
		return
	}
	_ = env.Client.Delete(ctx, obj)
	sel := client.MatchingLabels{trainingv1.JobNameLabel: job.GetName()}
	in := client.InNamespace(job.GetNamespace())
	_ = env.Client.DeleteAllOf(ctx, &corev1.Pod{}, in, sel)
	var svcs corev1.ServiceList
	if err := env.Client.List(ctx, &svcs, in, sel); err == nil {
		for i := range svcs.Items {
			_ = env.Client.Delete(ctx, &svcs.Items[i])
		}
	}
}
