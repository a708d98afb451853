package apihost

import (
	"maps"
	"reflect"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/pflag"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	clientcache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

func TestTrimPodKeepsWhatControllersRead(t *testing.T) {
	meta := metav1.ObjectMeta{
		Name: "job-worker-0", Namespace: "ns", UID: "u1", ResourceVersion: "7",
		Labels:          map[string]string{"training.kubeflow.org/job-name": "job"},
		Annotations:     map[string]string{"sidecar.istio.io/inject": "false"},
		OwnerReferences: []metav1.OwnerReference{{Name: "job", UID: "j1"}},
		ManagedFields:   []metav1.ManagedFieldsEntry{{Manager: "kfup"}},
	}
	status := corev1.PodStatus{
		Phase: corev1.PodRunning,
		ContainerStatuses: []corev1.ContainerStatus{{Name: "pytorch", RestartCount: 2,
			State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 137}}}},
	}
	pod := &corev1.Pod{
		ObjectMeta: meta,
		Spec: corev1.PodSpec{
			RestartPolicy: corev1.RestartPolicyOnFailure, NodeName: "node-1",
			InitContainers: []corev1.Container{{Name: "init", Image: "busybox"}},
			Containers: []corev1.Container{{Name: "pytorch", Image: "python", Command: []string{"python3"},
				Env: []corev1.EnvVar{{Name: "MASTER_ADDR", Value: "job-master-0"}}}},
			EphemeralContainers: []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "kfup-stop-sidecar", Image: "kfup"}}},
			Volumes:             []corev1.Volume{{Name: "data"}},
		},
		Status: status,
	}
	got, err := trimPod(pod)
	if err != nil {
		t.Fatal(err)
	}
	wantMeta := *meta.DeepCopy()
	wantMeta.ManagedFields = nil
	want := &corev1.Pod{
		ObjectMeta: wantMeta,
		Spec: corev1.PodSpec{
			RestartPolicy: corev1.RestartPolicyOnFailure, NodeName: "node-1",
			Containers:          []corev1.Container{{Name: "pytorch"}},
			EphemeralContainers: []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "kfup-stop-sidecar"}}},
		},
		Status: status,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("trimmed pod (-want +got):\n%s", diff)
	}
	if len(pod.ManagedFields) != 1 || pod.Spec.Containers[0].Image != "python" {
		t.Fatalf("trimPod changed its input: %+v", pod)
	}
	tomb := clientcache.DeletedFinalStateUnknown{Key: "ns/x"}
	if got, _ := trimPod(tomb); got != tomb {
		t.Fatalf("tombstone not passed through: %v", got)
	}
}

func TestTrimServiceKeepsMetadata(t *testing.T) {
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "job-master-0", Namespace: "ns", ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kfup"}}},
		Spec:       corev1.ServiceSpec{ClusterIP: "None", Ports: []corev1.ServicePort{{Port: 23456}}},
	}
	got, err := trimService(svc)
	if err != nil {
		t.Fatal(err)
	}
	want := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "job-master-0", Namespace: "ns"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("trimmed service (-want +got):\n%s", diff)
	}
}

func TestTrimDeploymentKeepsMetadataReplicasAndStatus(t *testing.T) {
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "m-predictor", Namespace: "ns", ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kfup"}}},
		Spec: appsv1.DeploymentSpec{Replicas: ptrTo[int32](2), Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "kserve-container", Image: "kfup"}}}}},
		Status: appsv1.DeploymentStatus{AvailableReplicas: 1, Conditions: []appsv1.DeploymentCondition{{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue}}},
	}
	got, err := trimDeployment(d)
	if err != nil {
		t.Fatal(err)
	}
	want := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "m-predictor", Namespace: "ns"},
		Spec:       appsv1.DeploymentSpec{Replicas: ptrTo[int32](2)},
		Status:     d.Status,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("trimmed deployment (-want +got):\n%s", diff)
	}
}

func ptrTo[T any](v T) *T { return &v }

// fakeAPI is an API slice with one kind of its own (a ConfigMap stands in for a CRD).
type fakeAPI struct {
	name       string
	namespaces []string
	obj        client.Object
}

func (f fakeAPI) Name() string                      { return f.name }
func (f fakeAPI) AddToScheme(*runtime.Scheme) error { return nil }
func (f fakeAPI) AddFlags(*pflag.FlagSet)           {}
func (f fakeAPI) Validate() error                   { return nil }
func (f fakeAPI) Namespaces() []string              { return f.namespaces }
func (f fakeAPI) Objects() []client.Object          { return []client.Object{f.obj} }
func (f fakeAPI) Controllers(Process) ([]Controller, error) {
	return nil, nil
}

// byType finds the cache rule of obj's type (ByObject is keyed by pointers).
func byType(o cache.Options, obj client.Object) (cache.ByObject, bool) {
	for k, v := range o.ByObject {
		if reflect.TypeOf(k) == reflect.TypeOf(obj) {
			return v, true
		}
	}
	return cache.ByObject{}, false
}

func TestCacheOptionsKeepOnlyLabelledChildren(t *testing.T) {
	o := CacheOptions(fakeAPI{name: "a", obj: &corev1.ConfigMap{}})
	for _, obj := range []client.Object{&corev1.Pod{}, &corev1.Service{}, &appsv1.Deployment{}, &autoscalingv2.HorizontalPodAutoscaler{}} {
		by, ok := byType(o, obj)
		if !ok {
			t.Fatalf("%T: no cache rule", obj)
		}
		if !by.Label.Matches(labels.Set{LabelAPI: "training"}) || !by.Label.Matches(labels.Set{LabelAPI: "serving"}) ||
			by.Label.Matches(labels.Set{"app": "istiod"}) || by.Label.Matches(labels.Set{"training.kubeflow.org/job-name": "x"}) {
			t.Errorf("%T: selector %q should match the children of every API, and nothing else", obj, by.Label)
		}
		// HPAs are small: the default transform (managed fields stripped) is enough
		if _, hpa := obj.(*autoscalingv2.HorizontalPodAutoscaler); by.Transform == nil && !hpa {
			t.Errorf("%T: no transform", obj)
		}
	}
	if len(o.ByObject) != 5 || o.DefaultTransform == nil || !o.ReaderFailOnMissingInformer || o.DefaultNamespaces != nil {
		t.Fatalf("cache options: %+v", o)
	}
}

// Each API's own objects are cached in its own namespaces; children in all of them
// together, or everywhere once one API serves everywhere.
func TestCacheOptionsNamespacesPerAPI(t *testing.T) {
	keys := func(m map[string]cache.Config) []string {
		if m == nil {
			return nil
		}
		return slices.Sorted(maps.Keys(m))
	}
	a := fakeAPI{name: "a", namespaces: []string{"team-a", "team-b"}, obj: &corev1.ConfigMap{}}
	b := fakeAPI{name: "b", namespaces: []string{"team-c"}, obj: &corev1.Secret{}}
	all := fakeAPI{name: "c", obj: &corev1.Endpoints{}}
	for _, tc := range []struct {
		name     string
		apis     []API
		own      map[client.Object][]string
		children []string
	}{
		{"none", nil, map[client.Object][]string{}, nil},
		{"one restricted", []API{a}, map[client.Object][]string{a.obj: {"team-a", "team-b"}}, []string{"team-a", "team-b"}},
		{"two restricted", []API{a, b}, map[client.Object][]string{a.obj: {"team-a", "team-b"}, b.obj: {"team-c"}}, []string{"team-a", "team-b", "team-c"}},
		{"one everywhere", []API{a, all}, map[client.Object][]string{a.obj: {"team-a", "team-b"}, all.obj: nil}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := CacheOptions(tc.apis...)
			for obj, want := range tc.own {
				by, _ := byType(o, obj)
				if diff := cmp.Diff(want, keys(by.Namespaces)); diff != "" {
					t.Errorf("%T namespaces (-want +got):\n%s", obj, diff)
				}
			}
			for _, obj := range []client.Object{&corev1.Pod{}, &corev1.Service{}} {
				by, _ := byType(o, obj)
				if diff := cmp.Diff(tc.children, keys(by.Namespaces)); diff != "" {
					t.Errorf("%T namespaces (-want +got):\n%s", obj, diff)
				}
			}
		})
	}
}

// cachingAPI is a slice that also reads a kind it does not make (Cacher).
type cachingAPI struct {
	fakeAPI
	rules map[client.Object]cache.ByObject
}

func (c cachingAPI) CacheRules() map[client.Object]cache.ByObject { return c.rules }

// A Cacher's kinds are cached by its rules, in its namespaces unless a rule names some.
func TestCacheOptionsCacherRules(t *testing.T) {
	trim := func(o any) (any, error) { return o, nil }
	a := cachingAPI{
		fakeAPI: fakeAPI{name: "a", namespaces: []string{"team-a"}, obj: &corev1.ConfigMap{}},
		rules: map[client.Object]cache.ByObject{
			&corev1.Endpoints{}: {Transform: trim},
			&corev1.Secret{}:    {Namespaces: map[string]cache.Config{"kfup-system": {}}},
		},
	}
	o := CacheOptions(a)
	eps, ok := byType(o, &corev1.Endpoints{})
	if !ok || eps.Transform == nil {
		t.Fatalf("Endpoints: rule %+v, %v", eps, ok)
	}
	if diff := cmp.Diff([]string{"team-a"}, slices.Sorted(maps.Keys(eps.Namespaces))); diff != "" {
		t.Errorf("Endpoints namespaces (-want +got):\n%s", diff)
	}
	sec, _ := byType(o, &corev1.Secret{})
	if diff := cmp.Diff([]string{"kfup-system"}, slices.Sorted(maps.Keys(sec.Namespaces))); diff != "" {
		t.Errorf("Secret namespaces (-want +got):\n%s", diff)
	}
	if len(o.ByObject) != 7 {
		t.Errorf("%d cache rules, want the 5 of before and the slice's 2", len(o.ByObject))
	}
}
