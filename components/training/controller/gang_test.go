package controller_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	trainingv1 "github.com/kfup/kfup/components/training/api/v1"
	"github.com/kfup/kfup/components/training/controller/policy"
)

// installPodGroupCRD serves a PodGroup kind like the gang scheduler's (a schema-free
// stand-in written for these tests: the controllers only create, read and delete them).
func installPodGroupCRD(t *testing.T, scheduler string) {
	t.Helper()
	gvk := policy.PodGroupGVK(scheduler)
	crd := &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: "podgroups." + gvk.Group},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: gvk.Group, Scope: apiextensionsv1.NamespaceScoped,
			Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: "podgroups", Singular: "podgroup", Kind: "PodGroup", ListKind: "PodGroupList"},
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{
				Name: gvk.Version, Served: true, Storage: true,
				Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
					Type: "object", XPreserveUnknownFields: ptr.To(true),
				}},
			}},
		},
	}
	if err := env.Client.Create(context.Background(), crd); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	eventually(t, "PodGroup CRD established", func(ctx context.Context) (bool, string) {
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(crd), crd); err != nil {
			return false, err.Error()
		}
		for _, c := range crd.Status.Conditions {
			if c.Type == apiextensionsv1.Established && c.Status == apiextensionsv1.ConditionTrue {
				return true, ""
			}
		}
		return false, "not established"
	})
}

func podGroup(t *testing.T, scheduler, ns, name string) (*unstructured.Unstructured, error) {
	t.Helper()
	pg := &unstructured.Unstructured{}
	pg.SetGroupVersionKind(policy.PodGroupGVK(scheduler))
	err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, pg)
	return pg, err
}

// Under Volcano a job gets a PodGroup (every replica, its queue, the pods' requests), no
// pods until Volcano admits the group, then pods for the volcano scheduler in the group;
// the finished job's PodGroup is deleted.
func TestGangSchedulingVolcano(t *testing.T) {
	installPodGroupCRD(t, policy.GangVolcano)
	cfg := testConfig()
	cfg.GangScheduler = policy.GangVolcano
	start(t, cfg)
	ns := env.Namespace(t)
	job := masterWorker("gang", ns, trainingv1.RestartPolicyOnFailure).Obj()
	job.Spec.RunPolicy.SchedulingPolicy = &trainingv1.SchedulingPolicy{Queue: "research"}
	for _, s := range job.Spec.PyTorchReplicaSpecs {
		s.Template.Spec.Containers[0].Resources.Requests = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m")}
	}
	create(t, job)

	var pg *unstructured.Unstructured
	eventually(t, "the job's PodGroup", func(context.Context) (bool, string) {
		var err error
		pg, err = podGroup(t, policy.GangVolcano, ns, "gang")
		return err == nil, fmt.Sprint(err)
	})
	spec := pg.Object["spec"].(map[string]any)
	if spec["minMember"] != int64(2) || spec["queue"] != "research" || fmt.Sprint(spec["minResources"]) != "map[cpu:1]" {
		t.Fatalf("PodGroup spec %v", spec)
	}
	consistently(t, "no pods before Volcano admits the group", 2*time.Second, func(context.Context) (bool, string) {
		got := podNames(pods(t, ns, "gang"))
		return len(got) == 0, fmt.Sprint(got)
	})

	if err := unstructured.SetNestedField(pg.Object, "Inqueue", "status", "phase"); err != nil {
		t.Fatal(err)
	}
	if err := env.Client.Update(context.Background(), pg); err != nil {
		t.Fatal(err)
	}
	for _, p := range waitPods(t, ns, "gang", "gang-master-0", "gang-worker-0") {
		if p.Spec.SchedulerName != "volcano" || p.Annotations[policy.VolcanoGroupNameAnnotation] != "gang" ||
			p.Annotations[policy.VolcanoTaskSpecAnnotation] != p.Labels[trainingv1.ReplicaTypeLabel] {
			t.Errorf("pod %s: scheduler %q, annotations %v", p.Name, p.Spec.SchedulerName, p.Annotations)
		}
	}
	waitEvents(t, ns, "gang", "Normal SuccessfulCreatePodGroup")

	succeed(t, ns, "gang-worker-0", "pytorch")
	succeed(t, ns, "gang-master-0", "pytorch")
	waitCondition(t, ns, "gang", trainingv1.JobSucceeded, "PyTorchJobSucceeded")
	gone(t, pg)
}

// Under a scheduler-plugins coscheduling scheduler the PodGroup is that project's kind,
// pods are created at once with the pod-group label, and a template that names its own
// scheduler keeps it, with a warning.
func TestGangSchedulingSchedulerPlugins(t *testing.T) {
	const scheduler = "scheduler-plugins-scheduler"
	installPodGroupCRD(t, scheduler)
	cfg := testConfig()
	cfg.GangScheduler = scheduler
	start(t, cfg)
	ns := env.Namespace(t)
	job := masterWorker("cosched", ns, trainingv1.RestartPolicyOnFailure).Obj()
	job.Spec.RunPolicy.SchedulingPolicy = &trainingv1.SchedulingPolicy{MinAvailable: ptr.To[int32](1), ScheduleTimeoutSeconds: ptr.To[int32](90)}
	job.Spec.PyTorchReplicaSpecs["Worker"].Template.Spec.SchedulerName = "my-scheduler"
	create(t, job)

	ps := waitPods(t, ns, "cosched", "cosched-master-0", "cosched-worker-0")
	pg, err := podGroup(t, scheduler, ns, "cosched")
	if err != nil {
		t.Fatal(err)
	}
	if spec := pg.Object["spec"].(map[string]any); spec["minMember"] != int64(1) || spec["scheduleTimeoutSeconds"] != int64(90) {
		t.Fatalf("PodGroup spec %v", spec)
	}
	for _, p := range ps {
		want := scheduler
		if p.Name == "cosched-worker-0" {
			want = "my-scheduler"
		}
		if p.Spec.SchedulerName != want || p.Labels[policy.CoschedulingPodGroupLabel] != "cosched" {
			t.Errorf("pod %s: scheduler %q (want %q), labels %v", p.Name, p.Spec.SchedulerName, want, p.Labels)
		}
	}
	waitEvents(t, ns, "cosched", "Warning SetPodTemplateSchedulerName")
}
